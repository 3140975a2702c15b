package container

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// requireRoot skips (or fails under NOMADLIKE_REQUIRE_ALL=1) tests that
// create device nodes and trusted xattrs.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatal("test needs root (whiteouts are device nodes and trusted xattrs) and NOMADLIKE_REQUIRE_ALL=1 is set")
	}
	t.Skip("test needs root: whiteouts are device nodes and trusted xattrs")
}

// twoLayerLayout is an OCI layout whose upper layer deletes a file and
// replaces a directory's content (opaque whiteout).
func twoLayerLayout(t *testing.T) string {
	lower := layer(t, []tarEntry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/keep", mode: 0o644, data: []byte("keep")},
		{name: "etc/gone", mode: 0o644, data: []byte("gone")},
		{name: "opaque/", mode: 0o755, dir: true},
		{name: "opaque/old", mode: 0o644, data: []byte("old")},
		{name: "evil", link: "/"},
	})
	upper := layer(t, []tarEntry{
		{name: "etc/", mode: 0o755, dir: true},
		{name: "etc/.wh.gone", mode: 0o644},
		{name: "etc/new", mode: 0o600, data: []byte("new")},
		{name: "opaque/", mode: 0o755, dir: true},
		{name: "opaque/.wh..wh..opq", mode: 0o644},
		{name: "opaque/fresh", mode: 0o644, data: []byte("fresh")},
	})
	return writeLayout(t, v1.Config{Entrypoint: []string{"/bin/app"}, Cmd: []string{"--serve"}, Env: []string{"A=1"}, WorkingDir: "/srv", User: "nobody"}, "app:v1", lower, upper)
}

func TestLayerCacheAndWhiteouts(t *testing.T) {
	requireRoot(t)
	s := newImageStore(filepath.Join(t.TempDir(), "cache"), testLogger(t), time.Minute)
	src, err := parseImage("oci-layout://" + twoLayerLayout(t) + ":v1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rec, err := s.Acquire(ctx, src, "alloc1/web", false)
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	wantCfg := imageConfig{Entrypoint: []string{"/bin/app"}, Cmd: []string{"--serve"}, Env: []string{"A=1"}, WorkingDir: "/srv", User: "nobody"}
	if diff := cmp.Diff(wantCfg, rec.Config); diff != "" {
		t.Errorf("image config (-want +got):\n%s", diff)
	}
	if len(rec.LayerIDs) != 2 {
		t.Fatalf("layers = %v, want 2", rec.LayerIDs)
	}
	lowerDir, upperDir := s.dir("layers", rec.LayerIDs[0]), s.dir("layers", rec.LayerIDs[1])
	if got := s.lowerDirs(rec); !cmp.Equal(got, []string{upperDir, lowerDir}) {
		t.Errorf("lowerDirs = %v, want topmost first", got)
	}
	if b, err := os.ReadFile(filepath.Join(lowerDir, "etc/gone")); err != nil || string(b) != "gone" {
		t.Errorf("lower layer etc/gone = %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(lowerDir, "evil")); err != nil || l != "/" {
		t.Errorf("symlink evil = %q, %v", l, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(upperDir, "etc/gone"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
		t.Errorf("whiteout etc/gone in the upper layer: mode %o rdev %d err %v; want a 0:0 character device", st.Mode, st.Rdev, err)
	}
	if fi, err := os.Stat(filepath.Join(upperDir, "etc/new")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("etc/new: %v %v, want mode 0600", fi, err)
	}
	buf := make([]byte, 8)
	n, err := unix.Lgetxattr(filepath.Join(upperDir, "opaque"), "trusted.overlay.opaque", buf)
	if err != nil || string(buf[:n]) != "y" {
		t.Errorf("opaque dir xattr = %q, %v; want y", buf[:n], err)
	}
	if _, err := os.Lstat(filepath.Join(upperDir, "opaque", whiteoutOpaque)); !os.IsNotExist(err) {
		t.Errorf("the opaque marker file was unpacked: %v", err)
	}

	// Mounted as overlayfs, the whiteouts hide the lower files.
	root := t.TempDir()
	merged := filepath.Join(root, "merged")
	if err := mountOverlay(s.lowerDirs(rec), filepath.Join(root, "upper"), filepath.Join(root, "work"), merged); err != nil {
		t.Fatalf("mountOverlay: %v", err)
	}
	t.Cleanup(func() {
		if err := unmountOverlay(merged); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	if got := listDir(t, merged, "etc"); !cmp.Equal(got, []string{"keep", "new"}) {
		t.Errorf("merged etc = %v, want [keep new]", got)
	}
	if got := listDir(t, merged, "opaque"); !cmp.Equal(got, []string{"fresh"}) {
		t.Errorf("merged opaque = %v, want [fresh]", got)
	}
	if err := os.WriteFile(filepath.Join(merged, "etc/keep"), []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(lowerDir, "etc/keep")); string(b) != "keep" {
		t.Errorf("writing through the overlay changed the cached layer: %q", b)
	}

	// A second task reuses the unpacked layers (same record, no new dirs).
	again, err := s.Acquire(ctx, src, "alloc2/web", false)
	if err != nil || again.ID != rec.ID {
		t.Fatalf("second Acquire = %+v, %v; want the same image", again, err)
	}
	if got := listDir(t, s.root, "layers"); len(got) != 2 {
		t.Errorf("layers after two acquires = %v, want 2", got)
	}
}

func TestImageGC(t *testing.T) {
	requireRoot(t)
	s := newImageStore(filepath.Join(t.TempDir(), "cache"), testLogger(t), time.Minute)
	src, err := parseImage("oci-layout://" + twoLayerLayout(t))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := s.Acquire(context.Background(), src, "a/web", false)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name        string
		release     bool
		delay       time.Duration
		wantRemoved int
		wantLayers  int
	}{
		{"leased image kept", false, 0, 0, 2},
		{"released but recently used kept", true, time.Hour, 0, 2},
		{"unused image removed", true, 0, 1, 0},
	}
	for _, st := range steps {
		if st.release {
			if err := s.Release("a/web"); err != nil {
				t.Fatal(err)
			}
		}
		n, err := s.GC(st.delay)
		if err != nil {
			t.Fatalf("%s: GC: %v", st.name, err)
		}
		if n != st.wantRemoved || len(listDir(t, s.root, "layers")) != st.wantLayers {
			t.Errorf("%s: removed %d images, %d layers left; want %d and %d", st.name, n, len(listDir(t, s.root, "layers")), st.wantRemoved, st.wantLayers)
		}
	}
	if got := s.Images(); len(got) != 0 {
		t.Errorf("images after GC = %v (had %s)", got, rec.ID)
	}
}

func TestLayoutSelection(t *testing.T) {
	dir := twoLayerLayout(t)
	cases := []struct {
		ref, wantErr string
	}{
		{"", ""},
		{"app:v1", ""},
		{"v1", ""},
		{"nope", `no image "nope" in the layout (it has: app:v1)`},
	}
	for _, c := range cases {
		t.Run(c.ref, func(t *testing.T) {
			_, err := imageFromLayout(dir, c.ref)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("imageFromLayout(%q) = %v, want error %q", c.ref, err, c.wantErr)
			}
		})
	}
}

func listDir(t *testing.T, parts ...string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(parts...))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	sort.Strings(out)
	return out
}
