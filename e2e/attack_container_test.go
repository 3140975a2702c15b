package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Attack tests for the container driver (issue 12, part A): each runs the
// job an attacker would submit against a real agent with the default,
// non-dev configuration (raw_exec off) and checks that the host stays out
// of reach and the task fails with an event that says why.

// startContainerAgent starts a server+client agent with raw_exec disabled,
// the tests' images dir as the container plugin's image_paths and
// pluginBody as more of its config.
func startContainerAgent(t *testing.T, pluginBody string) *agent {
	t.Helper()
	return startAgentHCL(t, "attack-"+lastElem(t.Name()), `
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
}
`+containerPluginHCL(pluginBody))
}

// volumeEscapeJob: a prestart task plants a symlink to the host's / in the
// shared alloc dir; the main task asks for it as a volume and reads a file
// of the host through it.
const volumeEscapeJob = `
job "attack-volume" {
  datacenters = ["*"]
  type        = "batch"

  group "g" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "plant" {
      lifecycle {
        hook = "prestart"
      }
      driver = "container"
      config {
        image   = "oci-layout://%[1]s"
        command = "sh"
        args    = ["-c", "busybox ln -s / /alloc/data/hostroot && echo planted"]
      }
      env {
        E2E_RUN = "%[3]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }

    task "main" {
      driver = "container"
      config {
        image   = "oci-layout://%[1]s"
        command = "sh"
        args    = ["-c", "echo ESCAPED:$(busybox cat /host%[2]s); busybox ls /host"]
        volumes = ["../alloc/data/hostroot:/host"]
      }
      env {
        E2E_RUN = "%[3]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestAttackContainerVolumeSymlinkEscape: a volume whose source is a
// symlink a task planted in the alloc dir must not bind the symlink's
// target outside the allocation (here the host's /): the main task fails
// with an event naming the volume, and nothing of the host is read.
func TestAttackContainerVolumeSymlinkEscape(t *testing.T) {
	requireContainerHost(t)
	killLeftovers(t)
	secretFile := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(secretFile, []byte("host-secret-"+runToken), 0o600); err != nil {
		t.Fatal(err)
	}
	a := startContainerAgent(t, "")
	dir := t.TempDir()
	writeFile(t, dir, "attack.nomad.hcl", fmt.Sprintf(volumeEscapeJob, busyboxLayout(t), secretFile, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "attack.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	alloc := finishedAlloc(t, a, "attack-volume")
	out, _ := a.cli(dir, "alloc", "logs", alloc.ID, "main")
	if strings.Contains(out, "host-secret-") {
		t.Fatalf("the container read the host's %s through the planted symlink:\n%s", secretFile, out)
	}
	if alloc.ClientStatus != structs.AllocClientStatusFailed {
		t.Errorf("allocation is %s, want failed", alloc.ClientStatus)
	}
	fails := driverFailures(t, a, alloc.ID, "main")
	t.Logf("driver failures of the main task: %q", fails)
	if len(fails) == 0 || !strings.Contains(fails[0], "config.volumes[0]") || !strings.Contains(fails[0], "outside the allocation directory") {
		t.Errorf("driver failures of the main task %q; want one naming config.volumes[0] and saying the source leads outside the allocation directory", fails)
	}
}

// finishedAlloc waits for the job's only allocation to end (complete or
// failed) and returns it.
func finishedAlloc(t *testing.T, a *agent, job string) *structs.AllocListStub {
	t.Helper()
	var alloc *structs.AllocListStub
	waitFor(t, 60*time.Second, job+"'s allocation to finish", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, job, nil)
		if err != nil || len(allocs) == 0 {
			return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
		}
		alloc = allocs[0]
		switch alloc.ClientStatus {
		case structs.AllocClientStatusComplete, structs.AllocClientStatusFailed:
			return true, ""
		}
		return false, "client status " + alloc.ClientStatus
	})
	return alloc
}

// localImageJob runs a container whose root is a host directory
// (rootfs://) and one from an OCI layout outside the client's image_paths.
const localImageJob = `
job "attack-image" {
  datacenters = ["*"]
  type        = "batch"

  group "rootfs" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "rootfs" {
      driver = "container"
      config {
        image   = "rootfs://%[1]s"
        command = "/bin/sh"
        args    = ["-c", "echo LEAKED:$(busybox cat /host-secret)"]
      }
      env {
        E2E_RUN = "%[3]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }

  group "layout" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }
    task "layout" {
      driver = "container"
      config {
        image   = "oci-layout://%[2]s"
        command = "sh"
        args    = ["-c", "echo ran-outside-image-paths"]
      }
      env {
        E2E_RUN = "%[3]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestAttackContainerLocalImageOutsideImagePaths: image = "rootfs://<a
// host directory>" made any host directory (such as /root) a container's
// root; local images now come only from the client's image_paths. Both
// tasks fail with an event naming the setting, and the host directory's
// file is never read.
func TestAttackContainerLocalImageOutsideImagePaths(t *testing.T) {
	requireContainerHost(t)
	killLeftovers(t)
	hostDir := t.TempDir() // stands for /root: a host directory with a shell in it
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(hostDir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostDir, "bin", "busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"sh", "busybox"} {
		_ = os.Symlink("busybox", filepath.Join(hostDir, "bin", app))
	}
	if err := os.WriteFile(filepath.Join(hostDir, "host-secret"), []byte("host-secret-"+runToken), 0o600); err != nil {
		t.Fatal(err)
	}
	// An OCI layout outside the allowed images dir.
	outside := filepath.Join(t.TempDir(), "layout")
	if err := os.Rename(busyboxLayout(t), outside); err != nil {
		t.Fatal(err)
	}
	a := startContainerAgent(t, "")
	dir := t.TempDir()
	writeFile(t, dir, "attack.nomad.hcl", fmt.Sprintf(localImageJob, hostDir, outside, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "attack.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	var allocs []*structs.AllocListStub
	waitFor(t, 60*time.Second, "both allocations to finish", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		var err error
		allocs, _, err = a.api().JobAllocations(ctx, "attack-image", nil)
		if err != nil || len(allocs) != 2 {
			return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
		}
		for _, al := range allocs {
			if al.ClientStatus != structs.AllocClientStatusComplete && al.ClientStatus != structs.AllocClientStatusFailed {
				return false, al.TaskGroup + " is " + al.ClientStatus
			}
		}
		return true, ""
	})
	for _, al := range allocs {
		out, _ := a.cli(dir, "alloc", "logs", al.ID, al.TaskGroup)
		if strings.Contains(out, "host-secret-") || strings.Contains(out, "ran-outside-image-paths") {
			t.Errorf("group %s ran from a local image outside image_paths:\n%s", al.TaskGroup, out)
		}
		fails := driverFailures(t, a, al.ID, al.TaskGroup)
		t.Logf("driver failures of %s: %q", al.TaskGroup, fails)
		if al.ClientStatus != structs.AllocClientStatusFailed || len(fails) == 0 ||
			!strings.Contains(fails[0], "outside the client's image_paths") || !strings.Contains(fails[0], `plugin "container" { config { image_paths = [`) {
			t.Errorf("group %s: allocation %s with driver failures %q; want it failed with one naming image_paths and the setting to add", al.TaskGroup, al.ClientStatus, fails)
		}
	}
}
