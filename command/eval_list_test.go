package command

import (
	"strings"
	"testing"
)

// TestEvalDeleteFilterConfirms: `eval delete -filter` counts what the filter
// selects (GET /v1/evaluations/count, as Nomad's CLI), asks, and deletes by
// filter; "n" deletes nothing.
func TestEvalDeleteFilterConfirms(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/evaluations/count", 1, map[string]int{"Count": 2})
	f.on("DELETE", "/v1/evaluations", 2, map[string]int{"Count": 2})
	code, out, errOut := runCLI(t, "n\n", "-address="+addr, "eval", "delete", "-filter", `Status == "pending"`)
	if code != 0 || !strings.Contains(out, "delete 2 evals? [y/N]") || !strings.Contains(out, "Cancelling") || f.requested("DELETE") {
		t.Fatalf("answered n: code %d, out %q, err %q, requests %v", code, out, errOut, f.requests)
	}
	if !f.requested("GET /v1/evaluations/count?filter=Status+%3D%3D+%22pending%22") {
		t.Errorf("the count did not carry the filter: %v", f.requests)
	}
	code, out, errOut = runCLI(t, "y\n", "-address="+addr, "eval", "delete", "-filter", `Status == "pending"`)
	if code != 0 || !strings.Contains(out, "Successfully deleted 2 evaluations") {
		t.Fatalf("answered y: code %d, out %q, err %q", code, out, errOut)
	}
	if got := string(f.bodies["DELETE /v1/evaluations"]); !strings.Contains(got, `"Filter":"Status == \"pending\""`) || strings.Contains(got, "EvalIDs") {
		t.Errorf("delete body %s, want the filter only", got)
	}
	if code, _, _ := runCLI(t, "", "-address="+addr, "eval", "delete"); code != 1 {
		t.Errorf("eval delete with neither ID nor filter: code %d, want 1", code)
	}
}
