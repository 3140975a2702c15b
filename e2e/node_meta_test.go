package e2e

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestNodeMetaCLI sets and unsets dynamic node metadata with `nomadlike node
// meta apply`, reads it back, and checks that it survives a restart of the
// agent (kept in the client's state) and reaches the servers again.
func TestNodeMetaCLI(t *testing.T) {
	a := startAgent(t, agentOpts{clientExtra: `meta { team = "infra" }`})
	dir := t.TempDir()
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, code := a.cli(dir, args...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d:\n%s", strings.Join(args, " "), code, wantCode, out)
		}
		return out
	}
	run(0, "node", "meta", "apply", "-unset", "team", "rack=r1", "zone=z9")
	out := run(0, "node", "meta", "read")
	all, _, _ := strings.Cut(out, "Dynamic Meta")
	if !strings.Contains(all, "rack") || !strings.Contains(all, "z9") || strings.Contains(all, "team") ||
		!strings.Contains(all, "connect.log_level") {
		t.Errorf("node meta read, All Meta: want rack, zone and the connect defaults but not team:\n%s", out)
	}
	if out := run(1, "node", "meta", "apply", "novalue"); !strings.Contains(out, "key=value") {
		t.Errorf("apply of a bare key:\n%s", out)
	}

	a.stop()
	a.start()
	out = run(0, "node", "meta", "read", "-json")
	if !strings.Contains(out, `"rack": "r1"`) || !strings.Contains(out, `"team": null`) {
		t.Errorf("after a restart the dynamic metadata is gone:\n%s", out)
	}
	waitFor(t, 30*time.Second, "the servers to see the node's dynamic metadata again", func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		nodes, _, err := a.api().ListNodes(ctx, nil)
		if err != nil || len(nodes) != 1 {
			return false, "no node"
		}
		n, _, err := a.api().Node(ctx, nodes[0].ID, nil)
		if err != nil {
			return false, err.Error()
		}
		_, team := n.Meta["team"]
		return n.Meta["rack"] == "r1" && !team, "meta " + strings.Join(metaKeys(n.Meta), ",")
	})
}

func metaKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	return out
}
