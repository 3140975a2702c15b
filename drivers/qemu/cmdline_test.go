package qemu

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestVMArgs(t *testing.T) {
	base := []string{"-nographic", "-nodefaults", "-serial", "stdio", "-qmp", "unix:qmp.sock,server=on,wait=off"}
	head := func(name, accel, mem, cpus string) []string {
		return append([]string{"-name", name, "-machine", "type=pc,accel=" + accel, "-m", mem, "-smp", cpus}, base...)
	}
	net := []string{"-netdev", "user,id=user.0", "-device", "virtio-net-pci,netdev=user.0,romfile="}
	cases := []struct {
		name string
		vm   vm
		want []string
	}{
		{"disk image", vm{Name: "job.vm", Accel: "tcg", MemoryMB: 512, CPUs: 1, Image: "/t/local/disk.qcow2", ImageFormat: "qcow2", DriveInterface: "ide"},
			concat(head("job.vm", "tcg", "512M", "1"), []string{"-drive", "file=/t/local/disk.qcow2,format=qcow2,if=ide"}, net)},
		{"comma in image path is escaped", vm{Name: "v", Accel: "kvm", MemoryMB: 256, CPUs: 2, Image: "/t/a,b.img", ImageFormat: "raw", DriveInterface: "virtio"},
			concat(head("v", "kvm", "256M", "2"), []string{"-drive", "file=/t/a,,b.img,format=raw,if=virtio"}, net)},
		{"kernel boot", vm{Name: "v", Accel: "tcg", MemoryMB: 128, CPUs: 1, Kernel: "/boot/vmlinuz", Initrd: "/t/initrd", KernelArgs: "console=ttyS0 quiet"},
			concat(head("v", "tcg", "128M", "1"), []string{"-kernel", "/boot/vmlinuz", "-initrd", "/t/initrd", "-append", "console=ttyS0 quiet"}, net)},
		{"forwards and extra args", vm{Name: "v", Accel: "tcg", MemoryMB: 128, CPUs: 1, Kernel: "/k",
			Forwards:  []forward{{"tcp", "127.0.0.1", 20022, 22}, {"udp", "127.0.0.1", 20022, 22}},
			ExtraArgs: []string{"-rtc", "base=utc"}},
			concat(head("v", "tcg", "128M", "1"), []string{"-kernel", "/k",
				"-netdev", "user,id=user.0,hostfwd=tcp:127.0.0.1:20022-:22,hostfwd=udp:127.0.0.1:20022-:22",
				"-device", "virtio-net-pci,netdev=user.0,romfile=", "-rtc", "base=utc"})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if diff := cmp.Diff(c.want, c.vm.args()); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
		})
	}
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestForwards(t *testing.T) {
	ports := []structs.PortMapping{
		{Label: "web", Value: 23080, To: 8080, HostIP: "10.0.0.5"},
		{Label: "ssh", Value: 22022},
		{Label: "unmapped", Value: 24000},
	}
	cases := []struct {
		name    string
		portMap map[string]int
		want    []forward
		wantErr string
	}{
		{"port_map and to", map[string]int{"ssh": 22}, []forward{
			{"tcp", "127.0.0.1", 22022, 22}, {"udp", "127.0.0.1", 22022, 22},
			{"tcp", "10.0.0.5", 23080, 8080}, {"udp", "10.0.0.5", 23080, 8080}}, ""},
		{"port_map overrides to", map[string]int{"web": 80}, []forward{
			{"tcp", "10.0.0.5", 23080, 80}, {"udp", "10.0.0.5", 23080, 80}}, ""},
		{"label without a port", map[string]int{"rdp": 3389}, nil,
			`config.port_map: label "rdp" has no allocated port (the group's ports: ssh, unmapped, web); add port "rdp" {} to the group's network block`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := forwards(c.portMap, ports)
			wantErr(t, err, c.wantErr)
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("forwards (-want +got):\n%s", diff)
			}
		})
	}
}

func TestResources(t *testing.T) {
	cases := []struct {
		name    string
		res     *structs.AllocatedTaskResources
		mem     int64
		cpus    int
		wantErr string
	}{
		{"unset", nil, defaultMemoryMB, 1, ""},
		{"memory and cores", &structs.AllocatedTaskResources{Memory: structs.AllocatedMemoryResources{MemoryMB: 1024},
			Cpu: structs.AllocatedCpuResources{ReservedCores: []uint16{0, 1}}}, 1024, 2, ""},
		{"cpu shares give one vCPU", &structs.AllocatedTaskResources{Cpu: structs.AllocatedCpuResources{CpuShares: 4000}}, defaultMemoryMB, 1, ""},
		{"too little memory", &structs.AllocatedTaskResources{Memory: structs.AllocatedMemoryResources{MemoryMB: 8}}, 0, 1, "resources.memory = 8 MB is too small for a VM"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem, err := memoryMB(c.res)
			wantErr(t, err, c.wantErr)
			if mem != c.mem {
				t.Errorf("memoryMB = %d, want %d", mem, c.mem)
			}
			if got := vCPUs(c.res); got != c.cpus {
				t.Errorf("vCPUs = %d, want %d", got, c.cpus)
			}
		})
	}
}

func TestImageFormat(t *testing.T) {
	dir := t.TempDir()
	qcow2 := func(version byte) []byte {
		return append([]byte{'Q', 'F', 'I', 0xfb, 0, 0, 0, version}, make([]byte, 100)...)
	}
	cases := []struct {
		name    string
		content []byte
		want    string
		wantErr string
	}{
		{"qcow2", qcow2(3), "qcow2", ""},
		{"qcow2 v2", qcow2(2), "qcow2", ""},
		{"raw", make([]byte, 512), "raw", ""},
		{"tiny raw", []byte{1}, "raw", ""},
		{"empty", nil, "", "is empty (0 bytes)"},
		{"corrupt qcow2", qcow2(0), "", "header version 0 (QEMU knows 2 and 3): it is corrupt"},
		{"truncated qcow2", []byte{'Q', 'F', 'I', 0xfb, 0}, "", "truncated qcow2 image (5 bytes)"},
		{"qcow1", qcow2(1), "", "in qcow (version 1) format"},
		{"vmdk", append([]byte("KDMV"), make([]byte, 600)...), "", "in vmdk format, which the qemu driver does not run; convert it with `qemu-img convert -O qcow2"},
		{"vdi", []byte("<<< Oracle VM VirtualBox Disk Image >>>\n"), "", "in vdi format"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name)
			if err := os.WriteFile(p, c.content, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := imageFormat(p)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), p) {
					t.Fatalf("imageFormat = %q, %v; want an error naming %s and containing %q", got, err, p, c.wantErr)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("imageFormat = %q, %v; want %q", got, err, c.want)
			}
		})
	}
	if _, err := imageFormat(dir); err == nil || !strings.Contains(err.Error(), "cannot read the disk image "+dir) {
		t.Errorf("imageFormat(a directory) = %v, want a read error naming it", err)
	}
}

// TestForwardsRange: a range (count) forwards each of its ports, from the
// port_map's guest port (or to) on.
func TestForwardsRange(t *testing.T) {
	got, err := forwards(map[string]int{"rtp": 5000}, []structs.PortMapping{{Label: "rtp", Value: 20100, To: 10000, Count: 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := []forward{
		{"tcp", "127.0.0.1", 20100, 5000}, {"udp", "127.0.0.1", 20100, 5000},
		{"tcp", "127.0.0.1", 20101, 5001}, {"udp", "127.0.0.1", 20101, 5001},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forwards (-want +got):\n%s", diff)
	}
}
