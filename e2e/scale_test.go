package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/nodesim"
)

// TestScaleSmall is the small scenario of make bench-scale: simulated
// nodes (the real client protocol, package nodesim) against a real server,
// jobs for thousands of allocations. It asserts correctness only: every
// allocation placed and reported running, no node ever marked down, no
// allocation failed. Times are the benchmark's business (make bench-scale).
func TestScaleSmall(t *testing.T) {
	const nodes, allocs = 100, 2000
	a := startAgent(t, agentOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := nodesim.Bench(ctx, nodesim.BenchConfig{
		Sim:     nodesim.Config{Servers: []string{a.addr}, Nodes: nodes, Racks: 10, Classes: []string{"small", "large"}},
		Allocs:  allocs,
		Servers: []nodesim.ServerProc{{PID: a.cmd.Process.Pid, DataDir: a.dataDir}},
		Timeout: 5 * time.Minute,
	})
	if rep != nil {
		t.Logf("report (figures on a loaded machine; not asserted):\n%s", rep)
	}
	if err != nil {
		t.Fatalf("%d simulated nodes, %d allocations: %v", nodes, allocs, err)
	}
	if rep.NodesDown != 0 || rep.NodesLost != 0 {
		t.Errorf("nodes marked down during the run: %d (still down at the end: %d); want none", rep.NodesDown, rep.NodesLost)
	}
	if rep.Sim.Failed != 0 {
		t.Errorf("%d allocations reported failed; the simulation fails none", rep.Sim.Failed)
	}
	if rep.Sim.Running < allocs {
		t.Errorf("%d allocations reported running by the simulated nodes, want %d", rep.Sim.Running, allocs)
	}
}
