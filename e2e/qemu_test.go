package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// qemuMarker is what the guest's init prints on the serial console.
const qemuMarker = "NOMADLIKE-E2E-VM-SAYS-HELLO"

// qemuJob boots the host kernel (allowed by image_paths) with an initramfs
// fetched by an artifact block, checksum verified.
const qemuJob = `
job "e2e-vm" {
  datacenters = ["*"]
  type        = "batch"

  group "vm" {
    restart {
      attempts = 0
      mode     = "fail"
    }

    task "vm" {
      driver = "qemu"

      artifact {
        source = %q
        options {
          checksum = "sha256:%s"
        }
      }

      config {
        kernel      = %q
        initrd      = "local/initramfs.cpio"
        kernel_args = "console=ttyS0 quiet panic=-1"
        accelerator = "tcg"
        args        = ["-no-reboot"]
      }

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
`

// requireQEMU returns the host kernel, skipping (or failing under
// NOMADLIKE_REQUIRE_ALL=1) when QEMU, a kernel or busybox is missing.
func requireQEMU(t *testing.T) string {
	t.Helper()
	need := func(what string) {
		msg := "test boots a VM and needs " + what + " (scripts/test-deps.sh installs it)"
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal(msg + "; NOMADLIKE_REQUIRE_ALL=1 makes this a failure")
		}
		t.Skip(msg)
	}
	if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
		need("qemu-system-x86_64")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		need("a static /bin/busybox")
	}
	kernels, _ := filepath.Glob("/boot/vmlinuz-*")
	sort.Strings(kernels)
	for i := len(kernels) - 1; i >= 0; i-- {
		if f, err := os.Open(kernels[i]); err == nil {
			f.Close()
			return kernels[i]
		}
	}
	need("a readable kernel /boot/vmlinuz-*")
	return ""
}

// cpioArchive builds a newc cpio archive in memory.
type cpioArchive struct {
	buf bytes.Buffer
	ino int
}

// entry appends one file, directory or device node (rmaj:rmin) to a.
func (a *cpioArchive) entry(name string, mode uint32, data []byte, rmaj, rmin int) {
	a.ino++
	fmt.Fprintf(&a.buf, "070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		a.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rmaj, rmin, len(name)+1, 0)
	a.buf.WriteString(name + "\x00")
	a.pad()
	a.buf.Write(data)
	a.pad()
}

func (a *cpioArchive) pad() {
	for a.buf.Len()%4 != 0 {
		a.buf.WriteByte(0)
	}
}

// writeFile appends the trailer, writes the archive to path and returns it.
func (a *cpioArchive) writeFile(t *testing.T, path string) []byte {
	t.Helper()
	a.entry("TRAILER!!!", 0, nil, 0, 0)
	if err := os.WriteFile(path, a.buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return a.buf.Bytes()
}

// buildInitramfs writes a newc cpio with busybox and an init that prints
// qemuMarker and powers off.
func buildInitramfs(t *testing.T, path string) []byte {
	t.Helper()
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	var a cpioArchive
	a.entry("bin", 0o040755, nil, 0, 0)
	a.entry("dev", 0o040755, nil, 0, 0)
	a.entry("dev/console", 0o020600, nil, 5, 1)
	a.entry("bin/busybox", 0o100755, bb, 0, 0)
	a.entry("init", 0o100755, []byte("#!/bin/busybox sh\necho "+qemuMarker+" > /dev/console\n/bin/busybox poweroff -f\n"), 0, 0)
	return a.writeFile(t, path)
}

// TestQEMUJob runs a VM job through the CLI on a dev agent whose qemu
// plugin allows the host kernel's directory, and reads the guest's serial
// console through `alloc logs`.
func TestQEMUJob(t *testing.T) {
	kernel := requireQEMU(t)
	dir := t.TempDir()
	a := startAgent(t, agentOpts{dev: true, extra: fmt.Sprintf(`
plugin "qemu" {
  config {
    image_paths    = [%q]
    args_allowlist = ["-no-reboot"]
  }
}
client {
  artifact {
    filesystem_isolation_extra_paths = ["d:r:%s"]
  }
}
`, filepath.Dir(kernel), dir)})
	initrd := filepath.Join(dir, "initramfs.cpio")
	sum := sha256.Sum256(buildInitramfs(t, initrd))
	writeFile(t, dir, "vm.nomad.hcl", fmt.Sprintf(qemuJob, initrd, hex.EncodeToString(sum[:]), kernel))

	out, code := a.cli(dir, "job", "run", "vm.nomad.hcl")
	if code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	var alloc *structs.AllocListStub
	waitFor(t, 90*time.Second, "the VM allocation to complete", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, "e2e-vm", nil)
		if err != nil || len(allocs) == 0 {
			return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
		}
		alloc = allocs[0]
		if alloc.ClientStatus == structs.AllocClientStatusFailed {
			t.Fatalf("VM allocation failed: %+v", alloc.TaskStates)
		}
		return alloc.ClientStatus == structs.AllocClientStatusComplete, alloc.ClientStatus
	})
	out, code = a.cli(dir, "alloc", "logs", alloc.ID[:8])
	if code != 0 || !strings.Contains(out, qemuMarker) {
		t.Fatalf("alloc logs exited %d; want the guest's %q in:\n%s", code, qemuMarker, out)
	}
	if ts := alloc.TaskStates["vm"]; ts == nil || ts.Failed {
		t.Errorf("task state = %+v, want the VM task to have succeeded", ts)
	}
}
