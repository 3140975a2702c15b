package supervisor

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// logFiles returns name -> content of the files in dir.
func logFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func TestRotator(t *testing.T) {
	cases := []struct {
		name     string
		existing map[string]string
		maxFiles int
		maxBytes int64
		writes   []string
		want     map[string]string
	}{
		{
			name: "fits in one file", maxFiles: 2, maxBytes: 10,
			writes: []string{"abc", "def"},
			want:   map[string]string{"t.0": "abcdef"},
		},
		{
			name: "splits a write at the limit", maxFiles: 3, maxBytes: 4,
			writes: []string{"abcdefghij"},
			want:   map[string]string{"t.0": "abcd", "t.1": "efgh", "t.2": "ij"},
		},
		{
			name: "keeps only the newest files", maxFiles: 2, maxBytes: 4,
			writes: []string{"aaaa", "bbbb", "cccc", "dd"},
			want:   map[string]string{"t.2": "cccc", "t.3": "dd"},
		},
		{
			name: "appends to the highest existing file", maxFiles: 3, maxBytes: 4,
			existing: map[string]string{"t.0": "xxxx", "t.1": "yy", "other.5": "z"},
			writes:   []string{"abc"},
			want:     map[string]string{"t.0": "xxxx", "t.1": "yyab", "t.2": "c", "other.5": "z"},
		},
		{
			name: "starts a new file when the highest is full", maxFiles: 1, maxBytes: 2,
			existing: map[string]string{"t.4": "zz"},
			writes:   []string{"a"},
			want:     map[string]string{"t.5": "a"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range c.existing {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := NewRotator(dir, "t", c.maxFiles, c.maxBytes)
			if err != nil {
				t.Fatalf("NewRotator: %v", err)
			}
			for _, w := range c.writes {
				n, err := r.Write([]byte(w))
				if err != nil || n != len(w) {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", w, n, err, len(w))
				}
			}
			if err := r.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if diff := cmp.Diff(c.want, logFiles(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRotatorRejectsBadLimits(t *testing.T) {
	for _, c := range []struct {
		files int
		bytes int64
	}{{0, 10}, {1, 0}} {
		if _, err := NewRotator(t.TempDir(), "t", c.files, c.bytes); err == nil || !strings.Contains(err.Error(), "must be positive") {
			t.Errorf("NewRotator(files %d, bytes %d) = %v, want an error", c.files, c.bytes, err)
		}
	}
}

func TestDescendantsIncludesSelfChildren(t *testing.T) {
	// The test process's own threads are not children; the list must not
	// contain the root itself.
	self := os.Getpid()
	got := descendants(self)
	sort.Ints(got)
	for _, pid := range got {
		if pid == self {
			t.Fatalf("descendants(%d) contains the root itself: %v", self, got)
		}
	}
	if !processAlive(self, 0) {
		t.Errorf("processAlive(self) = false, want true")
	}
	st, err := readProcStat(self)
	if err != nil {
		t.Fatal(err)
	}
	if !processAlive(self, st.StartTime) || processAlive(self, st.StartTime+1) {
		t.Errorf("processAlive must match the recorded start time %d", st.StartTime)
	}
}

// TestRotatorNeverWritesThroughPlantedFiles: the task can write in the log
// dir. A symlink to a host file, a hard link to one, or a FIFO named like
// the next log file is stepped over; the host file is never appended to
// and the rotator never blocks.
func TestRotatorNeverWritesThroughPlantedFiles(t *testing.T) {
	dir := t.TempDir()
	hostDir := t.TempDir()
	host := filepath.Join(hostDir, "crontab")
	hard := filepath.Join(dir, "hardtarget")
	for _, p := range []string{host, hard} {
		if err := os.WriteFile(p, []byte("keep\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(host, filepath.Join(dir, "t.1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(hard, filepath.Join(dir, "t.2")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "t.3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "t.0", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(dir, "u.0")); err != nil {
		t.Fatal(err)
	}
	r, err := NewRotator(dir, "t", 2, 4)
	if err != nil {
		t.Fatalf("NewRotator: %v", err)
	}
	if _, err := r.Write([]byte("aaaabbbb")); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	// A planted current file (the highest index) is stepped over too.
	u, err := NewRotator(dir, "u", 10, 4)
	if err != nil {
		t.Fatalf("NewRotator over a planted u.0: %v", err)
	}
	if _, err := u.Write([]byte("cc")); err != nil {
		t.Fatal(err)
	}
	u.Close()
	for _, p := range []string{host, hard} {
		if b, _ := os.ReadFile(p); string(b) != "keep\n" {
			t.Errorf("%s: got %q, want it untouched", p, b)
		}
	}
	// t.3 is the highest index: stepped over to t.4, then t.5; purging
	// leaves the planted directory t.0 alone.
	for name, want := range map[string]string{"t.4": "aaaa", "t.5": "bbbb"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != want {
			t.Errorf("%s: got %q, %v; want %q after the planted t.1-t.3", name, b, err, want)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "u.1")); err != nil || string(b) != "cc" {
		t.Errorf("u.1: got %q, %v; want the output beside the planted u.0", b, err)
	}
}

// TestOpenLogDirStaysInside: alloc/logs replaced by a symlink to a host
// directory is refused.
func TestOpenLogDirStaysInside(t *testing.T) {
	top := t.TempDir()
	host := t.TempDir()
	if err := os.MkdirAll(filepath.Join(top, "alloc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, filepath.Join(top, "alloc", "logs")); err != nil {
		t.Fatal(err)
	}
	if d, err := OpenLogDir(top, filepath.Join(top, "alloc", "logs")); err == nil {
		d.Close()
		t.Fatal("OpenLogDir through a symlink to a host dir: got nil error")
	}
	if err := os.Remove(filepath.Join(top, "alloc", "logs")); err != nil {
		t.Fatal(err)
	}
	d, err := OpenLogDir(top, filepath.Join(top, "alloc", "logs"))
	if err != nil {
		t.Fatalf("OpenLogDir (creates it): %v", err)
	}
	d.Close()
}
