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
		{"bad format", map[string]any{"image_path": "local/disk.vmdk"}, nil,
			`config.image_path "local/disk.vmdk": the disk image `},
		{"empty image", map[string]any{"image_path": "local/empty.img"}, nil,
			`config.image_path "local/empty.img": the disk image `},
		{"unreadable image", map[string]any{"image_path": "local/dir.img"}, nil,
			`config.image_path "local/dir.img": `},
		{"another user", map[string]any{"image_path": "local/disk.img"}, nil,
			`task user "nobody": the qemu driver runs QEMU as the client agent's user`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := New(Config{Emulator: emulator, KVMDevice: noKVM}, testLogger(t))
			t.Cleanup(d.Close)
			cfg := drivertest.TaskConfig(t, "vm", c.config)
			cfg.Ports = c.ports
			if c.name == "another user" {
				cfg.User = "nobody"
			}
			local := filepath.Join(cfg.TaskDir, "local")
			for name, content := range map[string][]byte{"disk.img": make([]byte, 512), "disk.vmdk": append([]byte("KDMV"), make([]byte, 508)...), "empty.img": nil} {
				if err := os.WriteFile(filepath.Join(local, name), content, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(filepath.Join(local, "dir.img"), 0o755); err != nil {
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
