package scheduler

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/hashicorp/go-version"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// resolveTarget interpolates a constraint target against node. A literal
// resolves to itself; ${attr.X}, ${meta.X} and ${node.*} resolve to the node's
// value and report false when the node has none.
func resolveTarget(target string, node *structs.Node) (string, bool) {
	if !strings.HasPrefix(target, "${") || !strings.HasSuffix(target, "}") {
		return target, true
	}
	name := target[2 : len(target)-1]
	switch name {
	case "node.unique.id":
		return node.ID, true
	case "node.unique.name":
		return node.Name, true
	case "node.datacenter":
		return node.Datacenter, true
	case "node.class":
		return node.NodeClass, true
	case "node.pool":
		return nodePool(node), true
	}
	if k, ok := strings.CutPrefix(name, "attr."); ok {
		v, found := node.Attributes[k]
		return v, found
	}
	if k, ok := strings.CutPrefix(name, "meta."); ok {
		v, found := node.Meta[k]
		return v, found
	}
	return "", false
}

// nodePool returns the node's pool, "default" when unset.
func nodePool(n *structs.Node) string {
	if n.NodePool == "" {
		return structs.DefaultNodePool
	}
	return n.NodePool
}

// constraintChecker evaluates constraints, caching compiled regular
// expressions and version constraints for one evaluation.
type constraintChecker struct {
	regexps  map[string]*regexp.Regexp
	versions map[string]version.Constraints
}

func newConstraintChecker() *constraintChecker {
	return &constraintChecker{regexps: map[string]*regexp.Regexp{}, versions: map[string]version.Constraints{}}
}

// meets reports whether node satisfies c.
func (cc *constraintChecker) meets(c *structs.Constraint, node *structs.Node) bool {
	l, lok := resolveTarget(c.LTarget, node)
	r, rok := resolveTarget(c.RTarget, node)
	switch c.Operand {
	case structs.ConstraintEqual, "==", "is":
		return lok && rok && l == r
	case structs.ConstraintNotEqual, "not":
		return !(lok && rok && l == r) && !(!lok && !rok)
	case structs.ConstraintLess, structs.ConstraintLessEq, structs.ConstraintGreater, structs.ConstraintGreaterEq:
		return lok && rok && checkOrder(c.Operand, l, r)
	case structs.ConstraintRegex:
		return lok && rok && cc.matchRegexp(r, l)
	case structs.ConstraintVersion:
		return lok && rok && cc.matchVersion(r, l, false)
	case structs.ConstraintSemver:
		return lok && rok && cc.matchVersion(r, l, true)
	case structs.ConstraintIsSet:
		return lok
	case structs.ConstraintIsNotSet:
		return !lok
	case structs.ConstraintSetContains, structs.ConstraintSetContainsAll:
		return lok && rok && setContains(l, r, true)
	case structs.ConstraintSetContainsAny:
		return lok && rok && setContains(l, r, false)
	}
	// Unknown operators are rejected by Constraint.Validate; a job that slipped
	// past it matches no node, so the metrics name the constraint.
	return false
}

// setContains reports whether the comma-separated set have holds every
// (all) or any (!all) value of the comma-separated list want. Blanks around
// items are ignored, as Nomad does.
func setContains(have, want string, all bool) bool {
	set := map[string]bool{}
	for _, v := range strings.Split(have, ",") {
		set[strings.TrimSpace(v)] = true
	}
	for _, v := range strings.Split(want, ",") {
		ok := set[strings.TrimSpace(v)]
		if ok && !all {
			return true
		}
		if !ok && all {
			return false
		}
	}
	return all
}

// checkOrder compares numerically when both sides parse as numbers, lexically otherwise.
func checkOrder(op, l, r string) bool {
	var cmp int
	lf, lerr := strconv.ParseFloat(l, 64)
	rf, rerr := strconv.ParseFloat(r, 64)
	switch {
	case lerr == nil && rerr == nil:
		switch {
		case lf < rf:
			cmp = -1
		case lf > rf:
			cmp = 1
		}
	default:
		cmp = strings.Compare(l, r)
	}
	switch op {
	case structs.ConstraintLess:
		return cmp < 0
	case structs.ConstraintLessEq:
		return cmp <= 0
	case structs.ConstraintGreater:
		return cmp > 0
	case structs.ConstraintGreaterEq:
		return cmp >= 0
	}
	return false
}

func (cc *constraintChecker) matchRegexp(pattern, value string) bool {
	re, ok := cc.regexps[pattern]
	if !ok {
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			re = nil
		}
		cc.regexps[pattern] = re
	}
	return re != nil && re.MatchString(value)
}

// matchVersion checks value against the constraint text. With strict, value
// must be a semantic version (semver); otherwise a loose version is accepted
// and a pre-release is compared on its core version, as Nomad's "version" does.
func (cc *constraintChecker) matchVersion(constraint, value string, strict bool) bool {
	key := constraint
	cons, ok := cc.versions[key]
	if !ok {
		var err error
		if cons, err = version.NewConstraint(constraint); err != nil {
			cons = nil
		}
		cc.versions[key] = cons
	}
	if cons == nil {
		return false
	}
	var v *version.Version
	var err error
	if strict {
		v, err = version.NewSemver(value)
	} else {
		v, err = version.NewVersion(value)
		if err == nil && v.Prerelease() != "" {
			v = v.Core()
		}
	}
	if err != nil {
		return false
	}
	return cons.Check(v)
}
