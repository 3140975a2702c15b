package qemu

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestStartTaskRefuses checks that every bad input fails StartTask before
// QEMU runs, with an error naming the thing and the fix.
func TestStartTaskRefuses(t *testing.T) {
	hostDir := t.TempDir()
	hostImage := filepath.Join(hostDir, "disk.img")
	if err := os.WriteFile(hostImage, make([]byte, 512), 0o644); err != nil {
		t.Fatal(err)
	}
	emulator := fakeEmulator(t, "7.2.22")
	noKVM := filepath.Join(t.TempDir(), "kvm")
	cases := []struct {
		name    string
		config  map[string]any
		ports   []structs.PortMapping
		wantErr string
	}{
		{"missing image", map[string]any{"image_path": "local/disk.qcow2"}, nil,
			`config.image_path "local/disk.qcow2": `},
		{"host path not allowed", map[string]any{"image_path": hostImage}, nil,
			`plugin "qemu" { config { image_paths = ["` + hostDir + `"] } }`},
		{"missing kernel", map[string]any{"kernel": "local/vmlinuz"}, nil, `config.kernel "local/vmlinuz": `},
		{"kvm without kvm", map[string]any{"image_path": "local/disk.img", "accelerator": "kvm"}, nil,
			`config.accelerator = "kvm" but KVM is not usable on this node (` + noKVM + ` does not exist`},
		{"unknown accelerator", map[string]any{"image_path": "local/disk.img", "accelerator": "xen"}, nil,
			`config.accelerator: unknown accelerator "xen"`},
		{"args not allowed", map[string]any{"image_path": "local/disk.img", "args": []any{"-drive", "file=/etc/shadow"}}, nil,
			"config.args: flag -drive not allowed"},
		{"port label without port", map[string]any{"image_path": "local/disk.img", "port_map": map[string]any{"ssh": 22}}, nil,
			`config.port_map: label "ssh" has no allocated port`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := New(Config{Emulator: emulator, KVMDevice: noKVM}, testLogger(t))
			t.Cleanup(d.Close)
			cfg := drivertest.TaskConfig(t, "vm", c.config)
			cfg.Ports = c.ports
			if err := os.WriteFile(filepath.Join(cfg.TaskDir, "local", "disk.img"), make([]byte, 512), 0o644); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h, err := d.StartTask(ctx, cfg)
			wantErr(t, err, c.wantErr)
			if h != nil {
				t.Errorf("StartTask returned a handle with its error")
			}
			if _, err := os.Stat(filepath.Join(cfg.StateDir, "spec.json")); err == nil {
				t.Errorf("a supervisor spec was written: the task was launched despite the error")
			}
		})
	}
}
