package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestVolumesAndEnv: a read-only volume from the task dir is readable and
// refuses writes, a read-write one is written through to the host, and the
// task's environment reaches the process, over the image's.
func TestVolumesAndEnv(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cfg := shTask(t, `cat /srv/index.html
if echo x > /srv/new 2>/dev/null; then echo ro-write-succeeded; else echo ro-write-refused; fi
echo written > /data/out && echo rw-ok
echo "greeting=$GREETING from_image=$FROM_IMAGE"
echo "args:" "$@"`, map[string]any{
		"volumes": []any{"local/site:/srv:ro", "local/data:/data"},
	})
	// Arguments after the script become $1.. of sh.
	cfg.Config["args"] = append(cfg.Config["args"].([]any), "sh", "first arg", "second")
	cfg.Env["GREETING"] = "hello from the task env"
	cfg.Env["FROM_IMAGE"] = "overridden"
	for _, dir := range []string{"site", "data"} {
		if err := os.MkdirAll(filepath.Join(cfg.TaskDir, "local", dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(cfg.TaskDir, "local", "site", "index.html"), []byte("<h1>site</h1>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	start(t, d, cfg)
	if res := wait(t, d, cfg.ID); !res.Successful() {
		t.Fatalf("exit %+v; stderr %q", res, readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0")))
	}
	out := readFile(t, stdout(cfg))
	for _, want := range []string{"<h1>site</h1>", "ro-write-refused", "rw-ok", "greeting=hello from the task env from_image=overridden", "args: first arg second"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q; got:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(cfg.TaskDir, "local", "site", "new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a write through the read-only volume reached the host: %v", err)
	}
	if got := readFile(t, filepath.Join(cfg.TaskDir, "local", "data", "out")); got != "written\n" {
		t.Errorf("read-write volume: host file holds %q, want %q", got, "written\n")
	}
}

// TestStatsBusyContainer: a container spinning on a CPU reports a CPU rate
// and memory use from its cgroup; an exited one answers 409.
func TestStatsBusyContainer(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cfg := shTask(t, `echo ready; while :; do :; done`, nil)
	start(t, d, cfg)
	drivertest.WaitForFileContains(t, stdout(cfg), "ready")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	var last string
	drivertest.WaitFor(t, testTimeout, func() (bool, string) {
		u, err := d.TaskStats(ctx, cfg.ID)
		if err != nil {
			return false, err.Error()
		}
		if u.ResourceUsage == nil || u.ResourceUsage.CpuStats == nil || u.ResourceUsage.MemoryStats == nil {
			return false, fmt.Sprintf("stats without CPU or memory: %+v", u)
		}
		c, m := u.ResourceUsage.CpuStats, u.ResourceUsage.MemoryStats
		last = fmt.Sprintf("cpu %.1f%% (ticks %.0f MHz), memory usage %d bytes, rss %d", c.Percent, c.TotalTicks, m.Usage, m.RSS)
		return c.Percent > 20 && c.TotalTicks > 0 && (m.Usage > 0 || m.RSS > 0), last
	})
	t.Logf("busy container: %s", last)
	if err := d.StopTask(ctx, cfg.ID, 100*time.Millisecond, "SIGKILL"); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	wait(t, d, cfg.ID)
	if _, err := d.TaskStats(ctx, cfg.ID); err == nil || !strings.Contains(err.Error(), "has exited") {
		t.Errorf("TaskStats of an exited task = %v, want a conflict saying it has exited", err)
	}
}

// TestBadInputLeavesNothing: each kind of bad input fails the start (or
// the task, for a limit the workload only meets once running) with an
// error naming the problem, and leaves no mount, cgroup or process behind.
func TestBadInputLeavesNothing(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.tar")
	if err := os.WriteFile(corrupt, []byte("this is not a tar archive\x00\x01\x02"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.tar")
	whole := tarBytes(t, busyboxFiles(t))
	if err := os.WriteFile(truncated, whole[:len(whole)/3], 0o644); err != nil {
		t.Fatal(err)
	}
	layoutDir := busyboxLayout(t)
	cases := []struct {
		name     string
		config   map[string]any
		memoryMB int64
		wantErr  []string
	}{
		{"unknown image in a layout", map[string]any{"image": "oci-layout://" + layoutDir + ":nope"}, 0,
			[]string{layoutDir, "nope"}},
		{"unknown registry image", map[string]any{"image": fmt.Sprintf("127.0.0.1:%d/library/nope:1", closedPort(t))}, 0,
			[]string{"library/nope:1", "connection refused"}},
		{"corrupt oci-archive", map[string]any{"image": "oci-archive://" + corrupt}, 0, []string{corrupt, "corrupt or truncated"}},
		{"corrupt docker-archive", map[string]any{"image": "docker-archive://" + corrupt}, 0, []string{corrupt, "corrupt or truncated"}},
		{"truncated docker-archive", map[string]any{"image": "docker-archive://" + truncated}, 0, []string{truncated, "corrupt or truncated"}},
		{"command missing from the image", map[string]any{"image": "oci-layout://" + layoutDir, "command": "/usr/bin/nginx"}, 0,
			[]string{`"/usr/bin/nginx"`, "no such file or directory", "the command is not in the image"}},
		{"memory limit too small to start", map[string]any{"image": "oci-layout://" + layoutDir, "command": "sh", "args": []any{"-c", "echo started"}}, 1,
			[]string{"memory limit of 1 MB, resources.memory, is too small for the container to start"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := drivertest.TaskConfig(t, "web", c.config)
			markTask(cfg)
			if c.memoryMB > 0 {
				cfg = withMemory(cfg, c.memoryMB)
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			var msg string
			h, err := d.StartTask(ctx, cfg)
			if err == nil {
				// A limit met only once running ends the task instead.
				res := wait(t, d, cfg.ID)
				if res.Successful() {
					t.Fatalf("task succeeded (%+v); want it to fail", h)
				}
				msg = fmt.Sprintf("exit %+v: %v", res, res.Err)
				if derr := d.DestroyTask(ctx, cfg.ID, true); derr != nil {
					t.Errorf("DestroyTask: %v", derr)
				}
			} else {
				msg = err.Error()
			}
			t.Logf("reason: %s", msg)
			for _, w := range c.wantErr {
				if !strings.Contains(msg, w) {
					t.Errorf("reason %q lacks %q", msg, w)
				}
			}
			drivertest.WaitFor(t, testTimeout, func() (bool, string) {
				l := leftovers(t, cfg)
				return len(l) == 0, strings.Join(l, "; ")
			})
			if _, err := os.Stat(filepath.Join(cfg.StateDir, "rootfs")); err == nil {
				if entries, _ := os.ReadDir(filepath.Join(cfg.StateDir, "rootfs")); len(entries) > 0 {
					t.Errorf("rootfs still holds %d entries: the overlay is still mounted", len(entries))
				}
			}
		})
	}
}

// withMemory sets the task's memory to mb.
func withMemory(cfg *drivers.TaskConfig, mb int64) *drivers.TaskConfig {
	cfg.Resources = &structs.AllocatedTaskResources{
		Cpu:    structs.AllocatedCpuResources{CpuShares: 100},
		Memory: structs.AllocatedMemoryResources{MemoryMB: mb},
	}
	return cfg
}

// TestKilledContainerLeavesNothing: a container whose init is killed from
// outside (an operator's kill -9, the kernel) is reported killed, and its
// supervisor cleans up and exits promptly, leaving no mount, cgroup or
// process.
func TestKilledContainerLeavesNothing(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cfg := shTask(t, `echo ready; sleep 300 & wait`, nil)
	markTask(cfg)
	start(t, d, cfg)
	drivertest.WaitForFileContains(t, stdout(cfg), "ready")
	st, err := d.InspectTask(cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if res := wait(t, d, cfg.ID); res.Signal != int(syscall.SIGKILL) {
		t.Errorf("exit result = %+v, want killed by SIGKILL", res)
	}
	drivertest.WaitFor(t, testTimeout, func() (bool, string) {
		l := leftovers(t, cfg)
		return len(l) == 0, strings.Join(l, "; ")
	})
}
