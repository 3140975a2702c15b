package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// unplaceableJob is a job no node can run (it stays blocked): registering
// many of them fills the Raft log without starting tasks.
func unplaceableJob(id string) *structs.Job {
	j := sleepJob(id, 1)
	j.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "no-such-kernel", Operand: "="}}
	return j
}

// TestRestartServesNothingBeforeReplay restarts a durable agent with
// hundreds of jobs in its Raft log and hammers it while it starts: every
// answered (non-stale) GET /v1/jobs lists every job, /v1/agent/health is
// ok only once it does, and a create-only check-and-set for an existing
// job is never accepted. Before the fix the leader served its half-replayed
// state: lists missing most jobs and a second version of an existing one.
func TestRestartServesNothingBeforeReplay(t *testing.T) {
	const jobs = 400
	a := startAgent(t, agentOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, jobs)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < jobs; i += 8 {
				if _, err := a.api().RegisterJob(ctx, &structs.JobRegisterRequest{Job: unplaceableJob(fmt.Sprintf("replay-%03d", i))}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("register: %v", err)
	}
	a.stop()
	a.noWait = true
	a.start()

	cas, err := json.Marshal(&structs.JobRegisterRequest{Job: unplaceableJob("replay-000"), EnforceIndex: true, JobModifyIndex: 0})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(90 * time.Second)
	okLists := 0
	for okLists < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted agent did not list its %d jobs within 90s", jobs)
		}
		healthy := false
		if resp, err := hc.Get(a.addr + "/v1/agent/health"); err == nil {
			healthy = resp.StatusCode == http.StatusOK
			resp.Body.Close()
		}
		if resp, err := hc.Get(a.addr + "/v1/jobs"); err == nil {
			var list []*structs.JobListStub
			decErr := json.NewDecoder(resp.Body).Decode(&list)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				if decErr != nil || len(list) != jobs {
					t.Fatalf("GET /v1/jobs answered 200 with %d of %d jobs (%v) during the restart", len(list), jobs, decErr)
				}
				okLists++
			}
		}
		if healthy {
			// Health said ready before this list or after it: the list
			// above was complete or not answered; check once more now.
			resp, err := hc.Get(a.addr + "/v1/jobs")
			if err == nil {
				var list []*structs.JobListStub
				_ = json.NewDecoder(resp.Body).Decode(&list)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || len(list) != jobs {
					t.Fatalf("/v1/agent/health is ok but GET /v1/jobs answered %d with %d of %d jobs", resp.StatusCode, len(list), jobs)
				}
			}
		}
		req, _ := http.NewRequest(http.MethodPut, a.addr+"/v1/jobs", bytes.NewReader(cas))
		if resp, err := hc.Do(req); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("a create-only check-and-set for existing job replay-000 was accepted during the restart: %s", body)
			}
		}
	}
}
