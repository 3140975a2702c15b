package e2e

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// orphanJob is a batch raw_exec job whose task starts three children: one
// in the background, one escaped into its own session through a double
// fork, one in the foreground: job ID, E2E_RUN, ORPHAN_MARK.
const orphanJob = `
job %q {
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
    task "sleeper" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "sleep 1000 & (setsid sleep 1000 &); sleep 1000; wait"]
      }
      env {
        E2E_RUN     = %q
        ORPHAN_MARK = %q
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestRawExecOrphansStopped (issue 12 A7): a raw_exec task whose supervisor
// is SIGKILLed must not keep running unsupervised: neither when the job is
// then purged, nor when the client agent restarts.
func TestRawExecOrphansStopped(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()

	// run starts the job, waits for its processes and returns its supervisor.
	run := func(job, mark string) int {
		t.Helper()
		f := writeFile(t, dir, job+".nomad.hcl", fmt.Sprintf(orphanJob, job, runToken, mark))
		if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
			t.Fatalf("job run: exit %d\n%s", code, out)
		}
		waitFor(t, 60*time.Second, job+"'s processes", func() (bool, string) {
			n := len(procsWithEnv("ORPHAN_MARK", mark))
			return n >= 4, fmt.Sprintf("%d processes", n)
		})
		// The client records the task's handle before it reports the task
		// running: only then does a restarted client know the earlier run.
		// (One killed before that starts the task anew; the driver retires
		// the run it lost track of: TestStartRetiresEarlierRun.)
		waitFor(t, 30*time.Second, job+"'s allocation to be reported running", func() (bool, string) {
			ctx, cancel := ctx10s()
			defer cancel()
			stubs, _, err := a.api().JobAllocations(ctx, job, nil)
			if err != nil || len(stubs) != 1 {
				return false, fmt.Sprintf("%d allocations, err %v", len(stubs), err)
			}
			return stubs[0].ClientStatus == "running", "client status " + stubs[0].ClientStatus
		})
		sups := supervisorsUnder(a.dataDir)
		if len(sups) != 1 {
			t.Fatalf("want one task supervisor under %s, found %v", a.dataDir, sups)
		}
		return sups[0]
	}
	kill := func(pid int) {
		t.Helper()
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	gone := func(mark, after string) {
		t.Helper()
		waitFor(t, 30*time.Second, "the task's processes to be gone "+after, func() (bool, string) {
			left := procsWithEnv("ORPHAN_MARK", mark)
			return len(left) == 0, fmt.Sprintf("still running: %v", left)
		})
	}

	kill(run("orphan-purge", runToken+"-purge"))
	if out, code := a.cli(dir, "job", "stop", "-purge", "orphan-purge"); code != 0 {
		t.Fatalf("job stop -purge: exit %d\n%s", code, out)
	}
	gone(runToken+"-purge", "after its supervisor was killed and the job purged")

	// The agent and the supervisor both die; the restarted client finds
	// the orphan.
	sup := run("orphan-restart", runToken+"-restart")
	a.kill()
	kill(sup)
	a.start()
	gone(runToken+"-restart", "after its supervisor was killed and the client restarted")
}
