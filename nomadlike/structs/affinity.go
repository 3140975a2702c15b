package structs

import (
	"fmt"
	"strconv"
)

// DefaultAffinityWeight and DefaultSpreadWeight are the weights a block gets
// when it names none, as Nomad's.
const (
	DefaultAffinityWeight = 50
	DefaultSpreadWeight   = 50
)

// Affinity is a soft placement preference: nodes that match get their score
// raised (positive Weight) or lowered (negative Weight). It uses the
// constraint operators except distinct_hosts and distinct_property.
type Affinity struct {
	LTarget string // attribute
	RTarget string // value
	Operand string // operator
	Weight  int8   // -100..100, not 0
}

// String renders the affinity as metrics show it, for example
// `${meta.rack} = r1 (weight 50)`.
func (a *Affinity) String() string {
	c := Constraint{LTarget: a.LTarget, RTarget: a.RTarget, Operand: a.Operand}
	return fmt.Sprintf("%s (weight %d)", c.String(), a.Weight)
}

// Constraint returns the affinity's matching rule as a constraint.
func (a *Affinity) Constraint() *Constraint {
	return &Constraint{LTarget: a.LTarget, RTarget: a.RTarget, Operand: a.Operand}
}

// Copy returns a copy of a.
func (a *Affinity) Copy() *Affinity {
	if a == nil {
		return nil
	}
	n := *a
	return &n
}

// Validate checks the operator and the weight.
func (a *Affinity) Validate() error {
	var v ValidationError
	switch a.Operand {
	case ConstraintDistinctHosts, ConstraintDistinctProperty:
		v.add("Operand", "operator %q is not allowed in an affinity", a.Operand)
	default:
		v.merge("", a.Constraint().Validate())
	}
	switch {
	case a.Weight == 0:
		v.add("Weight", "an affinity needs a weight other than 0 (from -100 to 100)")
	case a.Weight < -100 || a.Weight > 100:
		v.add("Weight", "must be between -100 and 100, got %d", a.Weight)
	}
	return v.err()
}

// Spread asks the scheduler to spread a group's allocations over the values
// of a node attribute: evenly when SpreadTarget is empty, otherwise by the
// targets' percentages (values not named share what the targets leave).
type Spread struct {
	Attribute    string
	Weight       int8 // 0..100
	SpreadTarget []*SpreadTarget
}

// SpreadTarget is the share of a group's allocations wanted on one value.
type SpreadTarget struct {
	Value   string
	Percent uint8
}

// Copy returns a deep copy of s.
func (s *Spread) Copy() *Spread {
	if s == nil {
		return nil
	}
	n := *s
	n.SpreadTarget = make([]*SpreadTarget, len(s.SpreadTarget))
	for i, t := range s.SpreadTarget {
		tc := *t
		n.SpreadTarget[i] = &tc
	}
	if s.SpreadTarget == nil {
		n.SpreadTarget = nil
	}
	return &n
}

// Validate checks the attribute, the weight and that the targets' percentages add up to at most 100.
func (s *Spread) Validate() error {
	var v ValidationError
	if s.Attribute == "" {
		v.add("Attribute", "a spread needs an attribute, for example \"${node.datacenter}\"")
	}
	if s.Weight <= 0 || s.Weight > 100 {
		v.add("Weight", "must be between 1 and 100, got %d", s.Weight)
	}
	seen := map[string]bool{}
	sum := 0
	for i, t := range s.SpreadTarget {
		f := "SpreadTarget[" + strconv.Itoa(i) + "]"
		if seen[t.Value] {
			v.add(f, "target %q is listed twice", t.Value)
		}
		seen[t.Value] = true
		if t.Percent > 100 {
			v.add(f, "percent of target %q must be between 0 and 100, got %d", t.Value, t.Percent)
		}
		sum += int(t.Percent)
	}
	if sum > 100 {
		v.add("SpreadTarget", "the targets' percentages add up to %d, more than 100", sum)
	}
	return v.err()
}

func copyAffinities(in []*Affinity) []*Affinity {
	if in == nil {
		return nil
	}
	out := make([]*Affinity, len(in))
	for i, a := range in {
		out[i] = a.Copy()
	}
	return out
}

func copySpreads(in []*Spread) []*Spread {
	if in == nil {
		return nil
	}
	out := make([]*Spread, len(in))
	for i, s := range in {
		out[i] = s.Copy()
	}
	return out
}
