package scheduler_test

import (
	"slices"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// rangeJob is a job of count allocations whose group asks for ports.
func rangeJob(count, prio int, ports ...structs.Port) *structs.Job {
	j := schedtest.Job()
	j.Priority = prio
	tg := j.TaskGroups[0]
	tg.Count = count
	tg.Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 100}
	n := &structs.NetworkResource{Mode: "host"}
	for _, p := range ports {
		if p.Value > 0 {
			n.ReservedPorts = append(n.ReservedPorts, p)
		} else {
			n.DynamicPorts = append(n.DynamicPorts, p)
		}
	}
	tg.Networks = []*structs.NetworkResource{n}
	return j
}

// hostPorts is every host port the allocations hold, sorted.
func hostPorts(allocs []*structs.Allocation) []int {
	var out []int
	for _, a := range allocs {
		for _, pm := range a.AllocatedResources.Shared.Ports {
			for p := pm.Value; p < pm.Value+pm.Span(); p++ {
				out = append(out, p)
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestDynamicPortRange: a dynamic range is contiguous, inside the node's
// dynamic port range, clear of other allocations' ports and of the node's
// reserved ports; when no run of free ports is long enough the placement
// fails naming the range.
func TestDynamicPortRange(t *testing.T) {
	h := schedtest.NewHarness()
	h.CheckFit = true
	// 20000-20209 less the reserved 20100-20104: two runs of 100 and 105.
	h.Nodes(1, func(_ int, n *structs.Node) {
		n.NodeResources.MinDynamicPort, n.NodeResources.MaxDynamicPort = 20000, 20209
		n.ReservedResources = &structs.NodeReservedResources{}
		n.ReservedResources.Networks.ReservedHostPorts = "20100-20104"
	})
	job := rangeJob(2, 50, structs.Port{Label: "rtp", Count: 100, To: 10000})
	register(t, h, job)
	placed := live(h, job.ID)
	if len(placed) != 2 {
		t.Fatalf("got %d placements, want 2 (failed: %+v)", len(placed), h.LastEval().FailedTGAllocs["web"])
	}
	for _, a := range placed {
		pm := a.AllocatedResources.Shared.Ports
		if len(pm) != 1 || pm[0].Count != 100 || pm[0].To != 10000 || pm[0].Label != "rtp" {
			t.Fatalf("allocation %s ports %+v, want one mapping rtp of count 100 to 10000", a.Name, pm)
		}
		if first := pm[0].Value; first < 20000 || first+99 > 20209 || (first <= 20104 && first+99 >= 20100) {
			t.Errorf("range %d-%d is outside 20000-20209 or overlaps the reserved 20100-20104", first, first+99)
		}
	}
	if got := hostPorts(placed); len(slices.Compact(slices.Clone(got))) != 200 {
		t.Errorf("the two ranges overlap: %d distinct ports of 200", len(slices.Compact(slices.Clone(got))))
	}

	// A third range finds no 100 free ports in a row (5 are left).
	more := rangeJob(1, 50, structs.Port{Label: "rtp", Count: 100})
	register(t, h, more)
	if n := len(live(h, more.ID)); n != 0 {
		t.Fatalf("got %d placements of a third range, want none", n)
	}
	m := h.LastEval().FailedTGAllocs["web"]
	if want := "network: no 100 contiguous dynamic ports for rtp"; m == nil || m.DimensionExhausted[want] == 0 {
		t.Errorf("failed metric %+v, want %q exhausted", m, want)
	}
	// The 5 left are in at most two runs, one of at least 3: a range of 3 fits.
	single := rangeJob(1, 50, structs.Port{Label: "rtp", Count: 3})
	register(t, h, single)
	if n := len(live(h, single.ID)); n != 1 {
		t.Errorf("got %d placements of a range of 3, want 1 (failed: %+v)", n, h.LastEval().FailedTGAllocs["web"])
	}
}

// TestStaticPortRange: a static range holds all its ports; one port of it
// held by the node or by another allocation blocks it (named in the
// metric); a lower-priority holder of any port of it is preempted.
func TestStaticPortRange(t *testing.T) {
	media := structs.Port{Label: "media", Value: 30000, Count: 100}
	t.Run("reserved by the node", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.Nodes(1, func(_ int, n *structs.Node) {
			n.ReservedResources = &structs.NodeReservedResources{}
			n.ReservedResources.Networks.ReservedHostPorts = "22,30050"
		})
		job := rangeJob(1, 50, media)
		register(t, h, job)
		m := h.LastEval().FailedTGAllocs["web"]
		if want := "network: reserved port collision media=30000-30099 (port 30050)"; m == nil || m.DimensionExhausted[want] == 0 {
			t.Errorf("failed metric %+v, want %q exhausted", m, want)
		}
	})
	t.Run("second copy does not fit beside the first", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.CheckFit = true
		h.Nodes(2, nil)
		job := rangeJob(3, 50, media)
		register(t, h, job)
		placed := live(h, job.ID)
		if len(placed) != 2 || placed[0].NodeID == placed[1].NodeID {
			t.Fatalf("got %d placements, want 2 on distinct nodes", len(placed))
		}
		want := make([]int, 0, 200)
		for range 2 {
			for p := 30000; p < 30100; p++ {
				want = append(want, p)
			}
		}
		slices.Sort(want)
		if got := hostPorts(placed); !slices.Equal(got, want) {
			t.Errorf("host ports %v..., want 30000-30099 on each node", got[:5])
		}
	})
	t.Run("lower-priority holder of one port is preempted", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.CheckFit = true
		h.State.SetSchedulerConfig(&structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{ServiceSchedulerEnabled: true}})
		h.Nodes(1, nil)
		low := rangeJob(1, 20, structs.Port{Label: "x", Value: 30099})
		other := rangeJob(1, 20, structs.Port{Label: "y", Value: 30100})
		register(t, h, low)
		register(t, h, other)
		job := rangeJob(1, 80, media)
		register(t, h, job)
		placed := live(h, job.ID)
		if len(placed) != 1 {
			t.Fatalf("got %d placements, want 1 (failed: %+v)", len(placed), h.LastEval().FailedTGAllocs["web"])
		}
		var victims []string
		for _, v := range h.LastPlan().NodePreemptions[placed[0].NodeID] {
			victims = append(victims, v.JobID)
		}
		if !slices.Equal(victims, []string{low.ID}) {
			t.Errorf("victims %v, want only %s (the holder of 30099; 30100 is outside the range)", victims, low.ID)
		}
	})
}

// TestIgnoreCollisionPort: allocations whose static port has
// ignore_collision share it on one node (the plan applier's fit check
// agrees), and it does not block a port asked without it either.
func TestIgnoreCollisionPort(t *testing.T) {
	h := schedtest.NewHarness()
	h.CheckFit = true
	h.Nodes(1, nil)
	shared := rangeJob(2, 50, structs.Port{Label: "dns", Value: 53, IgnoreCollision: true})
	register(t, h, shared)
	if n := len(live(h, shared.ID)); n != 2 {
		t.Fatalf("got %d placements sharing port 53, want 2 (failed: %+v)", n, h.LastEval().FailedTGAllocs["web"])
	}
	other := rangeJob(1, 50, structs.Port{Label: "dns", Value: 53})
	register(t, h, other)
	if n := len(live(h, other.ID)); n != 1 {
		t.Errorf("got %d placements of a plain port 53 beside ignore_collision holders, want 1 (failed: %+v)", n, h.LastEval().FailedTGAllocs["web"])
	}
}
