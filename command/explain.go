package command

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// explainFailedGroups renders an evaluation's placement failures in plain
// words, one block per task group in name order:
//
//	Task Group "web" (failed to place 3 allocations):
//	  * Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter
//	  * Resources exhausted on 2 nodes
//	  Hint: ...
func explainFailedGroups(failed map[string]*structs.AllocMetric) []string {
	var lines []string
	for _, tg := range slices.Sorted(maps.Keys(failed)) {
		m := failed[tg]
		if m == nil {
			m = &structs.AllocMetric{}
		}
		n := m.CoalescedFailures + 1
		noun := "allocation"
		if n > 1 {
			noun = "allocations"
		}
		lines = append(lines, fmt.Sprintf("Task Group %q (failed to place %d %s):", tg, n, noun))
		for _, l := range explainMetric(m) {
			lines = append(lines, "  "+l)
		}
	}
	return lines
}

// explainMetric renders why a placement failed: one "* cause" line per cause
// the metric records, then one "Hint:" line saying what to do about the main
// cause. Map entries are sorted so the output is stable.
func explainMetric(m *structs.AllocMetric) []string {
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, "* "+fmt.Sprintf(format, args...)) }

	if m.NodesEvaluated == 0 {
		add("No nodes were eligible for evaluation")
	}
	var emptyDCs []string
	for _, dc := range slices.Sorted(maps.Keys(m.NodesAvailable)) {
		if m.NodesAvailable[dc] == 0 {
			emptyDCs = append(emptyDCs, fmt.Sprintf("%q", dc))
		}
	}
	if len(emptyDCs) > 0 {
		add("No nodes are available in datacenter(s) %s", strings.Join(emptyDCs, ", "))
	}
	for _, class := range slices.Sorted(maps.Keys(m.ClassFiltered)) {
		add("Class %q: %d nodes excluded by filter", class, m.ClassFiltered[class])
	}
	constraintCount := 0
	for _, cs := range slices.Sorted(maps.Keys(m.ConstraintFiltered)) {
		n := m.ConstraintFiltered[cs]
		add("%s", explainFilter(cs, n))
		constraintCount += n
	}
	if other := m.NodesFiltered - constraintCount; other > 0 && constraintCount > 0 {
		add("%d more nodes excluded by filter for other reasons", other)
	} else if other > 0 && len(m.ClassFiltered) == 0 {
		add("%d nodes excluded by filter", other)
	}
	if m.NodesExhausted > 0 {
		add("Resources exhausted on %d nodes", m.NodesExhausted)
	}
	for _, class := range slices.Sorted(maps.Keys(m.ClassExhausted)) {
		add("Class %q exhausted on %d nodes", class, m.ClassExhausted[class])
	}
	for _, dim := range slices.Sorted(maps.Keys(m.DimensionExhausted)) {
		line := fmt.Sprintf("Dimension %q exhausted on %d nodes", dim, m.DimensionExhausted[dim])
		if d := m.DimensionFree[dim]; d != nil {
			line = fmt.Sprintf("%s exhausted %s (asked %d %s, largest free %d %s)",
				nodes(m.DimensionExhausted[dim]), dim, d.Asked, d.Unit, d.LargestFree, d.Unit)
		}
		add("%s", line)
	}
	for _, q := range m.QuotaExhausted {
		add("Quota limit hit %q", q)
	}
	if len(lines) == 0 {
		add("%d nodes evaluated, none could take the allocation, and the scheduler recorded no reason", m.NodesEvaluated)
	}
	if best := bestNodes(m); best != "" {
		add("Best-scored nodes: %s", best)
	}
	if h := metricHint(m, len(emptyDCs) > 0); h != "" {
		lines = append(lines, "Hint: "+h)
	}
	return lines
}

// nodes renders a node count with its noun: "1 node", "3 nodes".
func nodes(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

// explainFilter words one ConstraintFiltered entry: the scheduler's keys for
// missing drivers, distinct_hosts and distinct_property get their own
// sentence, any other key is a constraint's text.
func explainFilter(key string, n int) string {
	switch {
	case strings.HasPrefix(key, "missing drivers: "):
		return fmt.Sprintf("%s lack%s driver %q (absent or unhealthy)", nodes(n), verbS(n), strings.TrimPrefix(key, "missing drivers: "))
	case key == "distinct_hosts":
		return fmt.Sprintf("distinct_hosts: %s already run%s an allocation of this job", nodes(n), verbS(n))
	case strings.HasPrefix(key, "distinct_property "):
		f := strings.Fields(key)
		if len(f) == 3 {
			return fmt.Sprintf("distinct_property: %s filtered because their %s value already holds %s allocation(s) of this job, the limit", nodes(n), f[1], f[2])
		}
	}
	return fmt.Sprintf("Constraint %q: %d nodes excluded by filter", key, n)
}

// verbS is the verb ending agreeing with a node count.
func verbS(n int) string {
	if n == 1 {
		return "s"
	}
	return ""
}

// bestNodes renders the top-scored nodes of a metric, "" when none.
func bestNodes(m *structs.AllocMetric) string {
	var parts []string
	for _, s := range m.ScoreMetaData {
		if s == nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s (score %.3f)", structs.ShortID(s.NodeID), s.NormScore))
	}
	return strings.Join(parts, ", ")
}

// onlyDriverFilters reports whether every filtered node lacked a driver.
func onlyDriverFilters(m *structs.AllocMetric) bool {
	if len(m.ConstraintFiltered) == 0 || len(m.ClassFiltered) > 0 {
		return false
	}
	for k := range m.ConstraintFiltered {
		if !strings.HasPrefix(k, "missing drivers: ") {
			return false
		}
	}
	return true
}

// metricHint says what to do about the main cause a metric records.
func metricHint(m *structs.AllocMetric, emptyDC bool) string {
	pool := m.NodePool
	if pool == "" {
		pool = structs.DefaultNodePool
	}
	switch {
	case m.NodesEvaluated == 0 || emptyDC:
		return fmt.Sprintf("no ready client node matches the job's datacenters and node pool %q: start a client ('nomadlike agent -dev'), "+
			"or fix the job's datacenters/node_pool; 'nomadlike node status' lists the nodes", pool)
	case onlyDriverFilters(m):
		return "no node has the task's driver healthy: enable or install it on the clients ('nomadlike node status -verbose <node>' lists each node's drivers)"
	case len(m.ConstraintFiltered) > 0 || len(m.ClassFiltered) > 0:
		return "the job's constraints exclude nodes: compare them with the nodes' attributes ('nomadlike node status -verbose <node>'), or relax them"
	case m.NodesExhausted > 0:
		return "the nodes lack free resources: lower the task's resources block, stop other allocations, or add client nodes"
	case len(m.QuotaExhausted) > 0:
		return "a quota is exhausted: raise it or stop other work in the namespace"
	}
	return ""
}
