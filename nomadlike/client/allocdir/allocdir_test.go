package allocdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
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

// TestBuildRefusesPlantedSymlinks: a task that replaced alloc/tmp or its
// own tmp with a symlink to a host directory does not get that directory
// chmod'ed 1777 when the directories are built again.
func TestBuildRefusesPlantedSymlinks(t *testing.T) {
	root := t.TempDir()
	host := t.TempDir()
	if err := os.Chmod(host, 0o700); err != nil {
		t.Fatal(err)
	}
	d := New(root, "a1")
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.BuildTask("web"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"alloc/tmp", "web/tmp"} {
		full := filepath.Join(d.Dir, p)
		if err := os.RemoveAll(full); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(host, full); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Build(); err == nil {
		t.Error("Build with alloc/tmp -> host dir: got nil error, want a refusal")
	}
	if _, err := d.BuildTask("web"); err == nil {
		t.Error("BuildTask with web/tmp -> host dir: got nil error, want a refusal")
	}
	st, err := os.Stat(host)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o700 {
		t.Errorf("host dir mode: got %o, want 700 (untouched)", got)
	}
}

// TestBuildTaskRefusesPathNames checks task names that are not one path element.
func TestBuildTaskRefusesPathNames(t *testing.T) {
	d := New(t.TempDir(), "a1")
	for _, name := range []string{"", ".", "..", "../x", "a/b", `a\b`, "a\x00b"} {
		if _, err := d.BuildTask(name); err == nil {
			t.Errorf("BuildTask(%q): got nil error, want a refusal", name)
		}
	}
}

// TestAccessStaysInside checks Open, Stat and ReadDir against paths and
// symlinks that leave the allocation directory, and non-regular files.
func TestAccessStaysInside(t *testing.T) {
	root := t.TempDir()
	secret := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secret, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := New(root, "a1")
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	logs := d.LogDir()
	mustWrite(t, filepath.Join(logs, "web.stdout.0"), "hello")
	mustSymlink(t, secret, filepath.Join(logs, "web.stdout.1"))
	mustSymlink(t, "web.stdout.0", filepath.Join(logs, "web.stdout.2"))                    // inside: followed
	mustSymlink(t, "../../../../../../../../", filepath.Join(d.SharedDir(), "data", "up")) // climbs out
	if err := syscall.Mkfifo(filepath.Join(logs, "web.stderr.0"), 0o644); err != nil {
		t.Fatal(err)
	}

	if f, err := d.OpenLog("web.stdout.0"); err != nil {
		t.Errorf("OpenLog(web.stdout.0): %v", err)
	} else {
		f.Close()
	}
	if f, err := d.OpenLog("web.stdout.2"); err != nil {
		t.Errorf("OpenLog(web.stdout.2 -> web.stdout.0): %v, want the file", err)
	} else {
		f.Close()
	}
	cases := []struct {
		path string
		want error
	}{
		{"alloc/logs/web.stdout.1", ErrOutside},
		{"/alloc/logs/web.stdout.1", ErrOutside},
		{"../a1/alloc/logs/web.stdout.0", ErrOutside},
		{"alloc/data/up" + secret, ErrOutside},
		{"alloc/logs/web.stderr.0", ErrNotRegular},
		{"alloc/logs", ErrNotRegular},
		{"alloc/logs/missing", fs.ErrNotExist},
	}
	for _, c := range cases {
		f, err := d.Open(c.path)
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, c.want) {
			t.Errorf("Open(%q): got %v, want %v", c.path, err, c.want)
		}
	}
	if _, err := d.Stat("alloc/logs/web.stdout.1"); !errors.Is(err, ErrOutside) {
		t.Errorf("Stat through a symlink out: got %v, want ErrOutside", err)
	}
	if st, err := d.Lstat("alloc/logs/web.stdout.1"); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("Lstat of the planted symlink: got %v, %v; want the symlink itself", st, err)
	}
	if _, err := d.ReadDir("alloc/data/up/"); !errors.Is(err, ErrOutside) {
		t.Errorf("ReadDir through a symlink out: got %v, want ErrOutside", err)
	}
	entries, err := d.ReadDir("/alloc/logs")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"web.stderr.0", "web.stdout.0", "web.stdout.1", "web.stdout.2"}; !slices.Equal(names, want) {
		t.Errorf("ReadDir(/alloc/logs): got %v, want %v", names, want)
	}
	if st, err := d.Stat(""); err != nil || !st.IsDir() {
		t.Errorf("Stat(\"\"): got %v, %v; want the alloc dir", st, err)
	}
}

func mustWrite(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
