package scheduler

import (
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Filter reasons (ConstraintFiltered keys) of the checks that depend on
// where the job's other allocations run.
const filterDistinctHosts = structs.ConstraintDistinctHosts

// placementState is where the job's allocations are as the plan grows:
// existing live allocations, minus those the plan stops, plus those it
// places. distinct_hosts, distinct_property, job anti-affinity and spread
// read it; planBuilder.collide keeps it current.
type placementState struct {
	nodes      map[string]*structs.Node  // every node of the snapshot, by ID
	collisions map[string]map[string]int // group -> node ID -> allocations
	perNode    map[string]int            // node ID -> allocations of any group
	counters   []*propertyCounter
}

func newPlacementState(nodes map[string]*structs.Node) *placementState {
	return &placementState{nodes: nodes, collisions: map[string]map[string]int{}, perNode: map[string]int{}}
}

// propertyCounter counts the job's allocations (group == "") or one group's
// allocations per value of a node attribute.
type propertyCounter struct {
	attr   string
	group  string
	counts map[string]int
	// version changes with counts, so derived values can be cached.
	version int
}

// counter returns the counter of attr for group, creating it. Counters must
// all exist before the first collide so they see every allocation.
func (ps *placementState) counter(attr, group string) *propertyCounter {
	for _, c := range ps.counters {
		if c.attr == attr && c.group == group {
			return c
		}
	}
	c := &propertyCounter{attr: attr, group: group, counts: map[string]int{}}
	ps.counters = append(ps.counters, c)
	return c
}

// collide records delta allocations of group on nodeID.
func (ps *placementState) collide(group, nodeID string, delta int) {
	m := ps.collisions[group]
	if m == nil {
		m = map[string]int{}
		ps.collisions[group] = m
	}
	m[nodeID] += delta
	if m[nodeID] <= 0 {
		delete(m, nodeID)
	}
	ps.perNode[nodeID] += delta
	if ps.perNode[nodeID] <= 0 {
		delete(ps.perNode, nodeID)
	}
	if len(ps.counters) == 0 {
		return
	}
	node := ps.nodes[nodeID]
	if node == nil {
		return // a deleted node: its allocations count toward no value
	}
	for _, c := range ps.counters {
		if c.group != "" && c.group != group {
			continue
		}
		v, ok := resolveTarget(c.attr, node)
		if !ok {
			continue
		}
		c.counts[v] += delta
		if c.counts[v] <= 0 {
			delete(c.counts, v)
		}
		c.version++
	}
}

// distinctCheck is one distinct_hosts or distinct_property constraint that
// applies to a placement.
type distinctCheck struct {
	hosts   bool   // distinct_hosts; otherwise distinct_property
	group   string // "" at job level
	counter *propertyCounter
	limit   int
	reason  string // ConstraintFiltered key
}

// distinctChecks returns the distinct constraints of job and tg, creating
// the counters they need.
func (ps *placementState) distinctChecks(job *structs.Job, tg *structs.TaskGroup) []distinctCheck {
	var out []distinctCheck
	add := func(cs []*structs.Constraint, group string) {
		for _, c := range cs {
			switch {
			case c.DistinctHosts():
				out = append(out, distinctCheck{hosts: true, group: group, reason: filterDistinctHosts})
			case c.Operand == structs.ConstraintDistinctProperty:
				out = append(out, distinctCheck{group: group, counter: ps.counter(c.LTarget, group), limit: c.DistinctLimit(), reason: c.String()})
			}
		}
	}
	add(job.Constraints, "")
	if tg != nil {
		add(tg.Constraints, tg.Name)
	}
	return out
}

// distinctFails returns the ConstraintFiltered key of the first distinct
// constraint of ask that node violates, or "".
func (ps *placementState) distinctFails(ask *placeAsk, node *structs.Node) string {
	for _, d := range ask.distinct {
		if d.hosts {
			n := ps.perNode[node.ID]
			if d.group != "" {
				n = ps.collisions[d.group][node.ID]
			}
			if n > 0 {
				return d.reason
			}
			continue
		}
		v, ok := resolveTarget(d.counter.attr, node)
		if !ok || d.counter.counts[v] >= d.limit {
			return d.reason
		}
	}
	return ""
}

// spreadScorer scores nodes by how a placement on them moves a group's
// allocations toward a spread's targets (Nomad's SpreadIterator).
type spreadScorer struct {
	attr        string
	weight      float64            // this spread's share of the group's spread weights
	desired     map[string]float64 // value -> wanted allocations; empty: spread evenly
	implicit    float64            // wanted allocations on values no target names
	hasImplicit bool
	counts      *propertyCounter
	// lo and hi are the least and most allocations of a value, computed
	// for counts at version rangeOf (+1: 0 means never computed).
	lo, hi, rangeOf int
}

// spreadScorers returns the spreads of job and tg (a group's spread
// replaces a job spread of the same attribute).
func (ps *placementState) spreadScorers(job *structs.Job, tg *structs.TaskGroup) []*spreadScorer {
	byAttr := map[string]*structs.Spread{}
	var order []string
	for _, list := range [][]*structs.Spread{job.Spreads, tg.Spreads} {
		for _, sp := range list {
			if _, ok := byAttr[sp.Attribute]; !ok {
				order = append(order, sp.Attribute)
			}
			byAttr[sp.Attribute] = sp
		}
	}
	sum := 0.0
	for _, sp := range byAttr {
		sum += float64(sp.Weight)
	}
	var out []*spreadScorer
	for _, attr := range order {
		sp := byAttr[attr]
		sc := &spreadScorer{attr: attr, desired: map[string]float64{}, counts: ps.counter(attr, tg.Name)}
		if sum > 0 {
			sc.weight = float64(sp.Weight) / sum
		}
		total := 0.0
		for _, t := range sp.SpreadTarget {
			d := float64(t.Percent) / 100 * float64(tg.Count)
			sc.desired[t.Value] = d
			total += d
		}
		if total > 0 && total < float64(tg.Count) {
			sc.implicit, sc.hasImplicit = float64(tg.Count)-total, true
		}
		out = append(out, sc)
	}
	return out
}

// boost is the spread score of placing one more allocation on node, from -1
// to 1 times the spread's weight share: positive when the node's value has
// fewer allocations than wanted.
func (sc *spreadScorer) boost(node *structs.Node) float64 {
	v, ok := resolveTarget(sc.attr, node)
	if !ok {
		return -sc.weight // the node lacks the attribute: the largest penalty
	}
	if len(sc.desired) == 0 {
		return sc.evenBoost(v) * sc.weight
	}
	desired, ok := sc.desired[v]
	used := sc.counts.counts[v] + 1
	if !ok {
		if !sc.hasImplicit {
			return -sc.weight
		}
		// Values no target names share the implicit target: count them together
		// (Nomad counts each alone, which lets them overshoot their share).
		desired = sc.implicit
		for val, n := range sc.counts.counts {
			if _, named := sc.desired[val]; !named && val != v {
				used += n
			}
		}
	}
	if desired <= 0 {
		return -sc.weight
	}
	return (desired - float64(used)) / desired * sc.weight
}

// evenBoost is Nomad's even-spread score for value v: a value below the
// least-used value scores up to 1, one at the minimum scores how far the
// maximum is above it, and anything above the minimum is penalised.
func (sc *spreadScorer) evenBoost(v string) float64 {
	counts := sc.counts.counts
	if len(counts) == 0 {
		return 0
	}
	cur := counts[v]
	if sc.rangeOf != sc.counts.version+1 {
		sc.lo, sc.hi = -1, 0
		for _, n := range counts {
			if sc.lo < 0 || n < sc.lo {
				sc.lo = n
			}
			sc.hi = max(sc.hi, n)
		}
		sc.rangeOf = sc.counts.version + 1
	}
	lo, hi := sc.lo, sc.hi
	switch {
	case cur != lo:
		return float64(lo-cur) / float64(lo)
	case lo == hi:
		return -1
	}
	return float64(hi-lo) / float64(lo)
}
