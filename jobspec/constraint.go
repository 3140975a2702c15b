package jobspec

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var constraintSpec = blockSpec{
	Attrs: []string{"attribute", "operator", "value",
		"version", "semver", "regexp", "distinct_hosts", "distinct_property",
		"set_contains", "set_contains_any", "set_contains_all"},
}

// operatorAliases maps the spellings Nomad accepts to nomadlike's operators.
var operatorAliases = map[string]string{
	"=": structs.ConstraintEqual, "==": structs.ConstraintEqual, "is": structs.ConstraintEqual,
	"!=": structs.ConstraintNotEqual, "not": structs.ConstraintNotEqual,
	"<": structs.ConstraintLess, "<=": structs.ConstraintLessEq,
	">": structs.ConstraintGreater, ">=": structs.ConstraintGreaterEq,
	"regexp": structs.ConstraintRegex, "version": structs.ConstraintVersion,
	"semver": structs.ConstraintSemver, "is_set": structs.ConstraintIsSet,
	"is_not_set":   structs.ConstraintIsNotSet,
	"set_contains": structs.ConstraintSetContains, "set_contains_all": structs.ConstraintSetContainsAll,
	"set_contains_any": structs.ConstraintSetContainsAny,
	"distinct_hosts":   structs.ConstraintDistinctHosts, "distinct_property": structs.ConstraintDistinctProperty,
}

const operatorList = structs.ConstraintOperators

// decodeConstraints decodes every constraint block of c.
func (d *decoder) decodeConstraints(c *hcl.BodyContent) []*structs.Constraint {
	var out []*structs.Constraint
	for _, b := range blocksOf(c, "constraint") {
		if con := d.decodeConstraint(b); con != nil {
			out = append(out, con)
		}
	}
	return out
}

// decodeConstraint decodes one constraint block, including Nomad's
// shorthands (version = ">= 1.2" instead of operator and value).
func (d *decoder) decodeConstraint(b *hcl.Block) *structs.Constraint {
	c := d.content(b.Body, constraintSpec)
	a := c.Attributes
	con := &structs.Constraint{Operand: structs.ConstraintEqual}
	d.setString(a, "attribute", &con.LTarget)
	d.setString(a, "value", &con.RTarget)
	ok := true
	if attr, has := a["operator"]; has {
		var op string
		d.setString(a, "operator", &op)
		switch {
		case operatorAliases[op] != "":
			con.Operand = operatorAliases[op]
		default:
			hint := ""
			if s := suggest(op, sortedKeys(operatorAliases)); s != "" {
				hint = fmt.Sprintf(" Did you mean %q?", s)
			}
			d.errorf(attr.Expr.Range(), "Invalid constraint operator",
				"unknown operator %q; use %s.%s", op, operatorList, hint)
			ok = false
		}
	}
	for _, short := range []string{"version", "semver", "regexp", "set_contains", "set_contains_any", "set_contains_all"} {
		attr, has := a[short]
		if !has {
			continue
		}
		if _, both := a["operator"]; both {
			d.errorf(attr.NameRange, "Conflicting constraint",
				"%s = ... is a shorthand for operator = %q and value = ...; use one form, not both", short, short)
			ok = false
			continue
		}
		con.Operand = short
		d.setString(a, short, &con.RTarget)
	}
	for _, short := range []string{"distinct_hosts", "distinct_property"} {
		attr, has := a[short]
		if !has {
			continue
		}
		if _, both := a["operator"]; both {
			d.errorf(attr.NameRange, "Conflicting constraint",
				"%s = ... is a shorthand for operator = %q; use one form, not both", short, short)
			ok = false
			continue
		}
		con.Operand = short
		if short == "distinct_hosts" {
			// distinct_hosts = true; the value, if any, is ignored as Nomad does.
			var on bool
			d.setBool(a, short, &on)
			con.RTarget = strconv.FormatBool(on)
			continue
		}
		// distinct_property = "${meta.rack}", with value = limit.
		d.setString(a, short, &con.LTarget)
	}
	if !ok {
		return nil
	}
	if err := con.Validate(); err != nil {
		d.errorf(b.DefRange, "Invalid constraint", "%s", strings.TrimPrefix(err.Error(), "invalid: "))
		return nil
	}
	return con
}
