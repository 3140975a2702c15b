package structs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

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

	// ConstraintSetContains (and its alias ConstraintSetContainsAll) holds
	// when the attribute, a comma-separated set, holds every value listed.
	ConstraintSetContains    = "set_contains"
	ConstraintSetContainsAll = "set_contains_all"
	// ConstraintSetContainsAny holds when the attribute holds any value listed.
	ConstraintSetContainsAny = "set_contains_any"
	// ConstraintDistinctHosts keeps two allocations of the job (job level) or
	// of the group (group level) off one node. RTarget is "" or a boolean.
	ConstraintDistinctHosts = "distinct_hosts"
	// ConstraintDistinctProperty allows at most RTarget (default 1)
	// allocations of the job or group per value of the LTarget attribute.
	ConstraintDistinctProperty = "distinct_property"
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
	switch c.Operand {
	case ConstraintIsSet, ConstraintIsNotSet:
		return fmt.Sprintf("%s %s", c.LTarget, c.Operand)
	case ConstraintDistinctHosts:
		return ConstraintDistinctHosts
	case ConstraintDistinctProperty:
		return fmt.Sprintf("%s %s %d", ConstraintDistinctProperty, c.LTarget, c.DistinctLimit())
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
	case ConstraintSetContains, ConstraintSetContainsAll, ConstraintSetContainsAny:
		if c.LTarget == "" {
			v.add("LTarget", "operator %q needs an attribute", c.Operand)
		}
		if strings.TrimSpace(c.RTarget) == "" {
			v.add("RTarget", "operator %q needs a comma-separated list of values", c.Operand)
		}
	case ConstraintDistinctHosts:
		if c.RTarget != "" {
			if _, err := strconv.ParseBool(c.RTarget); err != nil {
				v.add("RTarget", "distinct_hosts takes true or false, got %q", c.RTarget)
			}
		}
	case ConstraintDistinctProperty:
		if c.LTarget == "" {
			v.add("LTarget", "distinct_property needs an attribute, for example \"${meta.rack}\"")
		}
		if c.RTarget != "" {
			if n, err := strconv.Atoi(c.RTarget); err != nil || n < 1 {
				v.add("RTarget", "the distinct_property limit must be a whole number of at least 1, got %q", c.RTarget)
			}
		}
	default:
		v.add("Operand", "unknown constraint operator %q (use %s)", c.Operand, ConstraintOperators)
	}
	return v.err()
}

// ConstraintOperators lists the operators, for messages.
const ConstraintOperators = "=, !=, <, <=, >, >=, regexp, version, semver, is_set, is_not_set, " +
	"set_contains, set_contains_all, set_contains_any, distinct_hosts or distinct_property"

// DistinctHosts reports whether c is an enabled distinct_hosts constraint.
func (c *Constraint) DistinctHosts() bool {
	if c.Operand != ConstraintDistinctHosts {
		return false
	}
	if c.RTarget == "" {
		return true
	}
	b, err := strconv.ParseBool(c.RTarget)
	return err == nil && b
}

// DistinctLimit is a distinct_property constraint's limit per value (default 1).
func (c *Constraint) DistinctLimit() int {
	if n, err := strconv.Atoi(c.RTarget); err == nil && n > 0 {
		return n
	}
	return 1
}

// Dynamic reports whether c depends on where other allocations run
// (distinct_hosts, distinct_property) rather than on the node alone.
func (c *Constraint) Dynamic() bool {
	return c.Operand == ConstraintDistinctHosts || c.Operand == ConstraintDistinctProperty
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
