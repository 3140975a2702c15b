package container

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/drivers"
)

// TestHostVolumeMounts: a read-only host volume mounted at /data is
// readable and refuses writes; a read-write one at /scratch is written
// through to the host.
func TestHostVolumeMounts(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	roDir, rwDir := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(roDir, "hello.txt"), []byte("from the host volume\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := shTask(t, `cat /data/hello.txt
if echo x > /data/new 2>/dev/null; then echo ro-write-succeeded; else echo ro-write-refused; fi
echo written > /scratch/out && echo rw-ok`, nil)
	cfg.Mounts = []*drivers.MountConfig{
		{TaskPath: "/data", HostPath: roDir, Readonly: true},
		{TaskPath: "/scratch", HostPath: rwDir, PropagationMode: "host-to-task"},
	}
	start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("exit %+v; stderr %q", res, readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0")))
	}
	out := readFile(t, stdout(cfg))
	for _, want := range []string{"from the host volume", "ro-write-refused", "rw-ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q; got:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(roDir, "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a write through the read-only host volume reached the host: %v", err)
	}
	if got := readFile(t, filepath.Join(rwDir, "out")); got != "written\n" {
		t.Errorf("read-write host volume: host file holds %q, want %q", got, "written\n")
	}
	if !d.SupportsMounts() {
		t.Error("SupportsMounts() = false, want true")
	}
}

// TestHostVolumeMountErrors: a missing host path and a destination hiding
// the task's own directories are refused before anything starts.
func TestHostVolumeMountErrors(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	for _, tc := range []struct {
		mount *drivers.MountConfig
		want  string
	}{
		{&drivers.MountConfig{TaskPath: "/data", HostPath: filepath.Join(t.TempDir(), "gone")}, "volume_mount[0]: host volume path"},
		{&drivers.MountConfig{TaskPath: "/local", HostPath: t.TempDir()}, `destination "/local" would hide the task's own /local directory`},
	} {
		cfg := shTask(t, "true", nil)
		cfg.Mounts = []*drivers.MountConfig{tc.mount}
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		_, err := d.StartTask(ctx, cfg)
		cancel()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("StartTask with %+v: got %v, want an error containing %q", tc.mount, err, tc.want)
		}
		if err == nil {
			_ = d.DestroyTask(context.Background(), cfg.ID, true)
		}
	}
}
