package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// decodeConfig decodes a driver's config block generically: each attribute
// into its Go value (see ctyToGo) and each nested block, by type, into a
// []any of maps, since drivers declare most blocks as repeatable. Dynamic
// blocks generate nested blocks like anywhere else.
func (d *decoder) decodeConfig(body hcl.Body) map[string]any {
	return d.decodeFreeform(body, false)
}

// decodePolicy decodes a scaling policy body as Nomad stores it: like a
// config body, but a block may carry one label, kept as HCL1 did:
// check "cpu" { ... } is "check": [{"cpu": [{...}]}] (the shape the
// nomad-autoscaler reads).
func (d *decoder) decodePolicy(body hcl.Body) map[string]any {
	return d.decodeFreeform(body, true)
}

// decodeFreeform decodes a body with no fixed schema into plain Go values;
// labels allows blocks with one label (see decodePolicy).
func (d *decoder) decodeFreeform(body hcl.Body, labels bool) map[string]any {
	sb := d.syntaxOf(body)
	if sb == nil {
		d.errorf(body.MissingItemRange(), "Unsupported config syntax", "config must be written in native HCL syntax")
		return nil
	}
	schema := &hcl.BodySchema{}
	for _, name := range sortedKeys(sb.Attributes) {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
	}
	types := map[string]bool{}
	for _, b := range sb.Blocks {
		typ, at, dynamic := blockType(b)
		if labels && !dynamic && len(b.Labels) == 1 {
			if !types[typ] {
				types[typ] = true
				schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: typ, LabelNames: []string{"name"}})
			}
			continue
		}
		if !dynamic && len(b.Labels) > 0 {
			d.errorf(b.LabelRanges[0], "Unsupported config block",
				"config block %q has a label; driver config blocks take no labels: write %s { ... }", b.Type, b.Type)
			continue
		}
		if _, clash := sb.Attributes[typ]; clash {
			d.errorf(at, "Duplicate config key",
				"%q is set both as an argument and as a block; use one form", typ)
			continue
		}
		if !types[typ] {
			types[typ] = true
			schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: typ})
		}
	}
	c, _, diags := body.PartialContent(schema)
	d.diags = append(d.diags, diags...)
	out := map[string]any{}
	for _, name := range sortedKeys(c.Attributes) {
		v, ok := d.value(c.Attributes[name])
		if !ok {
			continue
		}
		out[name] = ctyToGo(v)
	}
	for _, b := range c.Blocks {
		list, _ := out[b.Type].([]any)
		inner := d.decodeFreeform(b.Body, labels)
		if len(b.Labels) == 1 {
			out[b.Type] = append(list, map[string]any{b.Labels[0]: []any{inner}})
			continue
		}
		out[b.Type] = append(list, inner)
	}
	return out
}

// ctyToGo converts a known, non-null value into plain Go values: string,
// bool, int when integral (float64 otherwise), []any and map[string]any.
func ctyToGo(v cty.Value) any {
	if v.IsNull() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString()
	case ty == cty.Bool:
		return v.True()
	case ty == cty.Number:
		bf := v.AsBigFloat()
		if i, ok := wholeNumber(bf); ok {
			return i
		}
		f, _ := bf.Float64()
		return f
	case ty.IsListType() || ty.IsTupleType() || ty.IsSetType():
		out := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			out = append(out, ctyToGo(e))
		}
		return out
	case ty.IsMapType() || ty.IsObjectType():
		out := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			out[k.AsString()] = ctyToGo(e)
		}
		return out
	default:
		return fmt.Sprintf("%#v", v)
	}
}
