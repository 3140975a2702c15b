package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const gcBatchJob = `
job "%s" {
  datacenters = ["*"]
  type        = "batch"

  group "once" {
    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "echo hello from gc"]
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

// runBatchToCompletion runs gcBatchJob as job and waits for its single
// allocation to complete.
func runBatchToCompletion(t *testing.T, a *agent, dir, job string) *structs.AllocListStub {
	t.Helper()
	jobFile := writeFile(t, dir, "gc.nomad.hcl", fmt.Sprintf(gcBatchJob, job, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", jobFile); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	var alloc *structs.AllocListStub
	waitFor(t, time.Minute, "the batch allocation to complete", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := a.api().JobAllocations(ctx, job, nil)
		if err != nil || len(allocs) != 1 {
			return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
		}
		alloc = allocs[0]
		return alloc.ClientStatus == structs.AllocClientStatusComplete, "client status " + alloc.ClientStatus
	})
	return alloc
}

// TestSystemGCRemovesFinishedBatchJob runs a batch job to completion and
// runs `nomadlike system gc`: the job, its evaluations and allocations are
// gone from the API, the allocation's directory from the client's data
// dir, and `alloc logs` says the allocation no longer exists (no 500)
// unless given the full ID and the task, when the client's retained logs
// are printed.
// serverError finds an HTTP 500 in a command's output: "500" as a word,
// not inside an ID ("...-aa9500492c3d" failed the test once).
var serverError = regexp.MustCompile(`\b500\b`)

func TestSystemGCRemovesFinishedBatchJob(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()

	alloc := runBatchToCompletion(t, a, dir, "e2e-gc")
	allocDir := filepath.Join(a.dataDir, "alloc", alloc.ID)
	if _, err := os.Stat(filepath.Join(allocDir, "alloc", "logs")); err != nil {
		t.Fatalf("alloc dir before GC: %v", err)
	}
	waitFor(t, time.Minute, "the job to be dead", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		j, _, err := a.api().Job(ctx, "e2e-gc", nil)
		if err != nil {
			return false, err.Error()
		}
		return j.Status == structs.JobStatusDead, "status " + j.Status
	})

	if out, code := a.cli(dir, "system", "reconcile", "summaries"); code != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("system reconcile summaries: exit %d, output %q; want exit 0 and no output", code, out)
	}
	out, code := a.cli(dir, "system", "gc")
	if code != 0 || strings.TrimSpace(out) != "" {
		t.Fatalf("system gc: exit %d, output %q; want exit 0 and no output (as Nomad)", code, out)
	}

	for _, path := range []string{"/v1/job/e2e-gc", "/v1/allocation/" + alloc.ID, "/v1/evaluation/" + alloc.EvalID} {
		resp, err := http.Get(a.addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s after system gc = %d, want 404", path, resp.StatusCode)
		}
	}
	waitFor(t, time.Minute, "the client to remove the collected allocation's directory", func() (bool, string) {
		_, err := os.Stat(allocDir)
		return os.IsNotExist(err), fmt.Sprintf("stat %s: %v", allocDir, err)
	})
	out, code = a.cli(dir, "alloc", "logs", alloc.ID)
	notFound := strings.Contains(strings.ToLower(out), "no allocation") || strings.Contains(out, "not found")
	if code == 0 || serverError.MatchString(out) || !notFound || !strings.Contains(out, "retained its logs") {
		t.Errorf("alloc logs of a collected allocation: exit %d\n%s\nwant a failure saying the allocation is not found", code, out)
	}
	// Its client retained the logs: with the full ID and the task, the
	// agent of the node that ran it still prints them.
	out, code = a.cli(dir, "alloc", "logs", alloc.ID, "hello")
	if code != 0 || !strings.Contains(out, "hello from gc\n") || !strings.Contains(out, "logs its client retained") {
		t.Errorf("alloc logs <id> hello after system gc: exit %d\n%s\nwant the task's lines from the retention area", code, out)
	}
}

// TestClientAllocGC collects one finished allocation on its client through
// a server (GET /v1/client/allocation/{id}/gc, forwarded to the node): the
// directory is gone while the servers still list the allocation, and
// `alloc logs` still prints the task's lines from the client's retention
// area (client logs_retention, on by default), saying they are retained.
func TestClientAllocGC(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	alloc := runBatchToCompletion(t, a, dir, "e2e-client-gc")
	ctx, cancel := ctx10s()
	defer cancel()
	if err := a.api().GarbageCollectAlloc(ctx, alloc.ID); err != nil {
		t.Fatalf("GarbageCollectAlloc: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a.dataDir, "alloc", alloc.ID)); !os.IsNotExist(err) {
		t.Errorf("alloc dir after client GC: stat = %v, want it gone", err)
	}
	if _, _, err := a.api().Allocation(ctx, alloc.ID, nil); err != nil {
		t.Errorf("the servers no longer list the allocation after a client GC: %v", err)
	}
	if _, err := os.Stat(filepath.Join(a.dataDir, "retained_logs", alloc.ID, "alloc", "logs", "hello.stdout.0")); err != nil {
		t.Errorf("retained log file: %v", err)
	}
	out, code := a.cli(dir, "alloc", "logs", alloc.ID)
	if code != 0 || !strings.Contains(out, "hello from gc\n") || !strings.Contains(out, "garbage collected; these are the logs its client retained") {
		t.Errorf("alloc logs of a client-collected allocation: exit %d\n%s\nwant its lines and a note that they are retained logs", code, out)
	}
}
