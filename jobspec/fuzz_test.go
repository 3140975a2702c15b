package jobspec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics and always returns either a job
// or a *Error with at least one located-or-named problem.
func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.hcl", "testdata/bad/*.hcl"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatalf("glob %s: %v", pattern, err)
		}
		for _, file := range files {
			src, err := os.ReadFile(file)
			if err != nil {
				f.Fatalf("read seed: %v", err)
			}
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		job, err := Parse("fuzz.hcl", src)
		if err == nil {
			if job == nil {
				t.Fatal("got nil job and nil error")
			}
			if verr := job.Validate(); verr != nil {
				t.Fatalf("got a job that fails Validate: %v", verr)
			}
			return
		}
		var perr *Error
		if errors.As(err, &perr) && len(perr.Diags) == 0 {
			t.Fatal("got a *Error with no diagnostics")
		}
	})
}

func BenchmarkParseFull(b *testing.B) {
	src, err := os.ReadFile("testdata/full.nomad.hcl")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := Parse("full.nomad.hcl", src); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseVars(b *testing.B) {
	src, err := os.ReadFile("testdata/vars.nomad.hcl")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("vars.nomad.hcl", src); err != nil {
			b.Fatal(err)
		}
	}
}
