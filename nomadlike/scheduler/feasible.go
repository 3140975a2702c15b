package scheduler

import (
	"path"
	"strconv"
	"strings"

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
// per (node, group) for one evaluation, and per (computed class, group) for
// the checks that nodes of one class pass or fail alike (Nomad's computed
// class eligibility): a placement checks each class once, then only the
// constraints that reference unique values (${node.unique.*},
// ${attr.unique.*}, ${meta.unique.*}) per node.
type feasibilityChecker struct {
	job    *structs.Job
	cons   *constraintChecker
	cache  map[string][]feasibility // group name -> per node index
	groups map[string]*groupFeasibility
	nodes  int
}

// groupFeasibility is one group's split constraints and class results.
type groupFeasibility struct {
	// checks are the job, driver, group and task checks in that order, the
	// escaped ones (per node) after the others.
	checks  []feasCheck
	escaped int // checks[escaped:] reference unique values
	classes map[string]feasibility
}

// feasCheck is a constraint, or when c is nil a driver the node must have,
// or (attr set) a node attribute it must have, reason naming what is missing.
type feasCheck struct {
	c      *structs.Constraint
	driver string
	attr   string
	reason string
}

// filterMissingNetwork prefixes the ConstraintFiltered key for nodes that
// cannot give a group its network mode: "missing network mode: bridge".
const filterMissingNetwork = "missing network mode"

// networkChecks are the node attributes (the client's CNI fingerprint) a
// group's network mode needs: the bridge plugins, or the named CNI network.
func networkChecks(tg *structs.TaskGroup) []feasCheck {
	var out []feasCheck
	for _, n := range tg.Networks {
		switch {
		case n.Mode == structs.NetworkModeBridge:
			for _, p := range []string{"bridge", "host-local", "loopback", "portmap", "firewall"} {
				out = append(out, feasCheck{attr: "plugins.cni.version." + p, reason: filterMissingNetwork + ": bridge"})
			}
		case strings.HasPrefix(n.Mode, structs.NetworkModeCNIPrefix):
			name := strings.TrimPrefix(n.Mode, structs.NetworkModeCNIPrefix)
			out = append(out, feasCheck{attr: "plugins.cni.config." + name, reason: filterMissingNetwork + ": " + n.Mode})
		}
	}
	return out
}

func newFeasibilityChecker(job *structs.Job, nodes int) *feasibilityChecker {
	return &feasibilityChecker{job: job, cons: newConstraintChecker(), cache: map[string][]feasibility{}, groups: map[string]*groupFeasibility{}, nodes: nodes}
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

// group returns tg's split checks, built on first use.
func (fc *feasibilityChecker) group(tg *structs.TaskGroup) *groupFeasibility {
	if g, ok := fc.groups[tg.Name]; ok {
		return g
	}
	var class, escaped []feasCheck
	add := func(cs []*structs.Constraint) {
		for _, c := range cs {
			switch {
			case c.Dynamic():
			case constraintEscapes(c):
				escaped = append(escaped, feasCheck{c: c})
			default:
				class = append(class, feasCheck{c: c})
			}
		}
	}
	add(fc.job.Constraints)
	for _, t := range tg.Tasks {
		class = append(class, feasCheck{driver: t.Driver})
	}
	class = append(class, networkChecks(tg)...)
	add(tg.Constraints)
	for _, t := range tg.Tasks {
		add(t.Constraints)
	}
	g := &groupFeasibility{checks: append(class, escaped...), escaped: len(class), classes: map[string]feasibility{}}
	fc.groups[tg.Name] = g
	return g
}

func (fc *feasibilityChecker) compute(tg *structs.TaskGroup, node *structs.Node) (bool, string) {
	g := fc.group(tg)
	checks := g.checks
	if class := node.ComputedClass; class != "" {
		res, ok := g.classes[class]
		if !ok {
			ok, reason := fc.run(g.checks[:g.escaped], node)
			res = feasibility{checked: true, ok: ok, reason: reason}
			g.classes[class] = res
		}
		if !res.ok {
			return false, res.reason
		}
		checks = g.checks[g.escaped:]
	}
	if ok, reason := fc.run(checks, node); !ok {
		return false, reason
	}
	if !hostVolumesFit(tg, node) {
		return false, filterHostVolumes
	}
	if ok, reason := hostNetworksFit(tg, node); !ok {
		return false, reason
	}
	return true, ""
}

// run applies checks to node in order; the first that fails names the reason.
func (fc *feasibilityChecker) run(checks []feasCheck, node *structs.Node) (bool, string) {
	for _, ch := range checks {
		if ch.attr != "" {
			if _, ok := node.Attributes[ch.attr]; !ok {
				return false, ch.reason
			}
			continue
		}
		if ch.c == nil {
			if !hasDriver(node, ch.driver) {
				return false, missingDriverKey(ch.driver)
			}
			continue
		}
		if !fc.cons.meets(ch.c, node) {
			return false, ch.c.String()
		}
	}
	return true, ""
}

// constraintEscapes reports whether c reads a value unique to a node, so
// nodes of one computed class may differ on it (Nomad's escaped constraints).
func constraintEscapes(c *structs.Constraint) bool {
	return targetEscapes(c.LTarget) || targetEscapes(c.RTarget)
}

func targetEscapes(target string) bool {
	for _, p := range []string{"${node.unique.", "${attr.unique.", "${meta.unique."} {
		if strings.Contains(target, p) {
			return true
		}
	}
	return false
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
