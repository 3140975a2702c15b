package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
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
	return startAgent(t, agentOpts{noRawExec: true, extra: containerPluginHCL(pluginBody)})
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
	return finishedAllocs(t, a, job, 1)[0]
}

// finishedAllocs waits for the job's n allocations to end (complete or
// failed) and returns them.
func finishedAllocs(t *testing.T, a *agent, job string, n int) []*structs.AllocListStub {
	t.Helper()
	var allocs []*structs.AllocListStub
	waitFor(t, 60*time.Second, fmt.Sprintf("%s's %d allocations to finish", job, n), func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		var err error
		allocs, _, err = a.api().JobAllocations(ctx, job, nil)
		if err != nil || len(allocs) != n {
			return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
		}
		for _, al := range allocs {
			if al.ClientStatus != structs.AllocClientStatusComplete && al.ClientStatus != structs.AllocClientStatusFailed {
				return false, al.TaskGroup + " is " + al.ClientStatus
			}
		}
		return true, ""
	})
	return allocs
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
	allocs := finishedAllocs(t, a, "attack-image", 2)
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

// limitsJob: "probe" reports the default process limit, capabilities and
// seccomp mode of a container; "bomb" sets pids_limit and tries to run 40
// processes at once. Both use shell builtins for their reports (no fork).
// They are separate groups: two tasks of one allocation that exit at the
// same moment can leave the allocation "running" (a client race, see the
// report of issue 12's container work).
const limitsJob = `
job "attack-limits" {
  datacenters = ["*"]
  type        = "batch"

  group "probe" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "probe" {
      driver = "container"
      config {
        image   = "oci-layout://%[1]s"
        command = "sh"
        args    = ["-c", "read m < /sys/fs/cgroup/pids/pids.max || read m < /sys/fs/cgroup/pids.max; echo pidsmax=$m; while read k v; do case $k in CapEff:|Seccomp:) echo $k$v;; esac; done < /proc/self/status"]
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }

  }

  group "bomb" {
    restart {
      attempts = 0
      mode     = "fail"
    }
    reschedule {
      attempts  = 0
      unlimited = false
    }

    task "bomb" {
      driver = "container"
      config {
        image      = "oci-layout://%[1]s"
        command    = "sh"
        args       = ["-c", "( i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); done ) 2>/dev/null; set -- /proc/[0-9]*; echo procs=$#"]
        pids_limit = 16
      }
      env {
        E2E_RUN = "%[2]s"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestAttackContainerLimits: containers had no process limit (a fork bomb
// took the host's PIDs), CAP_NET_RAW on the host's network, and a build
// without libseccomp ran them with no filter and no word of it. Now a
// container gets the default pids limit and a task's pids_limit holds a
// fork bomb; CAP_NET_RAW is not in the default set; and the fingerprint
// says whether seccomp is on: if it is, the container runs under a filter,
// if not, the task says so when it starts.
func TestAttackContainerLimits(t *testing.T) {
	requireContainerHost(t)
	killLeftovers(t)
	a := startContainerAgent(t, "")
	dir := t.TempDir()
	writeFile(t, dir, "limits.nomad.hcl", fmt.Sprintf(limitsJob, busyboxLayout(t), runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", "limits.nomad.hcl"); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	byGroup := map[string]*structs.AllocListStub{}
	for _, al := range finishedAllocs(t, a, "attack-limits", 2) {
		if al.ClientStatus != structs.AllocClientStatusComplete {
			t.Fatalf("group %s: allocation %s, want complete; driver failures: %q", al.TaskGroup, al.ClientStatus, driverFailures(t, a, al.ID, al.TaskGroup))
		}
		byGroup[al.TaskGroup] = al
	}
	alloc := byGroup["probe"]
	probe, _ := a.cli(dir, "alloc", "logs", alloc.ID, "probe")
	if !strings.Contains(probe, "pidsmax=4096") {
		t.Errorf("probe: want the default process limit pidsmax=4096")
	}
	if m := regexp.MustCompile(`CapEff:([0-9a-f]+)`).FindStringSubmatch(probe); m == nil {
		t.Errorf("probe: no CapEff line")
	} else if c, _ := strconv.ParseUint(m[1], 16, 64); c&(1<<13) != 0 {
		t.Errorf("probe: CapEff %s includes CAP_NET_RAW (bit 13)", m[1])
	}
	bomb, _ := a.cli(dir, "alloc", "logs", byGroup["bomb"].ID, "bomb")
	if m := regexp.MustCompile(`procs=(\d+)`).FindStringSubmatch(bomb); m == nil {
		t.Errorf("bomb: no procs= line")
	} else if n, _ := strconv.Atoi(m[1]); n > 16 {
		t.Errorf("bomb: %d processes ran at once, want at most its pids_limit of 16", n)
	}

	ctx, cancel := ctx10s()
	defer cancel()
	node, _, err := a.api().Node(ctx, alloc.NodeID, nil)
	if err != nil {
		t.Fatal(err)
	}
	attr := ""
	if di := node.Drivers["container"]; di != nil {
		attr = di.Attributes["driver.container.seccomp"]
	}
	stderr, _ := a.cli(dir, "alloc", "logs", "-stderr", alloc.ID, "probe")
	t.Logf("driver.container.seccomp = %q (build tags %q)", attr, os.Getenv("NOMADLIKE_BUILD_TAGS"))
	switch {
	case strings.Contains(attr, "default profile applied"):
		if !strings.Contains(probe, "Seccomp:2") {
			t.Errorf("the fingerprint says seccomp is on but the container runs without a filter (want Seccomp:2)")
		}
	case strings.Contains(attr, "built without libseccomp"):
		if strings.Contains(os.Getenv("NOMADLIKE_BUILD_TAGS"), "seccomp") {
			t.Errorf("built with the seccomp tag, but the fingerprint says %q", attr)
		}
		if !strings.Contains(stderr, "running without a seccomp profile: built without libseccomp") {
			t.Errorf("a build without libseccomp started the task without a warning; stderr:\n%s", stderr)
		}
	default:
		t.Errorf("driver.container.seccomp = %q, want it to say whether the default profile is applied", attr)
	}
}
