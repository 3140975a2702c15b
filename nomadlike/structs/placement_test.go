package structs

import (
	"strings"
	"testing"
)

func TestPlacementValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		v       interface{ Validate() error }
		wantErr string // "" when valid
	}{
		{"set_contains", &Constraint{LTarget: "${attr.f}", RTarget: "a,b", Operand: ConstraintSetContains}, ""},
		{"set_contains_any without values", &Constraint{LTarget: "${attr.f}", Operand: ConstraintSetContainsAny}, "needs a comma-separated list"},
		{"distinct_hosts", &Constraint{Operand: ConstraintDistinctHosts}, ""},
		{"distinct_hosts bad", &Constraint{Operand: ConstraintDistinctHosts, RTarget: "yes please"}, "takes true or false"},
		{"distinct_property limit", &Constraint{Operand: ConstraintDistinctProperty, LTarget: "${meta.rack}", RTarget: "2"}, ""},
		{"distinct_property zero", &Constraint{Operand: ConstraintDistinctProperty, LTarget: "${meta.rack}", RTarget: "0"}, "at least 1"},
		{"affinity", &Affinity{LTarget: "${meta.rack}", RTarget: "r1", Operand: "=", Weight: -40}, ""},
		{"affinity weight 0", &Affinity{LTarget: "${meta.rack}", RTarget: "r1", Operand: "=", Weight: 0}, "weight other than 0"},
		{"affinity distinct", &Affinity{Operand: ConstraintDistinctHosts, Weight: 10}, "not allowed in an affinity"},
		{"spread", &Spread{Attribute: "${node.datacenter}", Weight: 50, SpreadTarget: []*SpreadTarget{{Value: "dc1", Percent: 70}}}, ""},
		{"spread over 100", &Spread{Attribute: "${node.datacenter}", Weight: 50, SpreadTarget: []*SpreadTarget{{Value: "a", Percent: 70}, {Value: "b", Percent: 40}}}, "add up to 110"},
		{"spread duplicate target", &Spread{Attribute: "${x}", Weight: 50, SpreadTarget: []*SpreadTarget{{Value: "a"}, {Value: "a"}}}, "listed twice"},
		{"scheduler config", &SchedulerConfig{SchedulerAlgorithm: SchedulerAlgorithmSpread}, ""},
		{"scheduler config bad", &SchedulerConfig{SchedulerAlgorithm: "random"}, "unknown algorithm"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.v.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("got error %v, want none", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestPreemptionEnabledDefaults(t *testing.T) {
	var nilConfig *SchedulerConfig
	for _, tc := range []struct {
		typ  string
		want bool
	}{{JobTypeSystem, true}, {JobTypeSysBatch, false}, {JobTypeService, false}, {JobTypeBatch, false}} {
		if got := nilConfig.PreemptionEnabled(tc.typ); got != tc.want {
			t.Errorf("nil config, %s: got %v, want %v", tc.typ, got, tc.want)
		}
	}
}
