package qemu

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestParseConfig(t *testing.T) {
	cases := []struct {
		name    string
		cfg     map[string]any
		want    *taskConfig
		wantErr string
	}{
		{"image", map[string]any{"image_path": "local/disk.qcow2"},
			&taskConfig{ImagePath: "local/disk.qcow2", DriveInterface: "ide"}, ""},
		{"kernel boot, HCL types", map[string]any{
			"kernel": "local/vmlinuz", "initrd": "local/initrd", "kernel_args": "console=ttyS0",
			"accelerator": "tcg", "graceful_shutdown": true, "args": []any{"-rtc", "base=utc"},
			"port_map": map[string]any{"ssh": 22, "web": 80.0}, "drive_interface": "virtio"},
			&taskConfig{Kernel: "local/vmlinuz", Initrd: "local/initrd", KernelArgs: "console=ttyS0", Accelerator: "tcg",
				GracefulShutdown: true, Args: []string{"-rtc", "base=utc"}, PortMap: map[string]int{"ssh": 22, "web": 80}, DriveInterface: "virtio"}, ""},
		{"port_map block form and interpolated values", map[string]any{"image_path": "d.img",
			"port_map": []any{map[string]any{"ssh": "22"}, map[string]any{"dns": 53}}, "graceful_shutdown": "true"},
			&taskConfig{ImagePath: "d.img", DriveInterface: "ide", PortMap: map[string]int{"ssh": 22, "dns": 53}, GracefulShutdown: true}, ""},
		{"neither image nor kernel", map[string]any{}, nil, "config.image_path: required"},
		{"initrd without kernel", map[string]any{"image_path": "d", "initrd": "i"}, nil, "config.initrd: needs kernel"},
		{"kernel_args without kernel", map[string]any{"image_path": "d", "kernel_args": "x"}, nil, "config.kernel_args: needs kernel"},
		{"unknown accelerator", map[string]any{"image_path": "d", "accelerator": "hvf"}, nil, `config.accelerator: unknown accelerator "hvf": use "kvm"`},
		{"unknown drive interface", map[string]any{"image_path": "d", "drive_interface": "nvme"}, nil, `config.drive_interface: unknown interface "nvme"`},
		{"image not string", map[string]any{"image_path": 3}, nil, "config.image_path: must be a string, got int"},
		{"args not list", map[string]any{"image_path": "d", "args": "-rtc"}, nil, "config.args: must be a list of strings"},
		{"graceful not bool", map[string]any{"image_path": "d", "graceful_shutdown": "maybe"}, nil, "config.graceful_shutdown: must be true or false"},
		{"port out of range", map[string]any{"image_path": "d", "port_map": map[string]any{"ssh": 70000}}, nil, `config.port_map: label "ssh": guest port must be a number from 1 to 65535`},
		{"port_map not a map", map[string]any{"image_path": "d", "port_map": "ssh=22"}, nil, "config.port_map: must map port labels to guest ports"},
		{"unknown key", map[string]any{"image_path": "d", "imagepath": "x"}, nil, "config.imagepath: unknown key: the qemu driver accepts image_path, "},
		{"nomad key not supported", map[string]any{"image_path": "d", "guest_agent": true}, nil, "config.guest_agent: the QEMU guest agent channel is not supported"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseConfig(c.cfg)
			wantErr(t, err, c.wantErr)
			if c.wantErr != "" {
				var ve *structs.ValidationError
				if !errors.As(err, &ve) {
					t.Errorf("error %T is not a *structs.ValidationError", err)
				}
				return
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("parseConfig (-want +got):\n%s", diff)
			}
		})
	}
}
