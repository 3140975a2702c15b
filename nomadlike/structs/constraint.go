package structs

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/go-version"
)

// Constraint operators understood by the scheduler.
const (
	ConstraintEqual     = "="
	ConstraintNotEqual  = "!="
	ConstraintRegex     = "regexp"
	ConstraintVersion   = "version"
	ConstraintSemver    = "semver"
	ConstraintLess      = "<"
	ConstraintLessEq    = "<="
	ConstraintGreater   = ">"
	ConstraintGreaterEq = ">="
	ConstraintIsSet     = "is_set"
	ConstraintIsNotSet  = "is_not_set"
)

// Constraint restricts the nodes a job, group or task may be placed on.
// LTarget and RTarget are either literals or interpolations such as
// ${attr.kernel.name}, ${node.datacenter} or ${meta.rack}.
type Constraint struct {
	LTarget string // attribute
	RTarget string // value
	Operand string // operator
}

// String renders the constraint as the CLI and metrics show it,
// for example `${attr.kernel.name} = linux`.
func (c *Constraint) String() string {
	if c.Operand == ConstraintIsSet || c.Operand == ConstraintIsNotSet {
		return fmt.Sprintf("%s %s", c.LTarget, c.Operand)
	}
	return fmt.Sprintf("%s %s %s", c.LTarget, c.Operand, c.RTarget)
}

// Copy returns a copy of c.
func (c *Constraint) Copy() *Constraint {
	if c == nil {
		return nil
	}
	n := *c
	return &n
}

// Validate checks the operator and, for regexp and version, that the value parses.
func (c *Constraint) Validate() error {
	var v ValidationError
	switch c.Operand {
	case ConstraintEqual, ConstraintNotEqual, ConstraintLess, ConstraintLessEq,
		ConstraintGreater, ConstraintGreaterEq:
		if c.LTarget == "" && c.RTarget == "" {
			v.add("", "constraint needs an attribute or a value")
		}
	case ConstraintRegex:
		if _, err := regexp.Compile(c.RTarget); err != nil {
			v.add("RTarget", "regular expression %q does not compile: %v", c.RTarget, err)
		}
	case ConstraintVersion, ConstraintSemver:
		if _, err := version.NewConstraint(c.RTarget); err != nil {
			v.add("RTarget", "version constraint %q does not parse: %v", c.RTarget, err)
		}
	case ConstraintIsSet, ConstraintIsNotSet:
		if c.LTarget == "" {
			v.add("LTarget", "operator %q needs an attribute", c.Operand)
		}
	default:
		v.add("Operand", "unknown constraint operator %q (use =, !=, <, <=, >, >=, regexp, version, semver, is_set or is_not_set)", c.Operand)
	}
	return v.err()
}

func copyConstraints(in []*Constraint) []*Constraint {
	if in == nil {
		return nil
	}
	out := make([]*Constraint, len(in))
	for i, c := range in {
		out[i] = c.Copy()
	}
	return out
}
