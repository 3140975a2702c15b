package allocdir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBuild(t *testing.T) {
	root := t.TempDir()
	d := New(root, "a1")
	if err := d.Build(); err != nil {
		t.Fatalf("Build: %v", err)
	}
	td, err := d.BuildTask("web")
	if err != nil {
		t.Fatalf("BuildTask: %v", err)
	}
	if want := filepath.Join(root, "a1", "web"); td != want {
		t.Errorf("task dir: got %s, want %s", td, want)
	}
	for _, p := range []string{"alloc/logs", "alloc/data", "alloc/tmp", "web/local", "web/secrets", "web/tmp"} {
		st, err := os.Stat(filepath.Join(root, "a1", p))
		if err != nil || !st.IsDir() {
			t.Errorf("%s: got %v, want a directory", p, err)
		}
	}
	st, err := os.Stat(filepath.Join(td, "secrets"))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o700 {
		t.Errorf("secrets mode: got %o, want 700", got)
	}
	if err := d.Destroy(); err != nil {
		t.Fatalf("Destroy: %v", err)
	}
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Errorf("after Destroy: got %v, want not exist", err)
	}
}
