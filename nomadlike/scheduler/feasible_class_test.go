package scheduler

import (
	"fmt"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// classNodes returns n nodes alike but for their names, IDs and unique
// attributes, in classes set by class(i) (the value of meta.tier).
func classNodes(n int, class func(i int) string) []*structs.Node {
	out := make([]*structs.Node, n)
	for i := range out {
		node := &structs.Node{
			ID: fmt.Sprintf("id-%d", i), Name: fmt.Sprintf("node-%d", i), Datacenter: "dc1", NodeClass: "c" + class(i),
			Attributes: map[string]string{"kernel.name": "linux", "unique.hostname": fmt.Sprintf("host-%d", i)},
			Meta:       map[string]string{"tier": class(i)},
			Drivers:    map[string]*structs.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		}
		node.ComputeClass()
		out[i] = node
	}
	return out
}

// TestFeasibilityClassCache checks that nodes of one computed class share
// the result of class-level checks, that escaped constraints are still
// checked on every node, and that each filtered node counts in the metric
// under the constraint that filtered it.
func TestFeasibilityClassCache(t *testing.T) {
	tierOf := func(i int) string { return []string{"a", "b", "c"}[i%3] }
	for _, tc := range []struct {
		name        string
		job         []*structs.Constraint
		group       []*structs.Constraint
		driver      string
		wantOK      func(i int) bool
		wantClasses int            // class results cached for the group
		wantFilter  map[string]int // ConstraintFiltered over all nodes
	}{
		{
			name: "class constraint", job: []*structs.Constraint{{LTarget: "${meta.tier}", RTarget: "a", Operand: "="}},
			wantOK: func(i int) bool { return i%3 == 0 }, wantClasses: 3,
			wantFilter: map[string]int{"${meta.tier} = a": 20},
		},
		{
			name: "escaped constraint checked per node", group: []*structs.Constraint{{LTarget: "${node.unique.name}", RTarget: "node-(4|7)$", Operand: "regexp"}},
			wantOK: func(i int) bool { return i == 4 || i == 7 }, wantClasses: 3,
			wantFilter: map[string]int{"${node.unique.name} regexp node-(4|7)$": 28},
		},
		{
			name: "class then escaped",
			job:  []*structs.Constraint{{LTarget: "${meta.tier}", RTarget: "a", Operand: "!="}},
			group: []*structs.Constraint{
				{LTarget: "${attr.unique.hostname}", RTarget: "host-1,host-2,host-3", Operand: "set_contains_any"},
				{Operand: "distinct_hosts"},
			},
			wantOK: func(i int) bool { return i == 1 || i == 2 }, wantClasses: 3,
			wantFilter: map[string]int{"${meta.tier} != a": 10, "${attr.unique.hostname} set_contains_any host-1,host-2,host-3": 18},
		},
		{
			name: "missing driver", driver: "qemu",
			wantOK: func(int) bool { return false }, wantClasses: 3,
			wantFilter: map[string]int{missingDriverKey("qemu"): 30},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes := classNodes(30, tierOf)
			driver := "raw_exec"
			if tc.driver != "" {
				driver = tc.driver
			}
			tg := &structs.TaskGroup{Name: "g", Constraints: tc.group, Tasks: []*structs.Task{{Name: "t", Driver: driver}}}
			job := &structs.Job{ID: "j", Constraints: tc.job, TaskGroups: []*structs.TaskGroup{tg}}
			fc := newFeasibilityChecker(job, len(nodes))
			m := &structs.AllocMetric{}
			for i, n := range nodes {
				ok, reason := fc.check(tg, n, i)
				if ok != tc.wantOK(i) {
					t.Errorf("node %d: got feasible %v (%s), want %v", i, ok, reason, !ok)
				}
				if !ok {
					m.FilterNode(n, reason)
				}
			}
			if got := len(fc.groups["g"].classes); got != tc.wantClasses {
				t.Errorf("got %d class results cached, want %d", got, tc.wantClasses)
			}
			if fmt.Sprint(m.ConstraintFiltered) != fmt.Sprint(tc.wantFilter) {
				t.Errorf("got ConstraintFiltered %v, want %v", m.ConstraintFiltered, tc.wantFilter)
			}
			classTotal := 0
			for _, v := range m.ClassFiltered {
				classTotal += v
			}
			if classTotal != m.NodesFiltered {
				t.Errorf("got ClassFiltered %v over %d filtered nodes", m.ClassFiltered, m.NodesFiltered)
			}
		})
	}
}

// TestFeasibilityNoComputedClass checks that nodes stored before computed
// classes existed (ComputedClass empty) are checked one by one.
func TestFeasibilityNoComputedClass(t *testing.T) {
	nodes := classNodes(4, func(int) string { return "a" })
	for _, n := range nodes {
		n.ComputedClass = ""
	}
	nodes[2].Meta["tier"] = "b"
	tg := &structs.TaskGroup{Name: "g", Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec"}}}
	job := &structs.Job{ID: "j", Constraints: []*structs.Constraint{{LTarget: "${meta.tier}", RTarget: "b", Operand: "="}}, TaskGroups: []*structs.TaskGroup{tg}}
	fc := newFeasibilityChecker(job, len(nodes))
	for i, n := range nodes {
		if ok, _ := fc.check(tg, n, i); ok != (i == 2) {
			t.Errorf("node %d: got feasible %v", i, ok)
		}
	}
	if got := len(fc.groups["g"].classes); got != 0 {
		t.Errorf("got %d class results, want none", got)
	}
}
