package container

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
)

func TestContainerRuns(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cfg := shTask(t, `echo hello; echo "pid=$$"; hostname; id -u; ls /local /alloc; test -d /secrets && echo secrets-ok; echo "task_dir=$NOMAD_TASK_DIR image=$FROM_IMAGE"; ps -o pid,comm | wc -l; echo oops >&2; exit 3`,
		map[string]any{"hostname": "webhost"})
	if err := os.WriteFile(filepath.Join(cfg.TaskDir, "local", "marker-local"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.AllocDir, "alloc", "marker-alloc"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	start(t, d, cfg)
	t.Logf("container start latency (image cold): %v", time.Since(begin))
	res := wait(t, d, cfg.ID)
	if res.ExitCode != 3 || res.Signal != 0 || res.OOMKilled {
		t.Errorf("exit result = %+v, want exit code 3", res)
	}
	out := readFile(t, stdout(cfg))
	for _, want := range []string{"hello\n", "pid=1\n", "webhost\n", "0\n", "marker-local", "marker-alloc", "secrets-ok", "task_dir=/local image=yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q; got:\n%s", want, out)
		}
	}
	// ps inside sees only the container's processes: header, sh, ps, wc.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if n := lines[len(lines)-1]; strings.TrimSpace(n) != "4" && strings.TrimSpace(n) != "3" {
		t.Errorf("the container sees %s lines of ps output, want only its own processes (3 or 4); stdout:\n%s", n, out)
	}
	if errOut := readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0")); !strings.Contains(errOut, "oops") {
		t.Errorf("stderr = %q, want oops", errOut)
	}
}

func TestImageDefaults(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cases := []struct {
		name   string
		config map[string]any
		want   string
	}{
		{"image cmd", map[string]any{}, "from-image-cmd"},
		{"entrypoint replaces cmd", map[string]any{"entrypoint": []any{"echo", "entry"}}, "entry\n"},
		{"args replace cmd", map[string]any{"args": []any{"echo", "just-args"}}, "just-args"},
		{"user", map[string]any{"command": "id", "args": []any{"-u"}, "user": "nobody"}, "65534"},
		{"work_dir", map[string]any{"command": "sh", "args": []any{"-c", "pwd"}, "work_dir": "/srv/app"}, "/srv/app"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.config["image"] = "oci-layout://" + busyboxLayout(t)
			cfg := drivertest.TaskConfig(t, "web", c.config)
			start(t, d, cfg)
			if res := wait(t, d, cfg.ID); !res.Successful() {
				t.Fatalf("exit %+v; stderr %q", res, readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0")))
			}
			if out := readFile(t, stdout(cfg)); !strings.Contains(out, c.want) {
				t.Errorf("stdout = %q, want %q", out, c.want)
			}
		})
	}
}

func TestMemoryLimitOOM(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cfg := shTask(t, `echo start; exec dd if=/dev/zero of=/dev/null bs=96M count=1`, nil)
	cfg.Resources.Memory.MemoryMB = 16
	start(t, d, cfg)
	res := wait(t, d, cfg.ID)
	if !res.OOMKilled || res.Err == nil || !strings.Contains(res.Err.Error(), "memory limit of 16 MB") {
		t.Fatalf("exit result = %+v (err %v), want OOM killed naming the 16 MB limit", res, res.Err)
	}
	if res.Signal != int(syscall.SIGKILL) {
		t.Errorf("exit result %+v: want the process killed by SIGKILL", res)
	}
	if errOut := readFile(t, filepath.Join(cfg.LogDir, cfg.StderrBase+".0")); !strings.Contains(errOut, "OOM killer") {
		t.Errorf("stderr log lacks the OOM note: %q", errOut)
	}
}

func TestStop(t *testing.T) {
	requireContainers(t)
	cases := []struct {
		name       string
		script     string
		timeout    time.Duration
		wantSignal int
		wantCode   int
	}{
		// sleep as PID 1 has no SIGTERM handler: the kernel ignores SIGTERM, so SIGKILL follows.
		{"escalates to SIGKILL", `exec sleep 300`, 500 * time.Millisecond, int(syscall.SIGKILL), 137},
		{"graceful", `trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done`, 10 * time.Second, 0, 0},
	}
	d := newDriver(t, "")
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := shTask(t, c.script, nil)
			start(t, d, cfg)
			if c.wantCode == 0 {
				drivertest.WaitForFileContains(t, stdout(cfg), "ready")
			}
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			st, err := d.InspectTask(cfg.ID)
			if err != nil {
				t.Fatal(err)
			}
			begin := time.Now()
			if err := d.StopTask(ctx, cfg.ID, c.timeout, "SIGTERM"); err != nil {
				t.Fatalf("StopTask: %v", err)
			}
			res := wait(t, d, cfg.ID)
			if res.Signal != c.wantSignal || res.ExitCode != c.wantCode {
				t.Errorf("after stop: %+v, want signal %d exit code %d", res, c.wantSignal, c.wantCode)
			}
			if c.wantSignal == int(syscall.SIGKILL) && time.Since(begin) < c.timeout {
				t.Errorf("SIGKILL came after %v, before the %v kill timeout", time.Since(begin), c.timeout)
			}
			if !drivertest.ProcessGone(st.PID) {
				t.Errorf("container init pid %d still alive", st.PID)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	requireContainers(t)
	cache := filepath.Join(t.TempDir(), "cache")
	first := New(Config{Enabled: true, CacheDir: cache, ImagePaths: testImagePaths}, testLogger(t))
	cfg := shTask(t, `echo ready; i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.05; done`, nil)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	h, err := first.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	drivertest.WaitForFileContains(t, stdout(cfg), "ready")
	first.Close() // the agent goes away; the container must not
	// Logs keep flowing while no driver watches.
	drivertest.WaitForFileContains(t, stdout(cfg), "tick 20")

	second := newDriver(t, cache)
	if err := second.RecoverTask(ctx, h); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	st, err := second.InspectTask(cfg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != drivers.TaskStateRunning || drivertest.ProcessGone(st.PID) {
		t.Fatalf("recovered task state %q pid %d; want running", st.State, st.PID)
	}
	if err := second.StopTask(ctx, cfg.ID, 200*time.Millisecond, ""); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	if res := wait(t, second, cfg.ID); res.Signal != int(syscall.SIGKILL) {
		t.Errorf("recovered task ended %+v, want SIGKILL after the timeout", res)
	}
	if err := second.DestroyTask(ctx, cfg.ID, true); err != nil {
		t.Fatalf("DestroyTask: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "rootfs")); !os.IsNotExist(err) {
		t.Errorf("rootfs mount point left behind after destroy: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	requireContainers(t)
	d := newDriver(t, "")
	cases := []struct {
		name    string
		config  map[string]any
		wantErr []string
	}{
		{"unreachable registry", map[string]any{"image": fmt.Sprintf("127.0.0.1:%d/nope/busybox:1", closedPort(t))},
			[]string{"pull image 127.0.0.1:", "nope/busybox:1", "connection refused"}},
		{"missing layout", map[string]any{"image": "oci-layout:///nonexistent/layout"}, []string{"oci-layout:///nonexistent/layout", "does not exist"}},
		{"layout outside image_paths", map[string]any{"image": "rootfs:///etc"}, []string{`config.image "rootfs:///etc"`, "outside the client's image_paths", `image_paths = ["/"]`}},
		{"unknown user", map[string]any{"image": "oci-layout://" + busyboxLayout(t), "user": "alice"}, []string{`user "alice"`}},
		{"unallocated port", map[string]any{"image": "oci-layout://" + busyboxLayout(t), "ports": []any{"http"}}, []string{`port "http" is not allocated`}},
		{"missing command", map[string]any{"image": "oci-layout://" + busyboxLayout(t), "command": "/bin/nope"}, []string{"/bin/nope"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := drivertest.TaskConfig(t, "web", c.config)
			ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
			defer cancel()
			_, err := d.StartTask(ctx, cfg)
			if err == nil {
				_ = d.DestroyTask(ctx, cfg.ID, true)
				t.Fatal("StartTask succeeded, want an error")
			}
			for _, w := range c.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
