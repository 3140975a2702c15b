package scheduler_test

import (
	"fmt"
	"math/rand"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkSchedulerPlace times one evaluation that places a whole service
// job (100 MHz / 128 MB per allocation) on empty 4,000 MHz / 8 GB nodes. The
// harness accepts each plan without applying it, so every iteration plans
// the same placements.
func BenchmarkSchedulerPlace(b *testing.B) {
	for _, bc := range []struct{ allocs, nodes int }{
		{1000, 1000},
		{1000, 100},
		{1000, 10000},
		{10000, 5000},
	} {
		b.Run(fmt.Sprintf("allocs=%d/nodes=%d", bc.allocs, bc.nodes), func(b *testing.B) {
			h := schedtest.NewHarness()
			h.NoApply = true
			h.Nodes(bc.nodes, nil)
			job := schedtest.Job()
			job.TaskGroups[0].Count = bc.allocs
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 128}
			h.State.UpsertJob(job)
			processEvalLoop(b, h, job)
			if got := len(planned(h.LastPlan())); got != bc.allocs {
				b.Fatalf("got %d placements, want %d", got, bc.allocs)
			}
			h.Plans, h.Updated = nil, nil
		})
	}
}

// processEvalLoop times one evaluation of job per iteration (the harness
// must not apply plans) and reports the CPU time per evaluation: the
// machine is shared, so CPU time used by this process tells more than wall
// time.
func processEvalLoop(b *testing.B, h *schedtest.Harness, job *structs.Job) {
	b.Helper()
	eval := schedtest.Eval(job)
	rng := rand.New(rand.NewSource(1))
	b.ReportAllocs()
	cpu0 := processCPU(b)
	b.ResetTimer()
	for b.Loop() {
		s, err := scheduler.NewScheduler(job.Type, nil, h.State, h, rng, func() time.Time { return h.Now })
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Process(eval); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
}

// processCPU returns the user+system CPU time this process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSchedulerRacks is Nomad's own scenario: 5,000 nodes in 25 racks,
// one job of 1,200 allocations of 6,000 MHz and 6,000 MB constrained by
// set_contains_any to 12 racks, without and with a spread over the racks.
func BenchmarkSchedulerRacks(b *testing.B) {
	for _, spread := range []bool{false, true} {
		b.Run(fmt.Sprintf("spread=%v", spread), func(b *testing.B) {
			h := schedtest.NewHarness()
			h.NoApply = true
			h.Nodes(5000, func(i int, n *structs.Node) {
				n.Meta["rack"] = fmt.Sprintf("r%d", i%25)
				n.NodeResources.Cpu.CpuShares = 32000
				n.NodeResources.Memory.MemoryMB = 32768
			})
			job := schedtest.Job()
			tg := job.TaskGroups[0]
			tg.Count = 1200
			tg.Tasks[0].Resources = &structs.Resources{CPU: 6000, MemoryMB: 6000}
			var racks []string
			for i := range 12 {
				racks = append(racks, fmt.Sprintf("r%d", i))
			}
			job.Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: strings.Join(racks, ","), Operand: structs.ConstraintSetContainsAny}}
			if spread {
				job.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 100}}
			}
			h.State.UpsertJob(job)
			processEvalLoop(b, h, job)
			if got := len(planned(h.LastPlan())); got != 1200 {
				b.Fatalf("got %d placements, want 1200", got)
			}
			h.Plans, h.Updated = nil, nil
		})
	}
}

// BenchmarkSchedulerWideSpread places 1,200 allocations with a spread over
// 500 racks of 10 nodes each (5,000 nodes), more values than the 100 nodes a
// placement with a spread scores, and reports the most allocations on one
// rack (ideal: 3).
func BenchmarkSchedulerWideSpread(b *testing.B) {
	h := schedtest.NewHarness()
	h.NoApply = true
	rackOf := map[string]string{}
	h.Nodes(5000, func(i int, n *structs.Node) {
		n.Meta["rack"] = fmt.Sprintf("r%d", i%500)
		rackOf[n.ID] = n.Meta["rack"]
	})
	job := schedtest.Job()
	tg := job.TaskGroups[0]
	tg.Count = 1200
	tg.Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 128}
	job.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 100}}
	h.State.UpsertJob(job)
	processEvalLoop(b, h, job)
	perRack := map[string]int{}
	most := 0
	for _, a := range planned(h.LastPlan()) {
		perRack[rackOf[a.NodeID]]++
		most = max(most, perRack[rackOf[a.NodeID]])
	}
	b.ReportMetric(float64(most), "max-per-rack")
	h.Plans, h.Updated = nil, nil
}
