package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// kvmBootTimeout bounds the KVM boot probe. A kernel under working KVM
// prints its banner well within a second.
const kvmBootTimeout = 15 * time.Second

// kvmBanner is what every Linux kernel prints first on its console.
var kvmBanner = []byte("Linux version")

// kvmBootCheck remembers the outcome of the KVM boot probe per emulator,
// so only the first task asking for KVM on a nested host pays for it.
type kvmBootCheck struct {
	mu      sync.Mutex
	results map[string]error
}

// check returns the probe's outcome for emulator, running it once.
func (k *kvmBootCheck) check(ctx context.Context, emulator string, kernels []string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err, ok := k.results[emulator]; ok {
		return err
	}
	err := kvmBootProbe(ctx, emulator, kernels, kvmBootTimeout)
	if ctx.Err() != nil {
		return err // cancelled: do not remember
	}
	if k.results == nil {
		k.results = map[string]error{}
	}
	k.results[emulator] = err
	return err
}

// failed returns the remembered probe failure for emulator, if any,
// without waiting for a probe in progress.
func (k *kvmBootCheck) failed(emulator string) error {
	if !k.mu.TryLock() {
		return nil
	}
	defer k.mu.Unlock()
	err := k.results[emulator]
	if errors.Is(err, errNoProbeKernel) {
		return nil
	}
	return err
}

// hostKernels lists the readable kernels in /boot, newest name first.
func hostKernels() []string {
	ks, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Sort(sort.Reverse(sort.StringSlice(ks)))
	var out []string
	for _, k := range ks {
		if f, err := os.Open(k); err == nil {
			f.Close()
			out = append(out, k)
		}
	}
	return out
}

// errNoProbeKernel means the probe found no kernel to boot, so it could not
// tell; callers then trust the KVM device probe alone.
var errNoProbeKernel = errors.New("no readable /boot/vmlinuz-* to probe with")

// kvmBootProbe boots the first of kernels under KVM, without a root file
// system, and reports an error unless the kernel's banner reaches the serial
// console within timeout. On hosts that are themselves VMs, /dev/kvm can
// pass the device probe (a one-instruction guest runs) and still hang a real
// guest in early boot, as a paravirtual KVM does; only a real boot tells.
func kvmBootProbe(ctx context.Context, emulator string, kernels []string, timeout time.Duration) error {
	if len(kernels) == 0 {
		return errNoProbeKernel
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, emulator,
		"-machine", "type=pc,accel=kvm", "-m", "128M", "-nographic", "-nodefaults", "-no-reboot",
		"-serial", "stdio", "-kernel", kernels[0], "-append", "console=ttyS0 earlyprintk=ttyS0 panic=-1")
	banner := &bannerWriter{found: make(chan struct{})}
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = banner, &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("run %s: %w", emulator, err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	var ok, early bool
	select {
	case <-banner.found:
		ok = true
	case <-exited:
		early = true
	case <-ctx.Done():
	}
	_ = cmd.Process.Kill()
	<-exited
	if ok {
		return nil
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	why := fmt.Sprintf("a probe boot of %s under KVM printed no kernel banner within %v", kernels[0], timeout)
	if early {
		why = fmt.Sprintf("QEMU exited before a probe boot of %s under KVM printed a kernel banner", kernels[0])
	}
	if msg := bytes.TrimSpace(stderr.Bytes()); len(msg) > 0 {
		why += fmt.Sprintf(" (qemu: %s)", firstLine(msg))
	}
	return errors.New(why)
}

// bannerWriter collects the probe's console and closes found once the
// kernel banner appeared.
type bannerWriter struct {
	mu    sync.Mutex
	seen  []byte
	found chan struct{}
	done  bool
}

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return len(p), nil
	}
	w.seen = append(w.seen, p...)
	if bytes.Contains(w.seen, kvmBanner) {
		w.done = true
		close(w.found)
	} else if len(w.seen) > 1<<16 {
		w.seen = w.seen[len(w.seen)-len(kvmBanner):]
	}
	return len(p), nil
}

// kvmBoots runs (once) the KVM boot probe with the driver's emulator. A
// host without a kernel to probe with is trusted, as the device probe said.
func (d *Driver) kvmBoots(ctx context.Context, emulator string) error {
	kernels := d.probeKernels
	if kernels == nil {
		kernels = hostKernels
	}
	err := d.kvmBoot.check(ctx, emulator, kernels())
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errNoProbeKernel):
		d.logger.Warn("cannot check that nested KVM boots a guest; trusting the KVM device probe", "reason", err)
		return nil
	default:
		d.logger.Warn("KVM boot probe failed", "error", err)
		return err
	}
}
