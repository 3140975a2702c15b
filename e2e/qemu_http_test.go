package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Markers of the HTTP guest.
const (
	httpGuestReady = "NOMADLIKE-E2E-HTTPD-READY"
	httpGuestPage  = "hello from the nomadlike guest"
)

// httpInit is the guest's /init: it loads the virtio network driver, takes
// the address QEMU's user-mode network gives guests, serves /www with
// busybox httpd on port 80 and prints httpGuestReady.
const httpInit = `#!/bin/busybox sh
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sys /sys
$B mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net; do
  [ -f /mod/$m.ko ] && $B insmod /mod/$m.ko > /dev/console 2>&1
done
$B ip link set lo up
$B ip link set eth0 up
$B ip addr add 10.0.2.15/24 dev eth0
$B ip route add default via 10.0.2.2
$B mkdir -p /www
echo "` + httpGuestPage + `" > /www/index.html
$B httpd -f -p 80 -h /www &
$B ip addr show eth0 > /dev/console 2>&1
echo ` + httpGuestReady + ` > /dev/console
while :; do $B sleep 3600; done
`

// httpGuestModules are the kernel modules the guest needs for virtio-net,
// in load order.
var httpGuestModules = []string{
	"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
	"kernel/drivers/virtio/virtio_pci_legacy_dev.ko", "kernel/drivers/virtio/virtio_pci_modern_dev.ko",
	"kernel/drivers/virtio/virtio_pci.ko", "kernel/net/core/failover.ko",
	"kernel/drivers/net/net_failover.ko", "kernel/drivers/net/virtio_net.ko",
}

// buildHTTPInitramfs writes a newc cpio with busybox, httpInit and the
// virtio-net modules of kernel (skipping when they are missing or compressed).
func buildHTTPInitramfs(t *testing.T, kernel, path string) []byte {
	t.Helper()
	version := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
	var mods [][2]string
	for _, rel := range httpGuestModules {
		p := filepath.Join("/lib/modules", version, rel)
		if _, err := os.Stat(p); err != nil {
			// Built into the kernel, or compressed: modules.builtin tells.
			if builtin, _ := os.ReadFile(filepath.Join("/lib/modules", version, "modules.builtin")); bytes.Contains(builtin, []byte(rel)) {
				continue
			}
			msg := fmt.Sprintf("the guest needs %s of kernel %s, uncompressed (Debian's linux-image-cloud-amd64 has it)", rel, version)
			if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		mods = append(mods, [2]string{p, "mod/" + strings.TrimSuffix(filepath.Base(rel), ".ko") + ".ko"})
	}
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	var a cpioArchive
	for _, d := range []string{"bin", "dev", "proc", "sys", "mod"} {
		a.entry(d, 0o040755, nil, 0, 0)
	}
	a.entry("dev/console", 0o020600, nil, 5, 1)
	a.entry("bin/busybox", 0o100755, bb, 0, 0)
	a.entry("init", 0o100755, []byte(httpInit), 0, 0)
	for _, m := range mods {
		b, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		a.entry(m[1], 0o100644, b, 0, 0)
	}
	return a.writeFile(t, path)
}

// qemuHTTPJob boots the host kernel with the HTTP initramfs, letting the
// node choose the accelerator, and forwards the allocated port "http" to
// the guest's port 80.
const qemuHTTPJob = `
job "e2e-vm-http" {
  datacenters = ["*"]
  type        = "service"

  group "vm" {
    network {
      port "http" {}
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
        port_map    = { http = 80 }
      }

      env {
        E2E_RUN = "%s"
      }

      kill_timeout = "2s"

      resources {
        cpu    = 500
        memory = 256
      }
    }
  }
}
`

// TestQEMUServesHTTP runs a VM job whose guest serves a page with busybox
// httpd, fetches the page from the host through the forwarded port, logs
// which accelerator ran, kills the client agent with SIGKILL (the VM keeps
// serving) and restarts it (it re-attaches to the same QEMU), reads the
// VM's resource usage through the API, and stops the job leaving no QEMU
// process.
func TestQEMUServesHTTP(t *testing.T) {
	kernel := requireQEMU(t)
	killLeftovers(t) // a failed run must not leave its VM running
	dir := t.TempDir()
	a := startAgent(t, agentOpts{extra: fmt.Sprintf(`
plugin "qemu" {
  config {
    image_paths = [%q]
  }
}
`, filepath.Dir(kernel)), clientExtra: fmt.Sprintf(`
  artifact {
    filesystem_isolation_extra_paths = ["d:r:%s"]
  }`, dir)})
	initrd := filepath.Join(dir, "initramfs.cpio")
	sum := sha256.Sum256(buildHTTPInitramfs(t, kernel, initrd))
	writeFile(t, dir, "vm.nomad.hcl", fmt.Sprintf(qemuHTTPJob, initrd, hex.EncodeToString(sum[:]), kernel, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "vm.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	allocID := runningAlloc(t, a, "e2e-vm-http")
	began := time.Now()
	console := filepath.Join(a.dataDir, "alloc", allocID, "alloc", "logs", "vm.stdout.0")
	waitFor(t, 120*time.Second, "the guest's httpd to start", func() (bool, string) {
		b, _ := os.ReadFile(console)
		return strings.Contains(string(b), httpGuestReady), "serial console so far: " + string(b)
	})
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(console)
			t.Logf("guest serial console:\n%s", b)
		}
	}()
	t.Logf("VM running to guest httpd ready: %v", time.Since(began))

	ctx, cancel := ctx10s()
	al, _, err := a.api().Allocation(ctx, allocID, nil)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	var port structs.PortMapping
	if al.AllocatedResources != nil {
		for _, p := range al.AllocatedResources.Shared.Ports {
			if p.Label == "http" {
				port = p
			}
		}
	}
	if port.Value == 0 {
		t.Fatalf("allocation has no http port: %+v", al.AllocatedResources)
	}
	host := port.HostIP
	if host == "" || host == "0.0.0.0" {
		host = "127.0.0.1"
	}
	url := fmt.Sprintf("http://%s:%d/", host, port.Value)
	body := fetchGuestPage(t, url)
	t.Logf("fetched %s from the guest: %q", url, strings.TrimSpace(body))
	accel, qemuPID := qemuAccelerator(t, allocID)
	t.Logf("accelerator that ran: %s (qemu pid %d)", accel, qemuPID)

	// The client agent dies; the VM keeps serving, and the restarted agent
	// re-attaches to the same QEMU process.
	a.kill()
	fetchGuestPage(t, url)
	a.start()
	waitFor(t, 60*time.Second, "the re-attached VM to be reported running", func() (bool, string) {
		live := liveAllocs(t, a, "e2e-vm-http")
		if len(live) != 1 || live[0].ID != allocID {
			return false, fmt.Sprintf("%d live allocations", len(live))
		}
		return live[0].ClientStatus == structs.AllocClientStatusRunning, live[0].ClientStatus
	})
	if _, pid := qemuAccelerator(t, allocID); pid != qemuPID {
		t.Fatalf("after the agent restart QEMU is pid %d, want the same pid %d (re-attached, not restarted)", pid, qemuPID)
	}
	fetchGuestPage(t, url)

	// The restarted client answers for the allocation once it re-attached.
	waitFor(t, 30*time.Second, "the re-attached VM's resource usage in alloc status -stats", func() (bool, string) {
		out, code := a.cli(dir, "alloc", "status", "-stats", allocID[:8])
		return code == 0 && strings.Contains(out, "Memory Stats") && strings.Contains(out, "CPU Stats"), out
	})
	if _, pid := qemuAccelerator(t, allocID); pid != qemuPID {
		t.Fatalf("after the re-attach QEMU is pid %d, want the same pid %d", pid, qemuPID)
	}

	if out, code := a.cli(dir, "job", "stop", "e2e-vm-http"); code != 0 {
		t.Fatalf("job stop exited %d:\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "the VM to stop and QEMU to exit", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		al, _, err := a.api().Allocation(ctx, allocID, nil)
		if err != nil {
			return false, err.Error()
		}
		pids := procsWithEnv("NOMAD_ALLOC_ID", allocID)
		return al.ClientTerminalStatus() && len(pids) == 0, fmt.Sprintf("client status %s, pids %v", al.ClientStatus, pids)
	})
}

// fetchGuestPage waits for the guest's page at url and returns it.
func fetchGuestPage(t *testing.T, url string) string {
	t.Helper()
	var body string
	waitFor(t, 60*time.Second, "the guest's page through the forwarded port "+url, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK && strings.Contains(body, httpGuestPage), fmt.Sprintf("%s: %q", resp.Status, body)
	})
	return body
}

// qemuAccelerator finds the allocation's QEMU process and reads the
// accelerator from its command line ("-machine type=pc,accel=tcg").
func qemuAccelerator(t *testing.T, allocID string) (string, int) {
	t.Helper()
	for _, pid := range procsWithEnv("NOMAD_ALLOC_ID", allocID) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || !bytes.Contains(b, []byte("qemu-system")) {
			continue
		}
		for _, arg := range strings.Split(string(b), "\x00") {
			if _, accel, ok := strings.Cut(arg, "accel="); ok {
				return strings.ToUpper(strings.SplitN(accel, ",", 2)[0]), pid
			}
		}
	}
	t.Fatalf("no QEMU process of allocation %s found to read its accelerator", allocID)
	return "", 0
}
