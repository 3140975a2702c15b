package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/drivers/qemu/qemutest"
)

// script writes an executable shell script standing in for QEMU.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestKVMBootProbe(t *testing.T) {
	kernels := []string{"/boot/vmlinuz-test"}
	cases := []struct {
		name     string
		emulator string
		kernels  []string
		wantErr  string
	}{
		{"boots", script(t, `echo "Booting"; echo "[    0.000000] Linux version 6.1.0 (fake)"; exec sleep 30`), kernels, ""},
		{"hangs", script(t, `echo "Probing EDD"; exec sleep 30`), kernels, "printed no kernel banner within"},
		{"fails", script(t, `echo "Could not access KVM kernel module: No such file" >&2; exit 1`), kernels, "QEMU exited before a probe boot of /boot/vmlinuz-test under KVM printed a kernel banner (qemu: Could not access KVM kernel module"},
		{"no kernel", script(t, `exit 0`), nil, errNoProbeKernel.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			began := time.Now()
			err := kvmBootProbe(context.Background(), c.emulator, c.kernels, 2*time.Second)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("kvmBootProbe = %v, want nil", err)
				}
				if took := time.Since(began); took > 10*time.Second {
					t.Errorf("a successful probe took %v: it must stop QEMU once the banner appears", took)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("kvmBootProbe = %v, want an error containing %q", err, c.wantErr)
			}
		})
	}
}

// TestKVMAskedWhereItDoesNotBoot runs where /dev/kvm passes the device probe
// on a host that is itself a VM, but a real guest does not boot under KVM
// (this project's CI host: a paravirtual KVM). A task asking for KVM is
// refused before QEMU runs, naming the problem and the fix.
func TestKVMAskedWhereItDoesNotBoot(t *testing.T) {
	p := qemutest.Require(t, false)
	d := New(Config{ImagePaths: []string{filepath.Dir(p.Kernel)}}, testLogger(t))
	t.Cleanup(d.Close)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	fp := d.probe(ctx)
	if !fp.KVM || !fp.Nested {
		t.Skipf("needs a host that is a VM with a /dev/kvm passing the device probe (kvm %v, nested %v)", fp.KVM, fp.Nested)
	}
	if err := d.kvmBoots(ctx, fp.Emulator); err == nil {
		t.Skip("nested KVM boots a guest on this host; nothing to refuse")
	}
	cfg := drivertest.TaskConfig(t, "vm", map[string]any{"kernel": p.Kernel, "accelerator": "kvm"})
	_, err := d.StartTask(ctx, cfg)
	wantErr(t, err, `config.accelerator = "kvm" but KVM does not boot a guest on this node`)
	if !strings.Contains(err.Error(), `use accelerator = "tcg"`) {
		t.Errorf("error %q does not say what to do", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.StateDir, "spec.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a supervisor spec was written: the VM was launched despite the refusal")
	}
}
