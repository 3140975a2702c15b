package scheduler

import (
	"math"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// minPreemptDelta is the least priority difference between the job being
// placed and an allocation it may preempt, as Nomad's.
const minPreemptDelta = 10

// pickPreempt is the second pass of a placement that fit no node: among the
// nodes exhausted on resources in the first pass it looks for one where
// evicting lower-priority allocations frees enough, and picks the node
// needing the fewest and lowest-priority victims (then the best score).
func (s *selector) pickPreempt(ask *placeAsk, m *structs.AllocMetric) (*candidate, error) {
	var best *candidate
	var bestKey [3]float64
	found := 0
	for _, node := range s.exhausted {
		if found >= ask.limit {
			break
		}
		nu, err := s.usage.get(node)
		if err != nil {
			return nil, err
		}
		if err := s.usage.loadExisting(nu); err != nil {
			return nil, err
		}
		c, ok := s.preemptOn(ask, nu, -1)
		if !ok {
			continue
		}
		found++
		key := victimCost(c.victims, -c.finalScore)
		if best == nil || lessKey(key, bestKey) {
			cc := c
			best, bestKey = &cc, key
		}
	}
	if best != nil {
		m.ScoreMetaData = []*structs.NodeScoreMeta{best.scoreMeta()}
	}
	return best, nil
}

// preemptOn returns a candidate on nu's node whose victims, once evicted,
// leave room for ask; ok is false when no set of preemptible allocations
// does. nu's existing allocations must be loaded (loadExisting).
func (s *selector) preemptOn(ask *placeAsk, nu *nodeUsage, idx int) (candidate, bool) {
	victims := selectVictims(ask, nu, s.priority, s.usage.stopping)
	if victims == nil {
		return candidate{}, false
	}
	c := candidate{node: nu.node, victims: victims}
	used, cores := usageWithout(nu, victims)
	if ask.network != nil {
		offer, dim := assignPorts(nu.node, nu, ask.network, portsHeld(victims), s.rng)
		if dim != "" {
			return candidate{}, false
		}
		c.ports = offer
	}
	if ask.cores > 0 {
		c.cores = cores[:ask.cores]
	}
	s.rank(&c, ask, nu, used, idx)
	return c, true
}

// victimCost orders preemption options: fewer victims, then a lower highest
// victim priority, then tie (a lower value is better).
func victimCost(victims []*structs.Allocation, tie float64) [3]float64 {
	hi := 0
	for _, v := range victims {
		hi = max(hi, allocPriority(v))
	}
	return [3]float64{float64(len(victims)), float64(hi), tie}
}

func lessKey(a, b [3]float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

func allocPriority(a *structs.Allocation) int {
	if a.Job == nil {
		return structs.DefaultPriority
	}
	return a.Job.Priority
}

// selectVictims picks allocations of nu's node to evict so ask fits: only
// allocations of jobs at least minPreemptDelta below priority. Every holder
// of a static port the ask needs must go (none can be spared); then, for
// CPU, memory, disk and cores, the lowest priority first and, within a
// priority, the one closest to what is still missing; then it drops any
// victim the others make unnecessary. It returns nil when evicting every
// candidate would not be enough.
func selectVictims(ask *placeAsk, nu *nodeUsage, priority int, stopping map[string]bool) []*structs.Allocation {
	var cands []*structs.Allocation
	for _, a := range nu.existing {
		if stopping[a.ID] || a.TerminalStatus() || allocPriority(a) > priority-minPreemptDelta {
			continue
		}
		cands = append(cands, a)
	}
	if len(cands) == 0 {
		return nil
	}
	slices.SortStableFunc(cands, func(a, b *structs.Allocation) int { return allocPriority(a) - allocPriority(b) })
	fits := func(victims []*structs.Allocation) bool {
		if !staticPortsFree(ask, nu, victims) {
			return false
		}
		used, cores := usageWithout(nu, victims)
		return nu.fitsWith(ask, used, len(cores)).dim == ""
	}
	victims, cands, ok := portVictims(ask, nu, cands)
	if !ok {
		return nil
	}
	for !fits(victims) {
		if len(cands) == 0 {
			return nil
		}
		// The lowest priority left, and its candidate nearest the shortfall.
		used, _ := usageWithout(nu, victims)
		need := nu.demand(ask)
		prio, pick, bestDist := allocPriority(cands[0]), 0, math.Inf(1)
		for i, a := range cands {
			if allocPriority(a) != prio {
				break
			}
			if d := resourceDistance(need, used, nu.capacity, a); d < bestDist {
				pick, bestDist = i, d
			}
		}
		victims = append(victims, cands[pick])
		cands = slices.Delete(cands, pick, pick+1)
	}
	// Drop victims the others make unnecessary, highest priority first.
	for i := len(victims) - 1; i >= 0; i-- {
		rest := slices.Delete(slices.Clone(victims), i, i+1)
		if fits(rest) {
			victims = rest
		}
	}
	return victims
}

// resourceDistance is how far evicting a is from covering what the node
// still lacks for need (Nomad's basic resource distance over the dimensions
// that fall short).
func resourceDistance(need, used, capacity structs.ComparableResources, a *structs.Allocation) float64 {
	r := a.AllocatedResources.Comparable()
	d := 0.0
	dim := func(short, got int64) {
		if short <= 0 {
			return
		}
		x := float64(short-got) / float64(short)
		d += x * x
	}
	dim(used.CPU+need.CPU-capacity.CPU, r.CPU)
	dim(used.MemoryMB+need.MemoryMB-capacity.MemoryMB, r.MemoryMB)
	dim(used.DiskMB+need.DiskMB-capacity.DiskMB, r.DiskMB)
	return math.Sqrt(d)
}

// usageWithout is nu's usage less victims, and the free reservable cores
// once they are gone.
func usageWithout(nu *nodeUsage, victims []*structs.Allocation) (structs.ComparableResources, []uint16) {
	used := nu.used
	freed := map[uint16]int{}
	for _, v := range victims {
		r := v.AllocatedResources.Comparable()
		used.CPU -= r.CPU
		used.MemoryMB -= r.MemoryMB
		used.DiskMB -= r.DiskMB
		for _, c := range allocCores(v) {
			freed[c]++
		}
	}
	var cores []uint16
	for _, c := range nu.node.ReservableCores() {
		if nu.cores[c]-freed[c] <= 0 {
			cores = append(cores, c)
		}
	}
	return used, cores
}

// portVictims takes out of cands the allocations holding a static port ask
// needs. ok is false when such a port stays held after evicting them (by the
// node's reserved ports, a placement of this plan or a job too important to
// preempt).
func portVictims(ask *placeAsk, nu *nodeUsage, cands []*structs.Allocation) (victims, rest []*structs.Allocation, ok bool) {
	if ask.network == nil || len(ask.network.static) == 0 {
		return nil, cands, true
	}
	rest = cands[:0:0]
	for _, a := range cands {
		if holdsAny(a, ask.network.static) {
			victims = append(victims, a)
		} else {
			rest = append(rest, a)
		}
	}
	return victims, rest, staticPortsFree(ask, nu, victims)
}

// staticPortsFree reports whether every static port ask needs is free on
// nu's node once victims are gone.
func staticPortsFree(ask *placeAsk, nu *nodeUsage, victims []*structs.Allocation) bool {
	if ask.network == nil || len(ask.network.static) == 0 {
		return true
	}
	freed := portsHeld(victims)
	for _, p := range ask.network.static {
		if nu.ports[p]-freed[p] > 0 {
			return false
		}
	}
	return true
}

// portsHeld counts, per host port, the allocations in allocs holding it.
func portsHeld(allocs []*structs.Allocation) map[int]int {
	held := map[int]int{}
	for _, a := range allocs {
		for _, p := range allocPorts(a) {
			held[p]++
		}
	}
	return held
}

// holdsAny reports whether a holds one of ports (sorted).
func holdsAny(a *structs.Allocation, ports []int) bool {
	for _, p := range allocPorts(a) {
		if _, ok := slices.BinarySearch(ports, p); ok {
			return true
		}
	}
	return false
}
