package jobspec

import (
	"fmt"
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
	"is_not_set": structs.ConstraintIsNotSet,
}

// notYetOperators are Nomad operators nomadlike's scheduler lacks.
var notYetOperators = map[string]bool{
	"distinct_hosts": true, "distinct_property": true,
	"set_contains": true, "set_contains_any": true, "set_contains_all": true,
}

const operatorList = "=, !=, <, <=, >, >=, regexp, version, semver, is_set or is_not_set"

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
		case notYetOperators[op]:
			d.errorf(attr.Expr.Range(), "Unsupported constraint operator",
				"operator %q is not supported yet by nomadlike; use %s", op, operatorList)
			ok = false
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
	for _, short := range []string{"version", "semver", "regexp"} {
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
	for _, short := range []string{"distinct_hosts", "distinct_property", "set_contains", "set_contains_any", "set_contains_all"} {
		if attr, has := a[short]; has {
			d.errorf(attr.NameRange, "Unsupported constraint",
				"the %s constraint is not supported yet by nomadlike; remove it or run this job on Nomad", short)
			ok = false
		}
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
