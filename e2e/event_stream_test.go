package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const eventsJob = `
job "e2e-events" {
  datacenters = ["*"]
  type        = "batch"

  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sh"
        args    = ["-c", "echo events"]
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

// streamLines opens GET /v1/event/stream?query and sends each decoded frame
// (heartbeats included) on the returned channel until ctx ends.
func streamLines(t *testing.T, ctx context.Context, a *agent, query string) <-chan structs.Events {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.addr+"/v1/event/stream?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /v1/event/stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/event/stream: status %d", resp.StatusCode)
	}
	out := make(chan structs.Events)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var ev structs.Events
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("frame %q is not JSON: %v", sc.Text(), err)
				return
			}
			select {
			case out <- ev:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// TestEventStream follows /v1/event/stream of a real agent while `job run`
// runs a batch job: newline-delimited frames carry JobRegistered, PlanResult
// and AllocationUpdated (up to "complete") for the job and nothing else;
// a second stream from the JobRegistered index replays it from the buffer.
func TestEventStream(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "events.nomad.hcl"), []byte(fmt.Sprintf(eventsJob, runToken)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	frames := streamLines(t, ctx, a, "topic=Job:e2e-events&topic=Allocation:e2e-events")

	if out, code := a.cli(dir, "job", "run", "events.nomad.hcl"); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	seen := map[string]bool{}
	var registeredAt uint64
	for !seen["JobRegistered"] || !seen["PlanResult"] || !seen["AllocationUpdated:complete"] {
		var ev structs.Events
		select {
		case ev = <-frames:
		case <-ctx.Done():
			t.Fatalf("within 90s saw only %v", seen)
		}
		for _, e := range ev.Events {
			if e.Topic != structs.TopicJob && e.Topic != structs.TopicAllocation {
				t.Errorf("got a %s event, subscribed to Job and Allocation only", e.Topic)
			}
			switch {
			case e.Type == structs.TypeJobRegistered && e.Payload.Job != nil && e.Payload.Job.ID == "e2e-events":
				seen["JobRegistered"] = true
				registeredAt = e.Index
			case e.Type == structs.TypePlanResult && e.Payload.Allocation != nil:
				seen["PlanResult"] = true
			case e.Type == structs.TypeAllocationUpdated && e.Payload.Allocation != nil:
				seen["AllocationUpdated:"+e.Payload.Allocation.ClientStatus] = true
			}
		}
	}

	replay := streamLines(t, ctx, a, fmt.Sprintf("topic=Job:e2e-events&index=%d", registeredAt))
	select {
	case ev := <-replay:
		if ev.Index != registeredAt || len(ev.Events) == 0 || ev.Events[0].Type != structs.TypeJobRegistered {
			t.Errorf("replay from index %d: first frame %+v, want the JobRegistered frame", registeredAt, ev)
		}
	case <-ctx.Done():
		t.Fatal("no replayed frame")
	}
}
