package qemu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// defaultEmulator is the QEMU binary the driver runs.
const defaultEmulator = "qemu-system-x86_64"

// versionTimeout bounds `qemu-system-x86_64 --version`.
const versionTimeout = 10 * time.Second

// fingerprint is what the driver learned about the host.
type fingerprint struct {
	// Emulator is the absolute path of the QEMU binary; "" when missing.
	Emulator string
	Version  string
	// Problem says why the driver cannot run VMs ("" when it can).
	Problem string
	// KVM reports whether the KVM probe passed; KVMProblem says why not.
	KVM        bool
	KVMProblem string
	// Nested reports that this host is itself a VM (CPUID hypervisor flag).
	Nested bool
	// stamp identifies the binary the version came from.
	stamp string
}

// defaultAccel is the accelerator used when a task names none: kvm only
// when the probe passed and the host is not itself a guest, where KVM can
// pass the probe yet fail to boot real guests.
func (f *fingerprint) defaultAccel() string {
	if f.KVM && !f.Nested {
		return accelKVM
	}
	return accelTCG
}

// info renders the fingerprint as the driver's node attributes.
func (f *fingerprint) info() *structs.DriverInfo {
	info := &structs.DriverInfo{Attributes: map[string]string{}, UpdateTime: time.Now()}
	if f.Emulator == "" || f.Problem != "" {
		info.Detected = f.Emulator != ""
		info.HealthDescription = f.Problem
		return info
	}
	info.Detected, info.Healthy, info.HealthDescription = true, true, "Healthy"
	info.Attributes["driver.qemu"] = "1"
	info.Attributes["driver.qemu.version"] = f.Version
	info.Attributes["driver.qemu.kvm"] = fmt.Sprint(f.KVM)
	info.Attributes["driver.qemu.accelerator"] = f.defaultAccel()
	return info
}

// probeEmulator finds the QEMU binary (name looked up in PATH unless it has
// a slash) and asks it for its version; prev is reused when the binary is
// unchanged.
func probeEmulator(ctx context.Context, name string, prev *fingerprint) *fingerprint {
	f := &fingerprint{}
	path, err := exec.LookPath(name)
	if err != nil {
		f.Problem = fmt.Sprintf("%s not found (%v): install QEMU (Debian: apt-get install qemu-system-x86) to run qemu tasks on this node", name, err)
		return f
	}
	f.Emulator = path
	fi, err := os.Stat(path)
	if err != nil {
		f.Problem = fmt.Sprintf("stat %s: %v", path, err)
		return f
	}
	f.stamp = fmt.Sprintf("%s %d %d", path, fi.Size(), fi.ModTime().UnixNano())
	if prev != nil && prev.stamp == f.stamp && prev.Problem == "" {
		f.Version = prev.Version
		return f
	}
	ctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		f.Problem = fmt.Sprintf("%s --version failed (%v): %s; reinstall QEMU", path, err, strings.TrimSpace(string(out)))
		return f
	}
	v, ok := parseVersion(out)
	if !ok {
		f.Problem = fmt.Sprintf("%s --version printed %q, which names no QEMU version; is it QEMU?", path, firstLine(out))
		return f
	}
	f.Version = v
	return f
}

var versionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^QEMU emulator version (\d+\.\d+\.\d+)`)
})

// parseVersion extracts "7.2.22" from QEMU's --version output.
func parseVersion(out []byte) (string, bool) {
	m := versionRE().FindSubmatch(out)
	if m == nil {
		return "", false
	}
	return string(m[1]), true
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	return string(line)
}

// isNested reports whether this host runs under a hypervisor, from the
// CPUID hypervisor flag the kernel lists in /proc/cpuinfo.
func isNested(cpuinfo []byte) bool {
	for _, line := range strings.Split(string(cpuinfo), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == "flags" {
			return slices.Contains(strings.Fields(v), "hypervisor")
		}
	}
	return false
}

// KVM ioctls and constants (linux/kvm.h).
const (
	kvmGetAPIVersion       = 0xAE00
	kvmCreateVM            = 0xAE01
	kvmGetVCPUMmapSize     = 0xAE04
	kvmCreateVCPU          = 0xAE41
	kvmSetUserMemoryRegion = 0x4020AE46
	kvmRun                 = 0xAE80
	kvmAPIVersion          = 12
	kvmExitHLT             = 5
)

// kvmMemoryRegion is struct kvm_userspace_memory_region.
type kvmMemoryRegion struct {
	Slot          uint32
	Flags         uint32
	GuestPhysAddr uint64
	MemorySize    uint64
	UserspaceAddr uint64
}

// probeKVM checks that KVM really runs guest code: it opens dev, checks the
// API version, creates a VM with one vCPU whose reset vector (0xFFFFFFF0)
// holds a HLT instruction, runs it, and expects a HLT exit. It returns nil
// when all of that worked, otherwise what failed and what to do.
func probeKVM(dev string) error {
	fd, err := syscall.Open(dev, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return fmt.Errorf("%s does not exist: load the kvm module (kvm_intel or kvm_amd) or enable virtualisation for this host", dev)
		}
		return fmt.Errorf("open %s: %w (the agent needs read-write access to it)", dev, err)
	}
	defer syscall.Close(fd)
	v, err := ioctl(fd, kvmGetAPIVersion, 0)
	if err != nil {
		return fmt.Errorf("KVM_GET_API_VERSION on %s: %w", dev, err)
	}
	if v != kvmAPIVersion {
		return fmt.Errorf("%s speaks KVM API version %d, want %d", dev, v, kvmAPIVersion)
	}
	vmfd, err := ioctl(fd, kvmCreateVM, 0)
	if err != nil {
		return fmt.Errorf("KVM_CREATE_VM on %s: %w (is virtualisation enabled, and not taken by another hypervisor?)", dev, err)
	}
	defer syscall.Close(int(vmfd))

	const memSize = 0x10000
	mem, err := syscall.Mmap(-1, 0, memSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED|syscall.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("KVM probe: map guest memory: %w", err)
	}
	defer syscall.Munmap(mem)
	mem[0xFFF0] = 0xF4 // hlt, at the reset vector 0xFFFF0000+0xFFF0
	region := kvmMemoryRegion{GuestPhysAddr: 0xFFFF0000, MemorySize: memSize, UserspaceAddr: uint64(uintptr(unsafe.Pointer(&mem[0])))}
	if _, err := ioctl(int(vmfd), kvmSetUserMemoryRegion, uintptr(unsafe.Pointer(&region))); err != nil {
		return fmt.Errorf("KVM_SET_USER_MEMORY_REGION: %w", err)
	}
	cpufd, err := ioctl(int(vmfd), kvmCreateVCPU, 0)
	if err != nil {
		return fmt.Errorf("KVM_CREATE_VCPU: %w", err)
	}
	defer syscall.Close(int(cpufd))
	size, err := ioctl(fd, kvmGetVCPUMmapSize, 0)
	if err != nil {
		return fmt.Errorf("KVM_GET_VCPU_MMAP_SIZE: %w", err)
	}
	run, err := syscall.Mmap(int(cpufd), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("KVM probe: map the vCPU's run area: %w", err)
	}
	defer syscall.Munmap(run)
	if _, err := ioctl(int(cpufd), kvmRun, 0); err != nil {
		return fmt.Errorf("KVM_RUN of a one-instruction guest: %w", err)
	}
	// struct kvm_run: u8 request_interrupt_window, u8 immediate_exit, u8 padding[6], u32 exit_reason.
	if reason := *(*uint32)(unsafe.Pointer(&run[8])); reason != kvmExitHLT {
		return fmt.Errorf("KVM ran a one-instruction guest but it exited with reason %d, not HLT (%d): KVM here cannot run guests", reason, kvmExitHLT)
	}
	return nil
}

func ioctl(fd int, req, arg uintptr) (uintptr, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, arg)
	if errno != 0 {
		return 0, errno
	}
	return r, nil
}
