package e2e

import (
	"context"
	"sync"
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

// TestScaleClusterFailover is the small scenario against three servers,
// with the leader killed once a quarter of the allocations are placed:
// the nodes fail over to the other servers, a new leader takes over, and
// still every allocation is placed and reported running with no node ever
// marked down (the new leader waits for the nodes' heartbeats before it
// expires any; requests refused while there is no leader are retried).
func TestScaleClusterFailover(t *testing.T) {
	const nodes, allocs = 100, 2000
	servers := startLoopCluster(t)
	leader := loopLeader(t, servers)
	// The benchmark's own API client talks to the first server given:
	// put the leader last, so that it is not the one killed under it.
	var order []*loopServer
	for _, s := range servers {
		if s != leader {
			order = append(order, s)
		}
	}
	order = append(order, leader)
	var addrs []string
	for _, s := range order {
		addrs = append(addrs, "http://"+s.http)
	}
	var once sync.Once
	killed := make(chan *loopServer, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := nodesim.Bench(ctx, nodesim.BenchConfig{
		Sim:     nodesim.Config{Servers: addrs, Nodes: nodes},
		Allocs:  allocs,
		Timeout: 5 * time.Minute,
		Progress: func(p nodesim.Progress) {
			if p.Placed < allocs/4 {
				return
			}
			once.Do(func() {
				// The leader now, if it is not the first server; else the last one.
				victim := order[len(order)-1]
				for _, s := range order[1:] {
					lctx, lcancel := context.WithTimeout(context.Background(), 2*time.Second)
					l, err := s.api().Leader(lctx)
					lcancel()
					if err == nil && l == s.rpc {
						victim = s
					}
				}
				victim.kill()
				killed <- victim
			})
		},
	})
	if rep != nil {
		t.Logf("report (figures on a loaded machine; not asserted):\n%s", rep)
	}
	if err != nil {
		t.Fatalf("%d simulated nodes, %d allocations, 3 servers: %v", nodes, allocs, err)
	}
	select {
	case v := <-killed:
		t.Logf("killed %s once %d allocations were placed", v.name, allocs/4)
	default:
		t.Fatal("the run ended before a server was killed")
	}
	if rep.NodesDown != 0 || rep.NodesLost != 0 {
		t.Errorf("nodes marked down during the run: %d (still down at the end: %d); want none", rep.NodesDown, rep.NodesLost)
	}
	if rep.Sim.Running < allocs {
		t.Errorf("%d allocations reported running by the simulated nodes, want %d", rep.Sim.Running, allocs)
	}
}
