package scheduler

import (
	"path"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// filterMissingDrivers prefixes the ConstraintFiltered key for nodes lacking
// a task's driver (or whose driver is unhealthy), worded as Nomad's metrics
// word it and followed by the driver's name: "missing drivers: qemu".
const filterMissingDrivers = "missing drivers"

// missingDriverKey is the ConstraintFiltered key for nodes lacking driver.
func missingDriverKey(driver string) string { return filterMissingDrivers + ": " + driver }

// readyNodes returns the nodes the job may use at all: ready, eligible, not
// draining, in one of the job's datacenters and in its node pool. It also
// returns the ready-node count per datacenter for AllocMetric.NodesAvailable
// and the number of nodes in the pool.
func readyNodes(all []*structs.Node, job *structs.Job) (nodes []*structs.Node, perDC map[string]int, inPool int) {
	perDC = map[string]int{}
	pool := job.NodePool
	if pool == "" {
		pool = structs.DefaultNodePool
	}
	dcMatch := map[string]bool{}
	for _, n := range all {
		if pool != "all" && nodePool(n) != pool {
			continue
		}
		inPool++
		if !n.Ready() {
			continue
		}
		ok, seen := dcMatch[n.Datacenter]
		if !seen {
			ok = datacenterMatches(job.Datacenters, n.Datacenter)
			dcMatch[n.Datacenter] = ok
		}
		if !ok {
			continue
		}
		perDC[n.Datacenter]++
		nodes = append(nodes, n)
	}
	return nodes, perDC, inPool
}

// datacenterMatches reports whether dc matches one of the job's datacenter
// patterns ("*", "dc*", or a literal name).
func datacenterMatches(patterns []string, dc string) bool {
	for _, p := range patterns {
		if p == dc {
			return true
		}
		if ok, err := path.Match(p, dc); err == nil && ok {
			return true
		}
	}
	return false
}

// feasibility is the cached outcome of checking one node for one group.
type feasibility struct {
	checked bool
	ok      bool
	reason  string // ConstraintFiltered key when !ok
}

// feasibilityChecker checks nodes against a job's group, caching the result
// per (node, group) for one evaluation.
type feasibilityChecker struct {
	job   *structs.Job
	cons  *constraintChecker
	cache map[string][]feasibility // group name -> per node index
	nodes int
}

func newFeasibilityChecker(job *structs.Job, nodes int) *feasibilityChecker {
	return &feasibilityChecker{job: job, cons: newConstraintChecker(), cache: map[string][]feasibility{}, nodes: nodes}
}

// check reports whether node (at idx in the eval's ready-node list, or -1
// when uncached) can run tg, and if not, which constraint filtered it.
func (fc *feasibilityChecker) check(tg *structs.TaskGroup, node *structs.Node, idx int) (bool, string) {
	var slot *feasibility
	if idx >= 0 {
		c := fc.cache[tg.Name]
		if c == nil {
			c = make([]feasibility, fc.nodes)
			fc.cache[tg.Name] = c
		}
		slot = &c[idx]
		if slot.checked {
			return slot.ok, slot.reason
		}
	}
	ok, reason := fc.compute(tg, node)
	if slot != nil {
		*slot = feasibility{checked: true, ok: ok, reason: reason}
	}
	return ok, reason
}

func (fc *feasibilityChecker) compute(tg *structs.TaskGroup, node *structs.Node) (bool, string) {
	for _, c := range fc.job.Constraints {
		if !c.Dynamic() && !fc.cons.meets(c, node) {
			return false, c.String()
		}
	}
	for _, t := range tg.Tasks {
		if !hasDriver(node, t.Driver) {
			return false, missingDriverKey(t.Driver)
		}
	}
	for _, c := range tg.Constraints {
		if !c.Dynamic() && !fc.cons.meets(c, node) {
			return false, c.String()
		}
	}
	for _, t := range tg.Tasks {
		for _, c := range t.Constraints {
			if !c.Dynamic() && !fc.cons.meets(c, node) {
				return false, c.String()
			}
		}
	}
	return true, ""
}

// hasDriver reports whether the node's driver is detected and healthy. Nodes
// that report no driver info fall back to the legacy "driver.<name>" attribute.
func hasDriver(node *structs.Node, driver string) bool {
	if info, ok := node.Drivers[driver]; ok && info != nil {
		return info.Detected && info.Healthy
	}
	v, ok := node.Attributes["driver."+driver]
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b
}
