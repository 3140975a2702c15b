package jobspec

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNestingBound(t *testing.T) {
	deep := func(open, close string, n int) string {
		return strings.Repeat(open, n) + strings.Repeat(close, n)
	}
	bad := map[string]string{
		"blocks (60,000, the stack overflow)": `job "x" { meta { a = ` + deep("[", "]", 60000) + ` } }`,
		"objects":                             `job "x" { meta { a = ` + deep("{b = ", "}", 200) + ` } }`,
		"parentheses":                         `job "x" { meta { a = ` + deep("(", ")", 200) + `1 } }`,
		"interpolations in strings":           `job "x" { meta { a = ` + deep(`"${`, `}"`, 200) + ` } }`,
		"interpolations in a heredoc":         "job \"x\" { meta { a = <<EOT\n" + deep(`${"${`, `}"}`, 100) + "\nEOT\n } }",
		"nested blocks":                       deep("job \"x\" {\n", "}\n", 150),
	}
	for name, src := range bad {
		_, err := Parse("deep.hcl", []byte(src))
		var perr *Error
		if !errors.As(err, &perr) || !strings.Contains(err.Error(), "nest more than 100 deep") {
			t.Errorf("%s: got %v, want a located nesting error", name, err)
		}
	}
	if _, err := Parse("big.hcl", make([]byte, MaxSourceBytes+1)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("a source over the size limit: got %v", err)
	}
	// Braces in strings, comments and heredocs are text, not nesting.
	text := strings.Repeat("{", 500)
	ok := "job \"x\" {\n # " + text + "\n /* " + text + " */\n meta {\n a = \"" + text + "\"\n b = <<-EOT\n  " + text + "\n  EOT\n }\n group \"g\" {\n task \"t\" {\n driver = \"raw_exec\"\n config { command = \"/bin/true\" }\n }\n }\n}\n"
	if diag := CheckBounds("ok.hcl", []byte(ok)); diag != nil {
		t.Errorf("braces in text counted as nesting: %v", diag)
	}
	files, _ := filepath.Glob("testdata/*.hcl")
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if diag := CheckBounds(f, src); diag != nil {
			t.Errorf("%s: %v", f, diag)
		}
	}
}
