package client

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
)

// writeLogs makes an allocation directory under root with the given files
// in alloc/logs.
func writeLogs(t *testing.T, root, allocID string, files map[string]string) *allocdir.AllocDir {
	t.Helper()
	d := allocdir.New(root, allocID)
	if err := d.Build(); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(d.LogDir(), name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func readRetained(t *testing.T, r *retention, allocID, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir(allocID).LogDir(), name))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestRetainKeepsTailAcrossRotatedFiles(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newRetention(t.TempDir(), LogsRetentionConfig{MaxMB: 1}, func() time.Time { return now })
	big := strings.Repeat("x", 700<<10)
	src := writeLogs(t, t.TempDir(), "a1", map[string]string{
		"web.stdout.0": big, "web.stdout.1": big[:500<<10] + "tail\n", "web.stderr.0": "oops\n",
		"junk.txt": "ignored",
	})
	if err := r.retain("a1", []string{"web"}, src); err != nil {
		t.Fatal(err)
	}
	out := readRetained(t, r, "a1", "web.stdout.0")
	// Two streams share the 1 MiB: 512 KiB each at most.
	if len(out) != 512<<10 || !strings.HasSuffix(out, "tail\n") {
		t.Errorf("retained stdout: %d bytes ending %q; want the last 512 KiB ending \"tail\\n\"", len(out), out[max(0, len(out)-5):])
	}
	if got := readRetained(t, r, "a1", "web.stderr.0"); got != "oops\n" {
		t.Errorf("retained stderr = %q", got)
	}
	m, ok := r.meta("a1")
	if !ok || m.Dropped["web.stdout.0"] != int64(1200<<10+5-512<<10) {
		t.Errorf("meta = %+v, %v; want dropped %d bytes of web.stdout.0", m, ok, 1200<<10+5-512<<10)
	}
}

// A task that replaces its log file by a symlink to a host file must not
// get that file copied into the retention area.
func TestRetainRefusesSymlinks(t *testing.T) {
	r := newRetention(t.TempDir(), LogsRetentionConfig{}, time.Now)
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("host secret\n"), 0o600)
	src := writeLogs(t, t.TempDir(), "a2", map[string]string{"web.stdout.0": "mine\n"})
	if err := os.Symlink(secret, filepath.Join(src.LogDir(), "web.stderr.0")); err != nil {
		t.Fatal(err)
	}
	// And one pointing inside the allocation directory.
	if err := os.Symlink("web.stdout.0", filepath.Join(src.LogDir(), "web.stdout.1")); err != nil {
		t.Fatal(err)
	}
	if err := r.retain("a2", []string{"web"}, src); err != nil {
		t.Fatal(err)
	}
	if got := readRetained(t, r, "a2", "web.stdout.0"); got != "mine\n" {
		t.Errorf("retained stdout = %q, want only the regular file's \"mine\\n\"", got)
	}
	if got := readRetained(t, r, "a2", "web.stderr.0"); strings.Contains(got, "secret") {
		t.Errorf("a symlinked log was copied: %q", got)
	}
}

func TestRetentionPrunesByAgeAndSize(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newRetention(t.TempDir(), LogsRetentionConfig{MaxMB: 1, MaxAge: time.Hour}, func() time.Time { return now })
	half := strings.Repeat("y", 400<<10)
	for i, id := range []string{"old", "mid", "new"} {
		now = now.Add(time.Duration(i) * time.Minute)
		if err := r.retain(id, []string{"web"}, writeLogs(t, t.TempDir(), id, map[string]string{"web.stdout.0": half})); err != nil {
			t.Fatal(err)
		}
	}
	// Three of 400 KiB exceed 1 MiB: the oldest went.
	for id, want := range map[string]bool{"old": false, "mid": true, "new": true} {
		if _, ok := r.meta(id); ok != want {
			t.Errorf("after the size prune, %s retained = %v, want %v", id, ok, want)
		}
	}
	now = now.Add(2 * time.Hour)
	if _, ok := r.meta("new"); ok {
		t.Error("logs older than max_age are still served")
	}
	r.prune()
	if entries, _ := os.ReadDir(r.root); len(entries) != 0 {
		t.Errorf("after the age prune the area holds %d allocations, want none", len(entries))
	}
}
