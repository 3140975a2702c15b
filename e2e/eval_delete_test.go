package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestEvalListAndDelete drives `eval list` (filters, pages, JSON) and
// `eval delete` around `operator scheduler set-config -pause-eval-broker`,
// as an operator clearing a backlog would.
func TestEvalListAndDelete(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	file := writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(loopJob, runToken))
	if out, code := a.cli(dir, "job", "run", file); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	waitFor(t, 60*time.Second, "a running allocation", func() (bool, string) {
		n := len(runningAllocs(t, a, "e2e-web"))
		return n == 1, fmt.Sprintf("%d running", n)
	})

	out, code := a.cli(dir, "eval", "list", "-job", "e2e-web")
	header := regexp.MustCompile(`(?m)^ID\s+Priority\s+Triggered By\s+Job ID\s+Namespace\s+Node ID\s+Status\s+Placement Failures$`)
	row := regexp.MustCompile(`(?m)^([0-9a-f]{8})\s+50\s+job-register\s+e2e-web\s+default\s+<none>\s+complete\s+false$`)
	m := row.FindStringSubmatch(out)
	if code != 0 || !header.MatchString(out) || m == nil {
		t.Fatalf("eval list -job e2e-web: exit %d\n%s", code, out)
	}
	registerEval := m[1]
	if out, code := a.cli(dir, "eval", "list", "-status", "failed"); code != 0 || !strings.Contains(out, "No evals found") {
		t.Errorf("eval list -status failed: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "eval", "list", "-filter", `TriggeredBy == "job-register"`, "-json"); code != 0 || !strings.Contains(out, `"TriggeredBy": "job-register"`) {
		t.Errorf("eval list -filter -json: exit %d\n%s", code, out)
	}
	// Two more evaluations, then pages of one.
	for i := 0; i < 2; i++ {
		evaluate(t, a, "e2e-web")
	}
	out, code = a.cli(dir, "eval", "list", "-per-page", "1")
	tok := regexp.MustCompile(`To get the next page run:\s+\S.* -page-token (\S+)`).FindStringSubmatch(out)
	if code != 0 || tok == nil || strings.Count(out, "e2e-web") != 1 {
		t.Fatalf("eval list -per-page 1: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "eval", "list", "-per-page", "1", "-page-token", tok[1]); code != 0 || strings.Count(out, "e2e-web") != 1 {
		t.Errorf("eval list -page-token: exit %d\n%s", code, out)
	}

	// Deleting needs a paused broker.
	if out, code := a.cli(dir, "eval", "delete", registerEval); code != 1 || !strings.Contains(out, "eval broker must be paused") {
		t.Errorf("eval delete with the broker running: exit %d, want 1 saying to pause it\n%s", code, out)
	}
	if out, code := a.cli(dir, "operator", "scheduler", "set-config", "-pause-eval-broker=true"); code != 0 {
		t.Fatalf("set-config -pause-eval-broker=true: exit %d\n%s", code, out)
	}
	if out, _ := a.cli(dir, "operator", "scheduler", "get-config"); !regexp.MustCompile(`Pause Eval Broker\s+= true`).MatchString(out) {
		t.Errorf("get-config after pausing:\n%s", out)
	}
	// The job still runs the allocation this eval placed: not deleted.
	if out, code := a.cli(dir, "eval", "delete", registerEval); code != 1 || !strings.Contains(out, "not safe to delete") {
		t.Errorf("eval delete of the eval of a running allocation: exit %d\n%s", code, out)
	}
	// An eval made while paused stays pending and can go.
	evaluate(t, a, "e2e-web")
	out, code = a.cli(dir, "eval", "list", "-status", "pending")
	pending := regexp.MustCompile(`(?m)^([0-9a-f]{8})\s+\d+\s+job-register\s+e2e-web\s+.*pending`).FindStringSubmatch(out)
	if code != 0 || pending == nil {
		t.Fatalf("eval list -status pending while paused: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "eval", "delete", pending[1]); code != 0 || !strings.Contains(out, "Successfully deleted 1 evaluation") {
		t.Errorf("eval delete %s: exit %d\n%s", pending[1], code, out)
	}
	if out, code := a.cli(dir, "eval", "delete", "-yes", "-filter", `Status == "pending"`); code != 0 || !strings.Contains(out, "Successfully deleted 0 evaluations") {
		t.Errorf("eval delete -filter with none left: exit %d\n%s", code, out)
	}
	if out, code := a.cli(dir, "operator", "scheduler", "set-config", "-pause-eval-broker=false"); code != 0 {
		t.Fatalf("set-config -pause-eval-broker=false: exit %d\n%s", code, out)
	}
	id := evaluate(t, a, "e2e-web")
	waitFor(t, 30*time.Second, "an evaluation made after resuming to complete", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		e, _, err := a.api().Evaluation(ctx, id, nil)
		if err != nil {
			return false, err.Error()
		}
		return e.Status == "complete", e.Status
	})
}

// evaluate asks for a new evaluation of job (PUT /v1/job/{id}/evaluate)
// and returns its ID.
func evaluate(t *testing.T, a *agent, job string) string {
	t.Helper()
	ctx, cancel := ctx10s()
	defer cancel()
	resp, err := a.api().Do(ctx, http.MethodPut, "/v1/job/"+job+"/evaluate", nil, map[string]any{"JobID": job})
	if err != nil {
		t.Fatalf("evaluate %s: %v", job, err)
	}
	defer resp.Body.Close()
	var out struct{ EvalID string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.EvalID == "" {
		t.Fatalf("evaluate %s: %+v, %v", job, out, err)
	}
	return out.EvalID
}
