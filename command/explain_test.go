package command

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestExplainMetric(t *testing.T) {
	const (
		hintNoNodes     = `Hint: no ready client node matches the job's datacenters and node pool "default": start a client ('nomadlike agent -dev'), or fix the job's datacenters/node_pool; 'nomadlike node status' lists the nodes`
		hintConstraint  = "Hint: the job's constraints exclude nodes: compare them with the nodes' attributes ('nomadlike node status -verbose <node>'), or relax them"
		hintExhausted   = "Hint: the nodes lack free resources: lower the task's resources block, stop other allocations, or add client nodes"
		hintQuota       = "Hint: a quota is exhausted: raise it or stop other work in the namespace"
		noReasonPattern = "* 3 nodes evaluated, none could take the allocation, and the scheduler recorded no reason"
	)
	tests := []struct {
		name string
		m    structs.AllocMetric
		want []string
	}{
		{
			name: "no nodes at all",
			m:    structs.AllocMetric{},
			want: []string{"* No nodes were eligible for evaluation", hintNoNodes},
		},
		{
			name: "datacenters without nodes",
			m:    structs.AllocMetric{NodesAvailable: map[string]int{"dc2": 0, "dc1": 0, "dc3": 4}, NodesEvaluated: 4, NodesFiltered: 4},
			want: []string{`* No nodes are available in datacenter(s) "dc1", "dc2"`, "* 4 nodes excluded by filter", hintNoNodes},
		},
		{
			name: "constraint filtered",
			m: structs.AllocMetric{NodesEvaluated: 3, NodesFiltered: 3, NodesAvailable: map[string]int{"dc1": 3},
				ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 1, "${meta.rack} = r1": 1}},
			want: []string{
				`* Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter`,
				`* Constraint "${meta.rack} = r1": 1 nodes excluded by filter`,
				"* 1 more nodes excluded by filter for other reasons",
				hintConstraint,
			},
		},
		{
			name: "class filtered",
			m:    structs.AllocMetric{NodesEvaluated: 2, NodesFiltered: 2, ClassFiltered: map[string]int{"gpu": 2}},
			want: []string{`* Class "gpu": 2 nodes excluded by filter`, hintConstraint},
		},
		{
			name: "resources exhausted",
			m: structs.AllocMetric{NodesEvaluated: 2, NodesExhausted: 2, ClassExhausted: map[string]int{"big": 1},
				DimensionExhausted: map[string]int{"memory": 2, "cpu": 1}},
			want: []string{
				"* Resources exhausted on 2 nodes",
				`* Class "big" exhausted on 1 nodes`,
				`* Dimension "cpu" exhausted on 1 nodes`,
				`* Dimension "memory" exhausted on 2 nodes`,
				hintExhausted,
			},
		},
		{
			name: "filtered and exhausted",
			m: structs.AllocMetric{NodesEvaluated: 3, NodesFiltered: 1, NodesExhausted: 2,
				ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 1}, DimensionExhausted: map[string]int{"memory": 2}},
			want: []string{
				`* Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter`,
				"* Resources exhausted on 2 nodes",
				`* Dimension "memory" exhausted on 2 nodes`,
				hintConstraint,
			},
		},
		{
			name: "quota",
			m:    structs.AllocMetric{NodesEvaluated: 1, QuotaExhausted: []string{"memory exhausted (1024 needed > 512 limit)"}},
			want: []string{`* Quota limit hit "memory exhausted (1024 needed > 512 limit)"`, hintQuota},
		},
		{
			name: "missing driver",
			m: structs.AllocMetric{NodesEvaluated: 3, NodesFiltered: 3, NodesAvailable: map[string]int{"dc1": 3},
				ConstraintFiltered: map[string]int{"missing drivers: qemu": 3}},
			want: []string{
				`* 3 nodes lack driver "qemu" (absent or unhealthy)`,
				"Hint: no node has the task's driver healthy: enable or install it on the clients ('nomadlike node status -verbose <node>' lists each node's drivers)",
			},
		},
		{
			name: "distinct constraints",
			m: structs.AllocMetric{NodesEvaluated: 3, NodesFiltered: 3,
				ConstraintFiltered: map[string]int{"distinct_hosts": 2, "distinct_property ${meta.rack} 2": 1}},
			want: []string{
				"* distinct_hosts: 2 nodes already run an allocation of this job",
				"* distinct_property: 1 node filtered because their ${meta.rack} value already holds 2 allocation(s) of this job, the limit",
				hintConstraint,
			},
		},
		{
			name: "exhausted with largest free and best nodes",
			m: structs.AllocMetric{NodesEvaluated: 2, NodesExhausted: 2, DimensionExhausted: map[string]int{"memory": 2, "cores": 1},
				DimensionFree: map[string]*structs.DimensionShortfall{
					"memory": {Asked: 2048, LargestFree: 1024, Unit: "MB"},
					"cores":  {Asked: 2, LargestFree: 1, Unit: "cores"},
				},
				ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: "0123456789abcdef", NormScore: 0.5}}},
			want: []string{
				"* Resources exhausted on 2 nodes",
				"* 1 node exhausted cores (asked 2 cores, largest free 1 cores)",
				"* 2 nodes exhausted memory (asked 2048 MB, largest free 1024 MB)",
				"* Best-scored nodes: 01234567 (score 0.500)",
				hintExhausted,
			},
		},
		{
			name: "no reason recorded",
			m:    structs.AllocMetric{NodesEvaluated: 3},
			want: []string{noReasonPattern},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := explainMetric(&tt.m)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("explainMetric mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestExplainFailedGroups(t *testing.T) {
	failed := map[string]*structs.AllocMetric{
		"web":   {NodesEvaluated: 2, NodesExhausted: 2, DimensionExhausted: map[string]int{"memory": 2}, CoalescedFailures: 2},
		"cache": {NodesEvaluated: 1, NodesFiltered: 1, ConstraintFiltered: map[string]int{"${attr.kernel.name} = windows": 1}},
	}
	want := []string{
		`Task Group "cache" (failed to place 1 allocation):`,
		`  * Constraint "${attr.kernel.name} = windows": 1 nodes excluded by filter`,
		"  Hint: the job's constraints exclude nodes: compare them with the nodes' attributes ('nomadlike node status -verbose <node>'), or relax them",
		`Task Group "web" (failed to place 3 allocations):`,
		"  * Resources exhausted on 2 nodes",
		`  * Dimension "memory" exhausted on 2 nodes`,
		"  Hint: the nodes lack free resources: lower the task's resources block, stop other allocations, or add client nodes",
	}
	if diff := cmp.Diff(want, explainFailedGroups(failed)); diff != "" {
		t.Errorf("explainFailedGroups mismatch (-want +got):\n%s", diff)
	}
}
