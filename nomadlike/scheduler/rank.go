package scheduler

import (
	"math"
	"math/rand"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Score names in AllocMetric.ScoreMetaData, as Nomad names them.
const (
	scoreBinPack           = "binpack"
	scoreJobAntiAffinity   = "job-anti-affinity"
	scoreReschedulePenalty = "node-reschedule-penalty"
)

const (
	// maxSkip is how many low-scoring nodes a placement sets aside before
	// counting them toward its candidate limit (Nomad's LimitIterator).
	maxSkip = 3
	// maxScoreMeta is how many top-scoring nodes a metric reports.
	maxScoreMeta = 5
	// binPackMax is the best ScoreFitBinPack score (a perfect fit).
	binPackMax = 18.0
)

// scoreFitBinPack is Nomad's best-fit score: 20 - (10^freeCPU + 10^freeMem),
// from 0 (empty node) to 18 (full node), so fuller nodes rank higher.
func scoreFitBinPack(capacity, used structs.ComparableResources) float64 {
	freeCPU, freeMem := 0.0, 0.0
	if capacity.CPU > 0 {
		freeCPU = 1 - float64(used.CPU)/float64(capacity.CPU)
	}
	if capacity.MemoryMB > 0 {
		freeMem = 1 - float64(used.MemoryMB)/float64(capacity.MemoryMB)
	}
	score := 20 - (math.Pow(10, freeCPU) + math.Pow(10, freeMem))
	return min(max(score, 0), binPackMax)
}

// candidate is a node that can take the allocation, with its scores.
type candidate struct {
	node       *structs.Node
	ports      *portOffer
	binpack    float64
	anti       float64 // job anti-affinity penalty, when hasAnti
	hasAnti    bool
	penalized  bool // node of a previous failure (score -1)
	finalScore float64
}

// scoreMeta renders c as Nomad's NodeScoreMeta.
func (c *candidate) scoreMeta() *structs.NodeScoreMeta {
	scores := make(map[string]float64, 3)
	scores[scoreBinPack] = c.binpack
	if c.hasAnti {
		scores[scoreJobAntiAffinity] = c.anti
	}
	if c.penalized {
		scores[scoreReschedulePenalty] = -1
	}
	return &structs.NodeScoreMeta{NodeID: c.node.ID, Scores: scores, NormScore: c.finalScore}
}

// selector walks the evaluation's ready nodes in a shuffled order, continuing
// where the previous placement stopped, and scores a bounded number of
// feasible nodes per placement (Nomad's stack: static iterator, feasibility,
// bin-packing, job anti-affinity, limit, max score).
type selector struct {
	nodes      []*structs.Node
	offset     int
	limit      int
	feas       *feasibilityChecker
	usage      *usageTracker
	rng        *rand.Rand
	collisions map[string]map[string]int // group -> node ID -> allocations of the group on it

	scored, skipped []candidate // scratch, reused by every pick
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
	resources structs.ComparableResources
	network   *networkAsk
	penalty   map[string]bool // nodes to avoid (previous failures)
}

// pick selects the best node for ask, recording why other nodes were not
// chosen in m. It returns nil when no node fits.
func (s *selector) pick(ask *placeAsk, m *structs.AllocMetric) (*candidate, error) {
	s.scored, s.skipped = s.scored[:0], s.skipped[:0]
	for seen := 0; seen < len(s.nodes) && len(s.scored) < s.limit; seen++ {
		idx := s.offset
		s.offset = (s.offset + 1) % len(s.nodes)
		node := s.nodes[idx]
		m.NodesEvaluated++
		if ok, reason := s.feas.check(ask.tg, node, idx); !ok {
			m.FilterNode(node, reason)
			continue
		}
		c, ok, err := s.score(ask, node, m)
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
		return nil, nil
	}
	// Highest score first; ties keep the shuffled order.
	slices.SortStableFunc(all, func(a, b candidate) int {
		switch {
		case a.finalScore > b.finalScore:
			return -1
		case a.finalScore < b.finalScore:
			return 1
		}
		return 0
	})
	n := min(len(all), maxScoreMeta)
	m.ScoreMetaData = make([]*structs.NodeScoreMeta, n)
	for i := range n {
		m.ScoreMetaData[i] = all[i].scoreMeta()
	}
	best := all[0]
	return &best, nil
}

// score checks that ask fits on node and scores it; ok is false when the
// node is exhausted (recorded in m).
func (s *selector) score(ask *placeAsk, node *structs.Node, m *structs.AllocMetric) (candidate, bool, error) {
	c := candidate{node: node}
	nu, err := s.usage.get(node)
	if err != nil {
		return c, false, err
	}
	if ok, dim := nu.fits(ask.resources); !ok {
		m.ExhaustedNode(node, dim)
		return c, false, nil
	}
	if ask.network != nil {
		offer, dim := assignPorts(node, nu, ask.network, s.rng)
		if dim != "" {
			m.ExhaustedNode(node, dim)
			return c, false, nil
		}
		c.ports = offer
	}
	used := nu.used
	used.Add(ask.resources)
	c.binpack = scoreFitBinPack(nu.capacity, used) / binPackMax
	total, parts := c.binpack, 1.0
	if n := s.collisions[ask.tg.Name][node.ID]; n > 0 && ask.tg.Count > 0 {
		c.anti, c.hasAnti = -float64(n+1)/float64(ask.tg.Count), true
		total += c.anti
		parts++
	}
	if ask.penalty[node.ID] {
		c.penalized = true
		total--
		parts++
	}
	c.finalScore = total / parts
	return c, true, nil
}
