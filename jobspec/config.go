package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// decodeConfig decodes a driver's config block generically: each attribute
// into its Go value (see ctyToGo) and each nested block, by type, into a
// []any of maps, since drivers declare most blocks as repeatable.
func (d *decoder) decodeConfig(body hcl.Body) map[string]any {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		d.errorf(body.MissingItemRange(), "Unsupported config syntax", "config must be written in native HCL syntax")
		return nil
	}
	out := map[string]any{}
	for _, name := range sortedKeys(sb.Attributes) {
		a := sb.Attributes[name].AsHCLAttribute()
		v, ok := d.value(a)
		if !ok {
			continue
		}
		out[name] = ctyToGo(v)
	}
	for _, b := range sb.Blocks {
		if len(b.Labels) > 0 {
			d.errorf(b.LabelRanges[0], "Unsupported config block",
				"config block %q has a label; driver config blocks take no labels: write %s { ... }", b.Type, b.Type)
			continue
		}
		if _, clash := sb.Attributes[b.Type]; clash {
			d.errorf(b.TypeRange, "Duplicate config key",
				"%q is set both as an argument and as a block; use one form", b.Type)
			continue
		}
		list, _ := out[b.Type].([]any)
		out[b.Type] = append(list, d.decodeConfig(b.Body))
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
