package qemu

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Defaults for resources a task leaves zero.
const (
	defaultMemoryMB = 256
	minMemoryMB     = 16
)

// qmpSocketName is the QMP socket's name in the task dir. QEMU runs with
// the task dir as its working dir and gets this relative name, so the path
// it binds is short whatever the task dir's length.
const qmpSocketName = "qmp.sock"

// forward is one user-mode networking host forward.
type forward struct {
	Proto     string // "tcp" or "udp"
	HostIP    string
	HostPort  int
	GuestPort int
}

// vm is everything that shapes the qemu command line. It is built from the
// task config after every path and policy check, so args is a pure function.
type vm struct {
	Name     string
	Accel    string
	MemoryMB int64
	CPUs     int
	// Image is the absolute path of the disk image; ImageFormat "qcow2" or "raw".
	Image          string
	ImageFormat    string
	DriveInterface string
	Kernel         string
	Initrd         string
	KernelArgs     string
	Forwards       []forward
	ExtraArgs      []string
}

// args returns qemu's arguments (without argv[0]).
func (v *vm) args() []string {
	a := []string{
		"-name", v.Name,
		"-machine", "type=pc,accel=" + v.Accel,
		"-m", strconv.FormatInt(v.MemoryMB, 10) + "M",
		"-smp", strconv.Itoa(v.CPUs),
		// The serial console is the task's stdout; no display, no monitor,
		// only the devices asked for here.
		"-nographic", "-nodefaults",
		"-serial", "stdio",
		"-qmp", "unix:" + qmpSocketName + ",server=on,wait=off",
	}
	if v.Image != "" {
		a = append(a, "-drive", "file="+escapeOpt(v.Image)+",format="+v.ImageFormat+",if="+v.DriveInterface)
	}
	if v.Kernel != "" {
		a = append(a, "-kernel", v.Kernel)
		if v.Initrd != "" {
			a = append(a, "-initrd", v.Initrd)
		}
		if v.KernelArgs != "" {
			a = append(a, "-append", v.KernelArgs)
		}
	}
	netdev := "user,id=user.0"
	for _, f := range v.Forwards {
		netdev += fmt.Sprintf(",hostfwd=%s:%s:%d-:%d", f.Proto, f.HostIP, f.HostPort, f.GuestPort)
	}
	a = append(a, "-netdev", netdev, "-device", "virtio-net-pci,netdev=user.0,romfile=")
	return append(a, v.ExtraArgs...)
}

// escapeOpt escapes a value inside a QEMU option string, where a comma
// separates options and ",," is a literal comma.
func escapeOpt(s string) string { return strings.ReplaceAll(s, ",", ",,") }

// forwards maps the allocation's ports to guest ports: a label in portMap
// forwards to that guest port; a port with a "to" value but no port_map
// entry forwards to its "to". Each forward covers TCP and UDP; a range
// (count) forwards each of its ports to the guest ports from there. A port_map
// label without an allocated port is an error.
func forwards(portMap map[string]int, ports []structs.PortMapping) ([]forward, error) {
	byLabel := map[string]structs.PortMapping{}
	for _, p := range ports {
		byLabel[p.Label] = p
	}
	var missing []string
	for label := range portMap {
		if _, ok := byLabel[label]; !ok {
			missing = append(missing, label)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		have := make([]string, 0, len(byLabel))
		for l := range byLabel {
			have = append(have, l)
		}
		sort.Strings(have)
		return nil, fmt.Errorf(`config.port_map: label %q has no allocated port (the group's ports: %s); add port "%s" {} to the group's network block, or remove it from port_map`,
			missing[0], orNone(have), missing[0])
	}
	var out []forward
	sorted := append([]structs.PortMapping(nil), ports...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Label < sorted[j].Label })
	for _, p := range sorted {
		guest, ok := portMap[p.Label]
		if !ok {
			guest = p.To
		}
		if guest <= 0 || p.Value <= 0 {
			continue
		}
		ip := p.HostIP
		if ip == "" {
			ip = "127.0.0.1"
		}
		for i := range p.Span() { // a range forwards port by port
			for _, proto := range []string{"tcp", "udp"} {
				out = append(out, forward{Proto: proto, HostIP: ip, HostPort: p.Value + i, GuestPort: guest + i})
			}
		}
	}
	return out, nil
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// vCPUs is the number of reserved cores, or 1.
func vCPUs(r *structs.AllocatedTaskResources) int {
	if r != nil && len(r.Cpu.ReservedCores) > 0 {
		return len(r.Cpu.ReservedCores)
	}
	return 1
}

// memoryMB is the task's memory in MB, defaultMemoryMB when unset.
func memoryMB(r *structs.AllocatedTaskResources) (int64, error) {
	if r == nil || r.Memory.MemoryMB == 0 {
		return defaultMemoryMB, nil
	}
	if r.Memory.MemoryMB < minMemoryMB {
		return 0, fmt.Errorf("resources.memory = %d MB is too small for a VM; give it at least %d MB", r.Memory.MemoryMB, minMemoryMB)
	}
	return r.Memory.MemoryMB, nil
}

// guestName is a QEMU -name for the task: job.task, with commas (QEMU's
// option separator) replaced.
func guestName(job, task string) string {
	n := task
	if job != "" {
		n = job + "." + task
	}
	return strings.ReplaceAll(n, ",", "_")
}
