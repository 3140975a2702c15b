package container

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// testTimeout bounds every driver call in these tests.
const testTimeout = 30 * time.Second

// requireContainers skips (or, with NOMADLIKE_REQUIRE_ALL=1, fails) a test
// that needs to run containers on a host that cannot.
func requireContainers(t testing.TB) {
	t.Helper()
	why := hostProblem()
	if why == "" {
		if _, err := os.Stat("/bin/busybox"); err != nil {
			why = "needs /bin/busybox (installed by scripts/test-deps.sh) to build test images"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatalf("%s, and NOMADLIKE_REQUIRE_ALL=1 is set", why)
	}
	t.Skip(why)
}

// busyboxFiles is a minimal busybox root filesystem as tar entries.
func busyboxFiles(t testing.TB) []tarEntry {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatalf("read busybox: %v", err)
	}
	entries := []tarEntry{
		{name: "bin/", mode: 0o755, dir: true},
		{name: "etc/", mode: 0o755, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "bin/busybox", mode: 0o755, data: bb},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnogroup:x:65534:\n")},
	}
	for _, app := range []string{"sh", "echo", "cat", "sleep", "hostname", "ls", "dd", "ps", "id", "true", "test", "trap", "kill", "head"} {
		entries = append(entries, tarEntry{name: "bin/" + app, link: "busybox"})
	}
	return entries
}

// tarEntry is one entry of a test layer.
type tarEntry struct {
	name string
	mode int64
	data []byte
	dir  bool
	link string // symlink target
}

func tarBytes(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: e.mode, ModTime: time.Unix(1700000000, 0)}
		switch {
		case e.dir:
			hdr.Typeflag = tar.TypeDir
		case e.link != "":
			hdr.Typeflag, hdr.Linkname, hdr.Mode = tar.TypeSymlink, e.link, 0o777
		default:
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func layer(t testing.TB, entries []tarEntry) v1.Layer {
	t.Helper()
	b := tarBytes(t, entries)
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// writeLayout writes an OCI layout with one image of the given layers and
// config, tagged ref, and returns its directory.
func writeLayout(t testing.TB, cfg v1.Config, ref string, layers ...v1.Layer) string {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.Config = cfg
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "layout")
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// busyboxLayout is an OCI layout holding a one-layer busybox image whose
// Cmd prints "from-image-cmd".
func busyboxLayout(t testing.TB) string {
	return writeLayout(t, v1.Config{
		Cmd: []string{"sh", "-c", "echo from-image-cmd"},
		Env: []string{"PATH=/bin", "FROM_IMAGE=yes"},
	}, "busybox:test", layer(t, busyboxFiles(t)))
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testImagePaths allows the tests' local images, which they write in
// their temp dirs.
var testImagePaths = []string{os.TempDir()}

// newDriver returns an enabled driver with its own image cache.
func newDriver(t testing.TB, cache string) *Driver {
	if cache == "" {
		cache = filepath.Join(t.TempDir(), "cache")
	}
	d := New(Config{Enabled: true, CacheDir: cache, SupervisorLinger: 200 * time.Millisecond, ImagePaths: testImagePaths}, testLogger(t))
	t.Cleanup(d.Close)
	return d
}

// shTask is a container task from the shared busybox layout running
// `sh -c script` with 64 MB of memory.
func shTask(t testing.TB, script string, extra map[string]any) *drivers.TaskConfig {
	cfg := map[string]any{"image": "oci-layout://" + busyboxLayout(t), "command": "sh", "args": []any{"-c", script}}
	for k, v := range extra {
		cfg[k] = v
	}
	tc := drivertest.TaskConfig(t, "web", cfg)
	tc.Resources = &structs.AllocatedTaskResources{
		Cpu:    structs.AllocatedCpuResources{CpuShares: 100},
		Memory: structs.AllocatedMemoryResources{MemoryMB: 64},
	}
	return tc
}

func start(t testing.TB, d *Driver, cfg *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h, err := d.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := d.DestroyTask(ctx, cfg.ID, true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
			t.Errorf("cleanup DestroyTask: %v", err)
		}
	})
	return h
}

// wait waits for the task's exit result.
func wait(t testing.TB, d *Driver, id string) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	res, ok := <-ch
	if !ok {
		t.Fatalf("WaitTask: no result within %v", testTimeout)
	}
	return res
}

func stdout(cfg *drivers.TaskConfig) string {
	return filepath.Join(cfg.LogDir, cfg.StdoutBase+".0")
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// closedPort returns a loopback port nothing listens on (it was free a moment ago).
func closedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return port
}
