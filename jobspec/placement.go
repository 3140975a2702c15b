package jobspec

import (
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

var affinitySpec = blockSpec{
	Attrs: []string{"attribute", "operator", "value", "weight",
		"version", "semver", "regexp", "set_contains", "set_contains_any", "set_contains_all"},
}

var spreadSpec = blockSpec{
	Attrs:  []string{"attribute", "weight"},
	Blocks: []hcl.BlockHeaderSchema{{Type: "target", LabelNames: []string{"value"}}},
}

var spreadTargetSpec = blockSpec{Attrs: []string{"value", "percent"}}

// decodeAffinities decodes every affinity block of c.
func (d *decoder) decodeAffinities(c *hcl.BodyContent) []*structs.Affinity {
	var out []*structs.Affinity
	for _, b := range blocksOf(c, "affinity") {
		if a := d.decodeAffinity(b); a != nil {
			out = append(out, a)
		}
	}
	return out
}

// decodeAffinity decodes one affinity block: a constraint's attribute,
// operator (default "=") and value, or one of their shorthands, plus a
// weight from -100 to 100 (default 50).
func (d *decoder) decodeAffinity(b *hcl.Block) *structs.Affinity {
	c := d.content(b.Body, affinitySpec)
	a := c.Attributes
	aff := &structs.Affinity{Operand: structs.ConstraintEqual, Weight: structs.DefaultAffinityWeight}
	d.setString(a, "attribute", &aff.LTarget)
	d.setString(a, "value", &aff.RTarget)
	ok := true
	if attr, has := a["operator"]; has {
		var op string
		d.setString(a, "operator", &op)
		switch operatorAliases[op] {
		case "", structs.ConstraintDistinctHosts, structs.ConstraintDistinctProperty:
			d.errorf(attr.Expr.Range(), "Invalid affinity operator",
				"operator %q cannot be used in an affinity; use =, !=, <, <=, >, >=, regexp, version, semver, is_set, is_not_set, set_contains, set_contains_all or set_contains_any", op)
			ok = false
		default:
			aff.Operand = operatorAliases[op]
		}
	}
	for _, short := range []string{"version", "semver", "regexp", "set_contains", "set_contains_any", "set_contains_all"} {
		attr, has := a[short]
		if !has {
			continue
		}
		if _, both := a["operator"]; both {
			d.errorf(attr.NameRange, "Conflicting affinity",
				"%s = ... is a shorthand for operator = %q and value = ...; use one form, not both", short, short)
			ok = false
			continue
		}
		aff.Operand = short
		d.setString(a, short, &aff.RTarget)
	}
	if attr, has := a["weight"]; has {
		var w int
		if d.setInt(a, "weight", &w) {
			if w < -100 || w > 100 || w == 0 {
				d.errorf(attr.Expr.Range(), "Invalid affinity weight",
					"weight must be between -100 and 100 and not 0, got %d; negative weights steer allocations away from matching nodes", w)
				ok = false
			} else {
				aff.Weight = int8(w)
			}
		}
	}
	if !ok {
		return nil
	}
	if err := aff.Validate(); err != nil {
		d.errorf(b.DefRange, "Invalid affinity", "%s", strings.TrimPrefix(err.Error(), "invalid: "))
		return nil
	}
	return aff
}

// decodeSpreads decodes every spread block of c.
func (d *decoder) decodeSpreads(c *hcl.BodyContent) []*structs.Spread {
	var out []*structs.Spread
	for _, b := range blocksOf(c, "spread") {
		if s := d.decodeSpread(b); s != nil {
			out = append(out, s)
		}
	}
	return out
}

// decodeSpread decodes one spread block: an attribute, a weight from 1 to
// 100 (default 50) and target "value" { percent = N } blocks.
func (d *decoder) decodeSpread(b *hcl.Block) *structs.Spread {
	c := d.content(b.Body, spreadSpec)
	a := c.Attributes
	s := &structs.Spread{Weight: structs.DefaultSpreadWeight}
	d.setString(a, "attribute", &s.Attribute)
	ok := true
	if _, has := a["attribute"]; !has {
		d.errorf(b.DefRange, "Missing spread attribute", "a spread block needs an attribute, for example attribute = \"${node.datacenter}\"")
		ok = false
	}
	if attr, has := a["weight"]; has {
		var w int
		if d.setInt(a, "weight", &w) {
			if w < 1 || w > 100 {
				d.errorf(attr.Expr.Range(), "Invalid spread weight", "weight must be between 1 and 100, got %d", w)
				ok = false
			} else {
				s.Weight = int8(w)
			}
		}
	}
	sum := 0
	for _, tb := range blocksOf(c, "target") {
		tc := d.content(tb.Body, spreadTargetSpec)
		t := &structs.SpreadTarget{Value: tb.Labels[0]}
		d.setString(tc.Attributes, "value", &t.Value)
		var pct int
		if attr, has := tc.Attributes["percent"]; has && d.setInt(tc.Attributes, "percent", &pct) {
			if pct < 0 || pct > 100 {
				d.errorf(attr.Expr.Range(), "Invalid spread target", "percent of target %q must be between 0 and 100, got %d", t.Value, pct)
				ok = false
				continue
			}
			t.Percent = uint8(pct)
		}
		sum += pct
		s.SpreadTarget = append(s.SpreadTarget, t)
	}
	if sum > 100 {
		d.errorf(b.DefRange, "Invalid spread", "the targets' percentages of %q add up to %d%%, more than 100%%", s.Attribute, sum)
		ok = false
	}
	if !ok {
		return nil
	}
	if err := s.Validate(); err != nil {
		d.errorf(b.DefRange, "Invalid spread", "%s", strings.TrimPrefix(err.Error(), "invalid: "))
		return nil
	}
	return s
}
