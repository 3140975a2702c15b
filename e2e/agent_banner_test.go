package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestAgentBannerAndShutdown checks what a newcomer sees from `agent -dev`:
// the banner comes before any log line, its version is the one `nomadlike
// version` prints, it lists every driver the node fingerprinted (not only
// raw_exec), no log line prints a raw %+v, and on Ctrl-C the dev agent says
// it stops its tasks (it does) rather than that they keep running.
func TestAgentBannerAndShutdown(t *testing.T) {
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	out, code := a.cli(dir, "version")
	if code != 0 {
		t.Fatalf("version: exit %d\n%s", code, out)
	}
	version := strings.TrimPrefix(strings.TrimSpace(out), "nomadlike ")
	ctx, cancel := ctx10s()
	defer cancel()
	nodes, _, err := a.api().ListNodes(ctx, nil)
	if err != nil || len(nodes) != 1 {
		t.Fatalf("nodes: %v (%d)", err, len(nodes))
	}
	node, _, err := a.api().Node(ctx, nodes[0].ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.stop()
	b, err := os.ReadFile(a.logPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	banner := strings.Index(log, "==> nomadlike agent configuration:")
	firstLog := strings.Index(log, "level=")
	if banner < 0 || firstLog < banner {
		t.Errorf("the banner (at %d) does not come before the first log line (at %d):\n%s", banner, firstLog, log)
	}
	if !strings.Contains(log, "Version: "+version+"\n") {
		t.Errorf("banner version differs from `nomadlike version` (%s):\n%s", version, log[:min(len(log), 1500)])
	}
	var healthy []string
	for name, d := range node.Drivers {
		if d != nil && d.Detected && d.Healthy {
			healthy = append(healthy, name)
		}
	}
	slices.Sort(healthy)
	for _, name := range healthy {
		if !strings.Contains(log, name) {
			t.Errorf("banner does not list healthy driver %q (node drivers %v)", name, healthy)
		}
	}
	if len(healthy) > 1 && strings.Contains(log, "raw_exec enabled:") {
		t.Errorf("banner lists raw_exec only:\n%s", log)
	}
	if strings.Contains(log, "%+v") {
		t.Errorf("a log line prints a raw %%+v:\n%s", log)
	}
	if !strings.Contains(log, "a -dev agent stops its tasks") || strings.Contains(log, "(tasks keep running") {
		t.Errorf("the dev agent's shutdown line does not say it stops its tasks:\n%s", lastN(log, 10))
	}
}

// lastN returns the last n lines of s.
func lastN(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// TestStatusAsNomadUsersTypeIt: `nomadlike status` lists jobs, `status
// <prefix>` shows the job, allocation or node the prefix names, and `node
// status -self` shows the agent's own node.
func TestStatusAsNomadUsersTypeIt(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	if out, code := a.cli(dir, "job", "run", "-min-healthy-time=0s", writeFile(t, dir, "web.nomad.hcl", fmt.Sprintf(loopJob, runToken))); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	ctx, cancel := ctx10s()
	defer cancel()
	allocs, _, err := a.api().JobAllocations(ctx, "e2e-web", nil)
	if err != nil || len(allocs) != 1 {
		t.Fatalf("allocations: %v (%d)", err, len(allocs))
	}
	nodeID := allocs[0].NodeID
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status"}, "e2e-web"},
		{[]string{"status", "e2e-w"}, "Allocations"},
		{[]string{"status", allocs[0].ID[:6]}, "Client Status"},
		{[]string{"node", "status", "-self"}, nodeID[:8]},
	} {
		out, code := a.cli(dir, tc.args...)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, want 0 and %q in:\n%s", tc.args, code, tc.want, out)
		}
	}
	if out, code := a.cli(dir, "status", "-json", allocs[0].ID[:6]); code != 0 || !json.Valid([]byte(out)) || !strings.Contains(out, allocs[0].ID) {
		t.Errorf("status -json <alloc prefix>: exit %d, want the allocation as JSON:\n%s", code, out)
	}
	if out, code := a.cli(dir, "status", "zzzz-nothing"); code != 1 || !strings.Contains(out, "no job, allocation, node") {
		t.Errorf("status of an unknown prefix: exit %d, want 1 saying nothing matches:\n%s", code, out)
	}
}
