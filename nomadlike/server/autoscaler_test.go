package server

import (
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func policyWith(strategy string, cfg map[string]any) map[string]any {
	return map[string]any{
		"evaluation_interval": "3s", "cooldown": "1m",
		"check": []any{map[string]any{"cpu": []any{map[string]any{
			"source": "nomad-apm", "query": "avg_cpu",
			"strategy": []any{map[string]any{strategy: []any{cfg}}},
		}}}},
	}
}

func TestParseAutoscalePolicy(t *testing.T) {
	p, err := parseAutoscalePolicy(policyWith("target-value", map[string]any{"target": 70}))
	if err != nil {
		t.Fatal(err)
	}
	if p.interval != 3*time.Second || p.cooldown != time.Minute || len(p.checks) != 1 || p.checks[0].query != "avg_cpu" || p.checks[0].strategy.name != "target-value" {
		t.Errorf("parsed %+v", p)
	}
	for _, c := range []struct {
		policy map[string]any
		want   string
	}{
		{map[string]any{"cooldown": "1m"}, "no check block"},
		{map[string]any{"evaluation_interval": "soon", "check": []any{}}, "evaluation_interval"},
		{policyWith("target-value", map[string]any{}), "needs target"},
		{policyWith("pid", map[string]any{}), `strategy "pid" is not supported`},
		{policyWith("threshold", map[string]any{"upper_bound": 50}), "exactly one of delta"},
	} {
		if _, err := parseAutoscalePolicy(c.policy); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("parse %v = %v, want an error containing %q", c.policy, err, c.want)
		}
	}
	prom := policyWith("target-value", map[string]any{"target": 70})
	prom["check"].([]any)[0].(map[string]any)["cpu"].([]any)[0].(map[string]any)["source"] = "prometheus"
	if _, err := parseAutoscalePolicy(prom); err == nil || !strings.Contains(err.Error(), "nomad-apm") {
		t.Errorf("a prometheus source = %v, want an error naming nomad-apm", err)
	}
}

// A policy that does not parse is recorded as an error decision with the
// parser's reason; it used to panic the leader (nil policy's interval).
func TestAutoscalePolicyThatDoesNotParse(t *testing.T) {
	s := &Server{}
	p := &structs.ScalingPolicy{ID: "p1", Enabled: true, Type: structs.ScalingPolicyTypeHorizontal,
		Policy: map[string]any{"evaluation_interval": "soon"}}
	s.autoscalePolicy(t.Context(), p, time.Now())
	d := s.LastScalingDecision("p1")
	if d == nil || d.Action != "error" || !strings.Contains(d.Reason, "evaluation_interval") {
		t.Fatalf("decision = %+v, want an error naming evaluation_interval", d)
	}
}

func TestAutoscaleStrategies(t *testing.T) {
	cases := []struct {
		name    string
		cfg     map[string]any
		metric  float64
		current int64
		want    int64
	}{
		{"target-value", map[string]any{"target": 70}, 80, 10, 12}, // Nomad's documented example
		{"target-value", map[string]any{"target": 70}, 70.5, 10, 10},
		{"target-value", map[string]any{"target": 50}, 0, 3, 0},
		{"target-value", map[string]any{"target": 50}, 90, 0, 1},
		{"fixed-value", map[string]any{"value": 4}, 12, 1, 4},
		{"threshold", map[string]any{"lower_bound": 80, "delta": 2}, 90, 3, 5},
		{"threshold", map[string]any{"lower_bound": 80, "delta": 2}, 50, 3, 3},
		{"threshold", map[string]any{"upper_bound": 20, "percentage": -50}, 10, 4, 2},
	}
	for _, c := range cases {
		st := autoscaleStrategy{name: c.name, config: c.cfg}
		if err := st.validate(); err != nil {
			t.Fatalf("%s %v: %v", c.name, c.cfg, err)
		}
		if got, why := st.apply(c.metric, c.current); got != c.want {
			t.Errorf("%s %v at metric %v, count %d = %d (%s), want %d", c.name, c.cfg, c.metric, c.current, got, why, c.want)
		}
	}
}

func TestQueryNomadAPM(t *testing.T) {
	s := &Server{}
	now := time.Now()
	alloc := func(id string, cpu int) *structs.Allocation {
		return &structs.Allocation{ID: id, NodeID: "n1", AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"t": {Cpu: structs.AllocatedCpuResources{CpuShares: int64(cpu)}, Memory: structs.AllocatedMemoryResources{MemoryMB: 100}},
		}}}
	}
	s.ReportUsage("n1", &structs.NodeUsageReport{Allocs: map[string]*structs.AllocUsage{
		"a": {CPUPercent: 50, CPUMHz: 100, MemoryBytes: 50 << 20},
		"b": {CPUPercent: 10, CPUMHz: 50, MemoryBytes: 10 << 20},
	}})
	allocs := []*structs.Allocation{alloc("a", 200), alloc("b", 100), alloc("unreported", 100)}
	for q, want := range map[string]float64{"avg_cpu": 30, "max_cpu": 50, "min_cpu": 10, "sum_cpu": 60, "avg_cpu-allocated": 50, "max_memory-allocated": 50} {
		got, err := s.queryNomadAPM(q, allocs, now)
		if err != nil || got != want {
			t.Errorf("%s = %v, %v; want %v", q, got, err, want)
		}
	}
	// Another node cannot speak for n1's allocations.
	s.ReportUsage("n2", &structs.NodeUsageReport{Allocs: map[string]*structs.AllocUsage{"a": {CPUPercent: 900}}})
	if got, err := s.queryNomadAPM("max_cpu", allocs, now); err != nil || got != 50 {
		t.Errorf("max_cpu after node n2 reported n1's allocation = %v, %v; want n1's 50", got, err)
	}
	if _, err := s.queryNomadAPM("avg_disk", allocs, now); err == nil {
		t.Error("avg_disk: want an error naming the metrics")
	}
	// A node's next report replaces its last; reports from long ago do not count.
	s.ReportUsage("n1", &structs.NodeUsageReport{})
	if _, err := s.queryNomadAPM("avg_cpu", allocs, now); err == nil || !strings.Contains(err.Error(), "no usage reported") {
		t.Errorf("after an empty report: %v, want no usage", err)
	}
}
