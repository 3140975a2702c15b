package e2e

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const jobLogsJob = `
job "e2e-logs" {
  datacenters = ["*"]
  type        = "service"

  group "web" {
    count = 2

    task "talk" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "i=0; while true; do i=$((i+1)); echo \"line $i of $NOMAD_ALLOC_ID\"; sleep 1; done"]
      }

      env {
        E2E_RUN = "%s"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestJobLogsFollow runs `job logs -f` on a job of two allocations, then
// scales it to three while following: the output interleaves the lines of
// all three, each prefixed with its own allocation and task, including the
// allocation created during the follow.
func TestJobLogsFollow(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	f := writeFile(t, dir, "logs.nomad.hcl", fmt.Sprintf(jobLogsJob, runToken))
	if out, code := a.cli(dir, "job", "run", "-min-healthy-time=0s", f); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}

	bg := startCLI(t, a, "job", "logs", "-f", "-verbose", "e2e-logs")

	// check counts, per allocation, the lines whose prefix names the
	// allocation the line says it comes from; badLine is one that does not.
	check := func() (perAlloc map[string]int, badLine string) {
		perAlloc = map[string]int{}
		for _, l := range bg.lines() {
			var id, task, rest string
			if _, err := fmt.Sscanf(l, "[%s %s", &id, &task); err != nil {
				return nil, l
			}
			task = strings.TrimSuffix(task, "]")
			_, rest, _ = strings.Cut(l, "] ")
			if task != "talk" || !strings.HasSuffix(rest, " of "+id) {
				return nil, l
			}
			perAlloc[id]++
		}
		return perAlloc, ""
	}
	waitForAllocs := func(n int) map[string]int {
		var got map[string]int
		waitFor(t, time.Minute, fmt.Sprintf("job logs -f to print lines of %d allocations", n), func() (bool, string) {
			per, bad := check()
			if bad != "" {
				t.Fatalf("line without its own allocation's prefix: %q\nstderr: %s", bad, bg.stderr())
			}
			got = per
			enough := 0
			for _, c := range per {
				if c >= 2 {
					enough++
				}
			}
			return enough >= n, fmt.Sprintf("lines per allocation: %v; stderr: %s", per, bg.stderr())
		})
		return got
	}
	before := waitForAllocs(2)

	if out, code := a.cli(dir, "job", "scale", "e2e-logs", "3"); code != 0 {
		t.Fatalf("job scale: exit %d\n%s", code, out)
	}
	var newID string
	waitFor(t, time.Minute, "a third running allocation", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, "e2e-logs", nil)
		if err != nil {
			return false, err.Error()
		}
		for _, al := range allocs {
			if _, seen := before[al.ID]; !seen && al.ClientStatus == structs.AllocClientStatusRunning {
				newID = al.ID
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d allocations", len(allocs))
	})
	after := waitForAllocs(3)
	if after[newID] < 2 {
		t.Errorf("the allocation created during the follow (%s) has %d lines, want ≥ 2: %v", newID, after[newID], after)
	}
	for id := range before {
		if after[id] <= before[id] {
			t.Errorf("allocation %s stopped being followed: %d lines before the scale, %d after", id, before[id], after[id])
		}
	}

	// Without -f it prints what every allocation wrote so far and returns.
	out, code := a.cli(dir, "job", "logs", "-task", "talk", "e2e-logs")
	if code != 0 || !strings.Contains(out, "["+newID[:8]+" talk] line 1 of "+newID) {
		t.Errorf("job logs (no -f): exit %d, want 0 with the new allocation's first line prefixed:\n%s", code, out)
	}
	out, code = a.cli(dir, "job", "logs", "-task", "nosuch", "e2e-logs")
	if code != 1 || !strings.Contains(out, `job "e2e-logs" has no task "nosuch"; its tasks are: [talk]`) {
		t.Errorf("job logs -task nosuch: exit %d, want 1 naming the job's tasks:\n%s", code, out)
	}
}

// bgCLI is a nomadlike CLI command running in the background (a follow),
// its stdout collected line by line.
type bgCLI struct {
	mu     sync.Mutex
	out    []string
	errOut strings.Builder
}

// startCLI starts `nomadlike args...` against a; the test's cleanup
// interrupts it (SIGINT, as Ctrl-C) and waits for it.
func startCLI(t *testing.T, a *agent, args ...string) *bgCLI {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+a.addr)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	bg := &bgCLI{}
	cmd.Stderr = &lockedBuilder{mu: &bg.mu, b: &bg.errOut}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			bg.mu.Lock()
			bg.out = append(bg.out, sc.Text())
			bg.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-readDone:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-readDone
		}
		_ = cmd.Wait()
	})
	return bg
}

// lines returns the stdout lines read so far.
func (b *bgCLI) lines() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.out...)
}

// stderr returns what the command wrote on stderr so far.
func (b *bgCLI) stderr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.errOut.String()
}

// lockedBuilder is a strings.Builder written under mu.
type lockedBuilder struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
