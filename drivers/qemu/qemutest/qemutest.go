// Package qemutest holds helpers for tests that boot real VMs: finding QEMU
// and a kernel (skipping, or failing under NOMADLIKE_REQUIRE_ALL=1, when
// they are missing) and building a tiny busybox initramfs.
package qemutest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// Markers the test init prints on the serial console.
const (
	// BootMarker is printed once init runs.
	BootMarker = "NOMADLIKE-QEMU-BOOTED"
	// PowerButtonMarker is printed when init saw the ACPI power button.
	PowerButtonMarker = "NOMADLIKE-QEMU-POWER-BUTTON"
)

// Kernel arguments that choose what the test init does after BootMarker.
const (
	// ModeExit powers off at once (the VM exits 0).
	ModeExit = "nl.mode=exit"
	// ModeACPI waits for the ACPI power button, then powers off.
	ModeACPI = "nl.mode=acpi"
	// ModeHang waits forever, ignoring the power button.
	ModeHang = "nl.mode=hang"
)

// initScript is /init: it mounts devtmpfs, loads the power button and
// evdev modules when present, acts on nl.mode and prints BootMarker. In
// acpi mode it opens every input device before printing the marker, so a
// power-down sent once the marker is seen is never missed.
const initScript = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t devtmpfs dev /dev
$B mount -t proc proc /proc
for m in /evdev.ko /button.ko; do [ -f $m ] && $B insmod $m; done
cmdline="$($B cat /proc/cmdline)"
case "$cmdline" in
*nl.mode=acpi*)
  n=3
  for e in /dev/input/event*; do
    eval "exec $n<$e"
    ( $B head -c 1 <&$n >/dev/null; echo ` + PowerButtonMarker + ` > /dev/console; $B poweroff -f ) &
    n=$((n+1))
  done ;;
esac
echo ` + BootMarker + ` > /dev/console
case "$cmdline" in
*nl.mode=exit*) $B poweroff -f ;;
esac
while :; do $B sleep 3600; done
`

// Prereqs are the host files a boot test needs.
type Prereqs struct {
	Emulator string // qemu-system-x86_64
	Kernel   string // /boot/vmlinuz-*
	Busybox  string // a static busybox
	// Modules are button.ko and evdev.ko for the kernel (nil when absent:
	// the guest then cannot see the ACPI power button).
	Modules []string
}

// need skips the test, or fails it when NOMADLIKE_REQUIRE_ALL=1.
func need(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...) + " (scripts/test-deps.sh installs it)"
	if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
		t.Fatal(msg + "; NOMADLIKE_REQUIRE_ALL=1 makes this a failure")
	}
	t.Skip(msg)
}

// Require finds QEMU, a kernel and busybox, or skips (fails under
// NOMADLIKE_REQUIRE_ALL=1). With acpi it also requires the kernel's
// button and evdev modules, uncompressed.
func Require(t testing.TB, acpi bool) *Prereqs {
	t.Helper()
	var p Prereqs
	var err error
	if p.Emulator, err = exec.LookPath("qemu-system-x86_64"); err != nil {
		need(t, "test boots a VM and needs qemu-system-x86_64 (Debian package qemu-system-x86): %v", err)
	}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Strings(kernels)
	for _, k := range kernels {
		if f, err := os.Open(k); err == nil {
			f.Close()
			p.Kernel = k
		}
	}
	if p.Kernel == "" {
		need(t, "test boots a VM and needs a readable kernel /boot/vmlinuz-* (Debian package linux-image-cloud-amd64)")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		need(t, "test builds an initramfs from a static /bin/busybox (Debian package busybox-static): %v", err)
	}
	p.Busybox = "/bin/busybox"
	version := strings.TrimPrefix(filepath.Base(p.Kernel), "vmlinuz-")
	for _, rel := range []string{"kernel/drivers/input/evdev.ko", "kernel/drivers/acpi/button.ko"} {
		m := filepath.Join("/lib/modules", version, rel)
		if _, err := os.Stat(m); err == nil {
			p.Modules = append(p.Modules, m)
		}
	}
	if acpi && len(p.Modules) != 2 {
		need(t, "test needs the uncompressed evdev.ko and button.ko of kernel %s under /lib/modules so the guest sees the ACPI power button", version)
	}
	return &p
}

// Initramfs writes an uncompressed newc cpio initramfs with busybox, the
// test init and the modules to dir/initramfs.cpio and returns its path.
func Initramfs(t testing.TB, p *Prereqs, dir string) string {
	t.Helper()
	var w cpioWriter
	w.dir("bin")
	w.dir("dev")
	w.dir("proc")
	w.node("dev/console", 0o020600, 5, 1)
	bb, err := os.ReadFile(p.Busybox)
	if err != nil {
		t.Fatalf("read busybox: %v", err)
	}
	w.file("bin/busybox", 0o755, bb)
	w.file("init", 0o755, []byte(initScript))
	for _, m := range p.Modules {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatalf("read module: %v", err)
		}
		w.file(filepath.Base(m), 0o644, b)
	}
	path := filepath.Join(dir, "initramfs.cpio")
	if err := os.WriteFile(path, w.finish(), 0o644); err != nil {
		t.Fatalf("write initramfs: %v", err)
	}
	return path
}

// cpioWriter writes the newc ("070701") cpio format the kernel unpacks.
type cpioWriter struct {
	buf bytes.Buffer
	ino int
}

func (w *cpioWriter) header(name string, mode uint32, size int, rmaj, rmin int) {
	w.ino++
	nlink := 1
	if mode&0o170000 == 0o040000 {
		nlink = 2
	}
	fmt.Fprintf(&w.buf, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		w.ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin, len(name)+1, 0)
	w.buf.WriteString(name)
	w.buf.WriteByte(0)
	w.pad()
}

func (w *cpioWriter) pad() {
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
}

func (w *cpioWriter) dir(name string) { w.header(name, 0o040755, 0, 0, 0) }

func (w *cpioWriter) node(name string, mode uint32, rmaj, rmin int) {
	w.header(name, mode, 0, rmaj, rmin)
}

func (w *cpioWriter) file(name string, perm uint32, data []byte) {
	w.header(name, 0o100000|perm, len(data), 0, 0)
	w.buf.Write(data)
	w.pad()
}

func (w *cpioWriter) finish() []byte {
	w.header("TRAILER!!!", 0, 0, 0, 0)
	return w.buf.Bytes()
}
