package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Dynamic blocks (dynamic "port" { for_each = ...; content { ... } }) are
// expanded by hcl's dynblock extension: decodeJob wraps the job body with
// dynblock.Expand, so every body below it is an expanding wrapper whose
// Content generates the blocks. The wrappers hide the syntax tree, which the
// decoder needs to tell unsupported Nomad blocks from typos and to decode
// driver config generically, so every body of the file is indexed by where
// it starts and looked up again with syntaxOf.

// indexBodies records every body under root by its start offset.
func indexBodies(root *hclsyntax.Body) map[int]*hclsyntax.Body {
	w := bodyIndexer{}
	_ = hclsyntax.Walk(root, w) // the walker never returns diagnostics
	return w
}

type bodyIndexer map[int]*hclsyntax.Body

func (w bodyIndexer) Enter(node hclsyntax.Node) hcl.Diagnostics {
	if b, ok := node.(*hclsyntax.Body); ok {
		w[b.SrcRange.Start.Byte] = b
	}
	return nil
}

func (w bodyIndexer) Exit(hclsyntax.Node) hcl.Diagnostics { return nil }

// syntaxOf returns the syntax of body, which may be wrapped by dynblock, or
// nil when it is not native syntax.
func (d *decoder) syntaxOf(body hcl.Body) *hclsyntax.Body {
	if sb, ok := body.(*hclsyntax.Body); ok {
		return sb
	}
	if body == nil {
		return nil
	}
	r := body.MissingItemRange()
	sb := d.bodies[r.Start.Byte]
	if sb == nil || sb.SrcRange.Filename != r.Filename {
		return nil
	}
	return sb
}

// blockType returns the type of block a syntax block makes: its own, or for
// dynamic "x" { ... } the generated type x and where that label is.
func blockType(b *hclsyntax.Block) (typ string, at hcl.Range, dynamic bool) {
	if b.Type == "dynamic" && len(b.Labels) == 1 {
		return b.Labels[0], b.LabelRanges[0], true
	}
	return b.Type, b.TypeRange, false
}

// unexpectedDynamic reports a dynamic block generating a type the body does
// not accept, with a did-you-mean suggestion as HCL gives for static blocks.
func (d *decoder) unexpectedDynamic(typ string, at hcl.Range, spec blockSpec) {
	var names []string
	for _, b := range spec.Blocks {
		names = append(names, b.Type)
	}
	hint := ""
	if s := suggest(typ, names); s != "" {
		hint = fmt.Sprintf(" Did you mean %q?", s)
	}
	d.errorf(at, "Unsupported block type", "Blocks of type %q are not expected here.%s", typ, hint)
}

// dropDiags removes the diagnostics with summary located at one of ranges
// (dynblock's own report of a dynamic block the decoder already reported).
func dropDiags(diags hcl.Diagnostics, summary string, ranges map[hcl.Range]bool) hcl.Diagnostics {
	if len(ranges) == 0 {
		return diags
	}
	out := diags[:0]
	for _, diag := range diags {
		if diag.Summary == summary && diag.Subject != nil && ranges[*diag.Subject] {
			continue
		}
		out = append(out, diag)
	}
	return out
}

// justAttributes returns the attributes of a body that takes no blocks (meta,
// env), keeping the iteration variables of an enclosing dynamic block.
func (d *decoder) justAttributes(body hcl.Body) hcl.Attributes {
	sb := d.syntaxOf(body)
	if sb == nil || hcl.Body(sb) == body {
		attrs, diags := body.JustAttributes()
		d.diags = append(d.diags, diags...)
		return attrs
	}
	_, diags := sb.JustAttributes() // reports any block
	d.diags = append(d.diags, diags...)
	schema := &hcl.BodySchema{}
	for _, name := range sortedKeys(sb.Attributes) {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
	}
	c, _, diags := body.PartialContent(schema)
	d.diags = append(d.diags, diags...)
	return c.Attributes
}
