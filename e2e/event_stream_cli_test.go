package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestEventStreamCLI follows `nomadlike event stream` (plain, and -json
// with a topic filter) while a batch job runs: the plain feed shows the job's
// registration and its allocation completing; the filtered JSON feed holds
// only the job's events, each a JSON event object; a bad topic is refused
// naming the known ones.
func TestEventStreamCLI(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	plain := startCLI(t, a, "event", "stream")
	filtered := startCLI(t, a, "event", "stream", "-json", "-topic", "Job:e2e-evcli", "-topic", "Allocation:e2e-evcli")
	// Both streams are open once the node's own events (its heartbeats
	// update it) or the job's reach them; register the job only after the
	// plain one shows any event, so that it cannot miss the job's.
	waitFor(t, time.Minute, "the plain stream to print a first event", func() (bool, string) {
		return len(plain.lines()) > 0, "no line yet; stderr: " + plain.stderr()
	})
	job := strings.Replace(fmt.Sprintf(eventsJob, runToken), `"e2e-events"`, `"e2e-evcli"`, 1)
	if out, code := a.cli(dir, "job", "run", "-detach", writeFile(t, dir, "ev.nomad.hcl", job)); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	waitFor(t, time.Minute, "the plain stream to show the job registered and its allocation complete", func() (bool, string) {
		var reg, done bool
		for _, l := range plain.lines() {
			f := strings.Fields(l)
			if len(f) < 4 {
				continue
			}
			reg = reg || f[1] == "Job" && f[2] == structs.TypeJobRegistered && f[3] == "e2e-evcli"
			done = done || f[1] == "Allocation" && strings.Contains(l, " job=e2e-evcli ") && strings.Contains(l, " client=complete")
		}
		return reg && done, fmt.Sprintf("registered %t, complete %t; lines:\n%s", reg, done, strings.Join(plain.lines(), "\n"))
	})
	waitFor(t, time.Minute, "the JSON stream to show the allocation complete", func() (bool, string) {
		for _, l := range filtered.lines() {
			var e structs.Event
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("-json line %q is not an event: %v", l, err)
			}
			switch {
			case e.Topic == structs.TopicJob && e.Key != "e2e-evcli",
				e.Topic == structs.TopicAllocation && (e.Payload == nil || e.Payload.Allocation == nil || e.Payload.Allocation.JobID != "e2e-evcli"),
				e.Topic != structs.TopicJob && e.Topic != structs.TopicAllocation:
				t.Fatalf("the filter let through %s %s %s", e.Topic, e.Type, e.Key)
			}
			if e.Topic == structs.TopicAllocation && e.Payload.Allocation.ClientStatus == structs.AllocClientStatusComplete {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d lines; stderr: %s", len(filtered.lines()), filtered.stderr())
	})
	out, code := a.cli(dir, "event", "stream", "-topic", "Jobs")
	if code != 1 || !strings.Contains(out, `unknown topic "Jobs"`) || !strings.Contains(out, "Allocation") {
		t.Errorf("event stream -topic Jobs: exit %d, want 1 naming the known topics:\n%s", code, out)
	}
}
