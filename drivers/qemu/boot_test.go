package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/drivers/qemu/qemutest"
	"github.com/nomadlike/nomadlike/internal/freeport"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// bootWait bounds a TCG boot and a guest power-down; a boot takes a few
// seconds, more while other VMs of the package boot in parallel.
const bootWait = 60 * time.Second

// bootTask returns a driver allowed to read the host kernel and a task
// config that boots it with the test initramfs in the task dir, in mode.
func bootTask(t *testing.T, mode string, graceful bool) (*Driver, *drivers.TaskConfig) {
	t.Helper()
	p := qemutest.Require(t, mode == qemutest.ModeACPI)
	d := New(Config{
		ImagePaths:    []string{filepath.Dir(p.Kernel)},
		ArgsAllowlist: []string{"-no-reboot"},
	}, testLogger(t))
	t.Cleanup(d.Close)
	cfg := drivertest.TaskConfig(t, "vm", map[string]any{
		"kernel":            p.Kernel,
		"initrd":            "local/initramfs.cpio",
		"kernel_args":       "console=ttyS0 quiet panic=-1 " + mode,
		"accelerator":       "tcg",
		"args":              []any{"-no-reboot"},
		"port_map":          map[string]any{"ssh": 22},
		"graceful_shutdown": graceful,
	})
	qemutest.Initramfs(t, p, filepath.Join(cfg.TaskDir, "local"))
	cfg.Resources = &structs.AllocatedTaskResources{Memory: structs.AllocatedMemoryResources{MemoryMB: 256}}
	cfg.Ports = []structs.PortMapping{{Label: "ssh", Value: freeport.TCP(t), HostIP: "127.0.0.1"}}
	return d, cfg
}

func startVM(t *testing.T, d *Driver, cfg *drivers.TaskConfig) *drivers.TaskHandle {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootWait)
	defer cancel()
	h, err := d.StartTask(ctx, cfg)
	if err != nil {
		t.Fatalf("StartTask: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), bootWait)
		defer cancel()
		if err := d.DestroyTask(ctx, cfg.ID, true); err != nil && !errors.Is(err, drivers.ErrTaskNotFound) {
			t.Errorf("cleanup DestroyTask: %v", err)
		}
	})
	return h
}

// waitLog waits for want in the task's stdout log and returns how long it took.
func waitLog(t *testing.T, cfg *drivers.TaskConfig, want string) time.Duration {
	t.Helper()
	start := time.Now()
	path := filepath.Join(cfg.LogDir, cfg.StdoutBase+".0")
	drivertest.WaitFor(t, bootWait, func() (bool, string) {
		b, err := os.ReadFile(path)
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(string(b), want), fmt.Sprintf("%s holds %q, want %q", path, tail(b), want)
	})
	return time.Since(start)
}

func tail(b []byte) string {
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return string(b)
}

func waitExit(t *testing.T, d *Driver, id string) *drivers.ExitResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), bootWait)
	defer cancel()
	ch, err := d.WaitTask(ctx, id)
	if err != nil {
		t.Fatalf("WaitTask: %v", err)
	}
	res, ok := <-ch
	if !ok {
		t.Fatalf("VM did not exit within %v", bootWait)
	}
	return res
}

// TestBootSerialConsole boots the host kernel under TCG: the guest's serial
// console reaches the stdout log and its power-off is exit code 0.
func TestBootSerialConsole(t *testing.T) {
	t.Parallel()
	d, cfg := bootTask(t, qemutest.ModeExit, false)
	startVM(t, d, cfg)
	took := waitLog(t, cfg, qemutest.BootMarker)
	t.Logf("boot to first serial line under TCG: %v", took)
	res := waitExit(t, d, cfg.ID)
	if !res.Successful() {
		t.Fatalf("VM exit = %+v, want exit code 0 after the guest powered off", res)
	}
}

// TestGracefulStopAfterRecover boots a guest that powers off on the ACPI
// power button, checks the port forward is bound on loopback, re-attaches
// from a second driver (an agent restart) and stops the VM through QMP.
func TestGracefulStopAfterRecover(t *testing.T) {
	t.Parallel()
	d, cfg := bootTask(t, qemutest.ModeACPI, true)
	h := startVM(t, d, cfg)
	waitLog(t, cfg, qemutest.BootMarker)

	addr := fmt.Sprintf("127.0.0.1:%d", cfg.Ports[0].Value)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Errorf("port forward for ssh on %s: %v", addr, err)
	} else {
		conn.Close()
	}

	d.Close() // the agent goes away; the VM keeps running
	d2 := New(Config{ImagePaths: d.cfg.ImagePaths}, testLogger(t))
	t.Cleanup(d2.Close)
	ctx, cancel := context.WithTimeout(context.Background(), bootWait)
	defer cancel()
	if err := d2.RecoverTask(ctx, h); err != nil {
		t.Fatalf("RecoverTask: %v", err)
	}
	st, err := d2.InspectTask(cfg.ID)
	if err != nil || st.State != drivers.TaskStateRunning {
		t.Fatalf("InspectTask after recover = %+v, %v; want running", st, err)
	}
	start := time.Now()
	if err := d2.StopTask(ctx, cfg.ID, 30*time.Second, ""); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	res := waitExit(t, d2, cfg.ID)
	t.Logf("graceful power-down took %v", time.Since(start))
	if !res.Successful() {
		t.Errorf("VM exit = %+v, want exit code 0 (guest powered off)", res)
	}
	if b, err := os.ReadFile(filepath.Join(cfg.LogDir, cfg.StdoutBase+".0")); err != nil || !strings.Contains(string(b), qemutest.PowerButtonMarker) {
		t.Errorf("stdout log = %q, %v; want the guest's %q line", tail(b), err, qemutest.PowerButtonMarker)
	}
	if err := d2.DestroyTask(ctx, cfg.ID, false); err != nil {
		t.Errorf("DestroyTask: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.TaskDir, qmpSocketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("QMP socket left behind after DestroyTask: %v", err)
	}
}

// TestGracefulStopKillsAfterTimeout boots a guest that ignores the power
// button: StopTask kills QEMU once the timeout passes.
func TestGracefulStopKillsAfterTimeout(t *testing.T) {
	t.Parallel()
	d, cfg := bootTask(t, qemutest.ModeHang, true)
	startVM(t, d, cfg)
	waitLog(t, cfg, qemutest.BootMarker)
	ctx, cancel := context.WithTimeout(context.Background(), bootWait)
	defer cancel()
	checkStats(ctx, t, d, cfg.ID)
	const timeout = time.Second
	start := time.Now()
	if err := d.StopTask(ctx, cfg.ID, timeout, ""); err != nil {
		t.Fatalf("StopTask: %v", err)
	}
	took := time.Since(start)
	res := waitExit(t, d, cfg.ID)
	if res.Signal != int(syscall.SIGKILL) {
		t.Errorf("VM exit = %+v, want killed by SIGKILL after the %v timeout", res, timeout)
	}
	if took < timeout {
		t.Errorf("StopTask returned after %v, before the %v power-down timeout", took, timeout)
	}
}

// checkStats reads the running VM's resource usage: QEMU's resident memory
// holds at least the booted guest kernel, and CPU figures are reported.
func checkStats(ctx context.Context, t *testing.T, d *Driver, id string) {
	t.Helper()
	u, err := d.TaskStats(ctx, id)
	if err != nil {
		t.Fatalf("TaskStats: %v", err)
	}
	if u.ResourceUsage == nil || u.ResourceUsage.MemoryStats == nil || u.ResourceUsage.CpuStats == nil {
		t.Fatalf("TaskStats = %+v, want memory and CPU stats", u)
	}
	mem, cpu := u.ResourceUsage.MemoryStats, u.ResourceUsage.CpuStats
	t.Logf("VM stats: rss %d MiB, cpu %.1f%% (user %.1f%%, system %.1f%%), %d pids", mem.RSS>>20, cpu.Percent, cpu.UserMode, cpu.SystemMode, len(u.Pids))
	if mem.RSS < 16<<20 {
		t.Errorf("VM RSS = %d bytes, want at least 16 MiB (a booted guest)", mem.RSS)
	}
	if cpu.Percent < 0 || len(u.Pids) == 0 {
		t.Errorf("VM CPU stats = %+v with %d pids, want a non-negative rate and QEMU's pid", cpu, len(u.Pids))
	}
}

// BenchmarkBootToMarker boots the host kernel with the test initramfs
// under TCG and measures StartTask called to the guest's first serial line
// in the stdout log; it reports the median (median-ms). Run with
// -bench BootToMarker -benchtime 5x for issue #8's median of 5.
func BenchmarkBootToMarker(b *testing.B) {
	p := qemutest.Require(b, false)
	d := New(Config{ImagePaths: []string{filepath.Dir(p.Kernel)}, ArgsAllowlist: []string{"-no-reboot"}}, nil)
	b.Cleanup(d.Close)
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		cfg := drivertest.TaskConfig(b, "vm", map[string]any{
			"kernel":      p.Kernel,
			"initrd":      "local/initramfs.cpio",
			"kernel_args": "console=ttyS0 quiet panic=-1 " + qemutest.ModeExit,
			"accelerator": "tcg",
			"args":        []any{"-no-reboot"},
		})
		qemutest.Initramfs(b, p, filepath.Join(cfg.TaskDir, "local"))
		cfg.Resources = &structs.AllocatedTaskResources{Memory: structs.AllocatedMemoryResources{MemoryMB: 256}}
		log := filepath.Join(cfg.LogDir, cfg.StdoutBase+".0")
		ctx, cancel := context.WithTimeout(context.Background(), bootWait)
		b.StartTimer()
		began := time.Now()
		if _, err := d.StartTask(ctx, cfg); err != nil {
			cancel()
			b.Fatalf("StartTask: %v", err)
		}
		drivertest.WaitFor(b, bootWait, func() (bool, string) {
			data, _ := os.ReadFile(log)
			return bytes.Contains(data, []byte(qemutest.BootMarker)), "no marker yet"
		})
		took = append(took, time.Since(began))
		b.StopTimer()
		ch, err := d.WaitTask(ctx, cfg.ID)
		if err != nil {
			b.Fatal(err)
		}
		<-ch
		if err := d.DestroyTask(ctx, cfg.ID, true); err != nil {
			b.Fatalf("DestroyTask: %v", err)
		}
		cancel()
		b.StartTimer()
	}
	if len(took) > 0 {
		slices.Sort(took)
		b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "median-ms")
	}
}
