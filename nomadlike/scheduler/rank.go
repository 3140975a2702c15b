package scheduler

import (
	"math"
	"math/rand"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Score names in AllocMetric.ScoreMetaData, as Nomad names them.
const (
	scoreBinPack           = "binpack"
	scoreJobAntiAffinity   = "job-anti-affinity"
	scoreReschedulePenalty = "node-reschedule-penalty"
	scoreNodeAffinity      = "node-affinity"
	scoreSpread            = "allocation-spread"
)

const (
	// maxSkip is how many low-scoring nodes a placement sets aside before
	// counting them toward its candidate limit (Nomad's LimitIterator).
	maxSkip = 3
	// maxScoreMeta is how many top-scoring nodes a metric reports.
	maxScoreMeta = 5
	// binPackMax is the best ScoreFitBinPack score (a perfect fit).
	binPackMax = 18.0
	// preferenceLimit is how many feasible nodes a placement scores when its
	// group has affinities or spreads: enough that every value of a spread
	// attribute is seen, yet fixed so the cost per placement does not grow
	// with the cluster or the group's count (Nomad scores every node then).
	// BenchmarkSchedulerWideSpread shows it still spreads evenly over 500
	// values; scoring a tenth of the nodes cost 3 to 6 times more for no
	// better spread.
	preferenceLimit = 100
)

// scoreFitBinPack is Nomad's best-fit score: 20 - (10^freeCPU + 10^freeMem),
// from 0 (empty node) to 18 (full node), so fuller nodes rank higher.
func scoreFitBinPack(capacity, used structs.ComparableResources) float64 {
	freeCPU, freeMem := freeShares(capacity, used)
	score := 20 - (math.Pow(10, freeCPU) + math.Pow(10, freeMem))
	return min(max(score, 0), binPackMax)
}

// scoreFitSpread is Nomad's worst-fit score, the mirror of scoreFitBinPack:
// (10^freeCPU + 10^freeMem) - 2, from 0 (full node) to 18 (empty node), so
// emptier nodes rank higher (the "spread" scheduler algorithm).
func scoreFitSpread(capacity, used structs.ComparableResources) float64 {
	freeCPU, freeMem := freeShares(capacity, used)
	score := math.Pow(10, freeCPU) + math.Pow(10, freeMem) - 2
	return min(max(score, 0), binPackMax)
}

func freeShares(capacity, used structs.ComparableResources) (cpu, mem float64) {
	if capacity.CPU > 0 {
		cpu = 1 - float64(used.CPU)/float64(capacity.CPU)
	}
	if capacity.MemoryMB > 0 {
		mem = 1 - float64(used.MemoryMB)/float64(capacity.MemoryMB)
	}
	return cpu, mem
}

// candidate is a node that can take the allocation, with its scores.
type candidate struct {
	node        *structs.Node
	ports       *portOffer
	cores       []uint16              // whole cores reserved for the allocation
	victims     []*structs.Allocation // allocations preempted to make room
	binpack     float64
	anti        float64 // job anti-affinity penalty, when hasAnti
	hasAnti     bool
	penalized   bool    // node of a previous failure (score -1)
	affinity    float64 // node affinity, when hasAffinity
	hasAffinity bool
	spread      float64 // allocation spread, when hasSpread
	hasSpread   bool
	finalScore  float64
}

// scoreMeta renders c as Nomad's NodeScoreMeta.
func (c *candidate) scoreMeta() *structs.NodeScoreMeta {
	var buf [5]structs.NamedScore
	scores := structs.NodeScores(buf[:0])
	scores.Set(scoreBinPack, c.binpack)
	if c.hasAnti {
		scores.Set(scoreJobAntiAffinity, c.anti)
	}
	if c.penalized {
		scores.Set(scoreReschedulePenalty, -1)
	}
	if c.hasAffinity {
		scores.Set(scoreNodeAffinity, c.affinity)
	}
	if c.hasSpread {
		scores.Set(scoreSpread, c.spread)
	}
	// Exactly as long as it is: every stored allocation keeps five.
	return &structs.NodeScoreMeta{NodeID: c.node.ID, Scores: scores.Clone(), NormScore: c.finalScore}
}

// selector walks the evaluation's ready nodes in a shuffled order, continuing
// where the previous placement stopped, and scores a bounded number of
// feasible nodes per placement (Nomad's stack: static iterator, feasibility,
// distinct hosts and property, bin-packing, job anti-affinity, reschedule
// penalty, node affinity, spread, limit, max score).
type selector struct {
	nodes     []*structs.Node
	offset    int
	feas      *feasibilityChecker
	usage     *usageTracker
	rng       *rand.Rand
	place     *placementState
	algorithm string
	preempt   bool // may evict lower-priority allocations when nothing fits
	priority  int  // the job's priority, for preemption

	affinity map[string][]cachedScore // group -> per node index
	byIndex  []*nodeUsage             // usage per node index, once loaded

	scored, skipped []candidate // scratch, reused by every pick
	exhausted       []*structs.Node
}

// cachedScore is a node's affinity score for one group, computed once.
type cachedScore struct {
	done  bool
	score float64
	has   bool
}

// candidateLimit is how many feasible nodes a placement scores: 2 for batch
// jobs, max(2, ceil(log2(n))) for service jobs.
func candidateLimit(n int, batch bool) int {
	limit := 2
	if !batch && n > 0 {
		if l := int(math.Ceil(math.Log2(float64(n)))); l > limit {
			limit = l
		}
	}
	return limit
}

// placeAsk is what one placement needs.
type placeAsk struct {
	tg        *structs.TaskGroup
	resources structs.ComparableResources // MHz of tasks not reserving cores, memory, disk
	cores     int                         // whole cores the tasks reserve
	network   *networkAsk
	penalty   map[string]bool // nodes to avoid (previous failures)
	limit     int             // feasible nodes to score

	affinities []*structs.Affinity // job, group and task affinities
	affWeight  float64             // sum of |weight| of affinities
	spreads    []*spreadScorer
	distinct   []distinctCheck
}

// pick selects the best node for ask, recording why other nodes were not
// chosen in m. It returns nil when no node fits.
func (s *selector) pick(ask *placeAsk, m *structs.AllocMetric) (*candidate, error) {
	s.scored, s.skipped, s.exhausted = s.scored[:0], s.skipped[:0], s.exhausted[:0]
	for seen := 0; seen < len(s.nodes) && len(s.scored) < ask.limit; seen++ {
		idx := s.offset
		s.offset = (s.offset + 1) % len(s.nodes)
		node := s.nodes[idx]
		m.NodesEvaluated++
		if ok, reason := s.feas.check(ask.tg, node, idx); !ok {
			m.FilterNode(node, reason)
			continue
		}
		if reason := s.place.distinctFails(ask, node); reason != "" {
			m.FilterNode(node, reason)
			continue
		}
		c, ok, err := s.score(ask, node, idx, m)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if c.finalScore < 0 && len(s.skipped) < maxSkip {
			s.skipped = append(s.skipped, c)
			continue
		}
		s.scored = append(s.scored, c)
	}
	all := append(s.scored, s.skipped...)
	s.scored = all[:0]
	if len(all) == 0 {
		if s.preempt && len(s.exhausted) > 0 {
			return s.pickPreempt(ask, m)
		}
		return nil, nil
	}
	return s.best(all, m), nil
}

// pickOn places ask on the ready node nodeID if it is feasible and fits
// (nil otherwise, with why in m): the preferred node of a sticky volume.
func (s *selector) pickOn(ask *placeAsk, nodeID string, m *structs.AllocMetric) (*candidate, error) {
	for idx, node := range s.nodes {
		if node.ID != nodeID {
			continue
		}
		m.NodesEvaluated++
		if ok, reason := s.feas.check(ask.tg, node, idx); !ok {
			m.FilterNode(node, reason)
			return nil, nil
		}
		if reason := s.place.distinctFails(ask, node); reason != "" {
			m.FilterNode(node, reason)
			return nil, nil
		}
		c, ok, err := s.score(ask, node, idx, m)
		if err != nil || !ok {
			return nil, err
		}
		m.ScoreMetaData = []*structs.NodeScoreMeta{c.scoreMeta()}
		return &c, nil
	}
	return nil, nil
}

// best finds the top-scoring candidates, highest score first (ties keep the
// shuffled order, as a stable sort would), records them in m and returns
// the first. It selects the top maxScoreMeta in one pass instead of sorting
// every candidate.
func (s *selector) best(all []candidate, m *structs.AllocMetric) *candidate {
	var topBuf [maxScoreMeta]int
	top := topBuf[:0]
	for i := range all {
		pos := len(top)
		for pos > 0 && all[top[pos-1]].finalScore < all[i].finalScore {
			pos--
		}
		if pos >= maxScoreMeta {
			continue
		}
		if len(top) < maxScoreMeta {
			top = append(top, 0)
		}
		copy(top[pos+1:], top[pos:len(top)-1])
		top[pos] = i
	}
	m.ScoreMetaData = make([]*structs.NodeScoreMeta, len(top))
	for i, j := range top {
		m.ScoreMetaData[i] = all[j].scoreMeta()
	}
	best := all[top[0]]
	return &best
}

// score checks that ask fits on node (at idx in s.nodes, or -1) and scores
// it; ok is false when the node is exhausted (recorded in m).
func (s *selector) score(ask *placeAsk, node *structs.Node, idx int, m *structs.AllocMetric) (candidate, bool, error) {
	c := candidate{node: node}
	nu, err := s.nodeUsage(node, idx)
	if err != nil {
		return c, false, err
	}
	if sf := nu.fits(ask); sf.dim != "" {
		m.ExhaustedNodeFree(node, sf.dim, sf.asked, sf.free, sf.unit)
		s.exhausted = append(s.exhausted, node)
		return c, false, nil
	}
	if ask.network != nil {
		offer, dim := assignPorts(node, nu, ask.network, nil, s.rng)
		if dim != "" {
			m.ExhaustedNode(node, dim)
			// Preemption may free a static port a lower-priority allocation holds.
			s.exhausted = append(s.exhausted, node)
			return c, false, nil
		}
		c.ports = offer
	}
	if ask.cores > 0 {
		c.cores = nu.freeCores(ask.cores)
	}
	s.rank(&c, ask, nu, nu.used, idx)
	return c, true, nil
}

// nodeUsage is s.usage.get(node), remembered per node index (idx >= 0) to
// spare a map lookup on every visit.
func (s *selector) nodeUsage(node *structs.Node, idx int) (*nodeUsage, error) {
	if idx < 0 {
		return s.usage.get(node)
	}
	if s.byIndex == nil {
		s.byIndex = make([]*nodeUsage, len(s.nodes))
	}
	if nu := s.byIndex[idx]; nu != nil {
		return nu, nil
	}
	nu, err := s.usage.get(node)
	if err == nil {
		s.byIndex[idx] = nu
	}
	return nu, err
}

// rank fills c's scores for ask on a node whose usage before the placement is used.
func (s *selector) rank(c *candidate, ask *placeAsk, nu *nodeUsage, used structs.ComparableResources, idx int) {
	node := c.node
	used.Add(nu.demand(ask))
	if s.algorithm == structs.SchedulerAlgorithmSpread {
		c.binpack = scoreFitSpread(nu.capacity, used) / binPackMax
	} else {
		c.binpack = scoreFitBinPack(nu.capacity, used) / binPackMax
	}
	total, parts := c.binpack, 1.0
	if n := s.place.collisions[ask.tg.Name][node.ID]; n > 0 && ask.tg.Count > 0 {
		c.anti, c.hasAnti = -float64(n+1)/float64(ask.tg.Count), true
		total += c.anti
		parts++
	}
	if ask.penalty[node.ID] {
		c.penalized = true
		total--
		parts++
	}
	if len(ask.affinities) > 0 {
		if c.affinity, c.hasAffinity = s.affinityScore(ask, node, idx); c.hasAffinity {
			total += c.affinity
			parts++
		}
	}
	if len(ask.spreads) > 0 {
		sum := 0.0
		for _, sp := range ask.spreads {
			sum += sp.boost(node)
		}
		if sum != 0 {
			c.spread, c.hasSpread = sum, true
			total += sum
			parts++
		}
	}
	c.finalScore = total / parts
}

// affinityScore is Nomad's node affinity: the weights of the affinities the
// node matches over the sum of all weights' magnitudes; has is false when
// it is zero (no component is recorded then).
func (s *selector) affinityScore(ask *placeAsk, node *structs.Node, idx int) (float64, bool) {
	var slot *cachedScore
	if idx >= 0 {
		cache := s.affinity[ask.tg.Name]
		if cache == nil {
			cache = make([]cachedScore, len(s.nodes))
			s.affinity[ask.tg.Name] = cache
		}
		slot = &cache[idx]
		if slot.done {
			return slot.score, slot.has
		}
	}
	total := 0.0
	for _, a := range ask.affinities {
		if s.feas.cons.meets(a.Constraint(), node) {
			total += float64(a.Weight)
		}
	}
	score, has := 0.0, false
	if total != 0 && ask.affWeight > 0 {
		score, has = total/ask.affWeight, true
	}
	if slot != nil {
		*slot = cachedScore{done: true, score: score, has: has}
	}
	return score, has
}
