package jobspec

import (
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// decoder evaluates and decodes one file's blocks, collecting diagnostics
// instead of stopping at the first problem.
type decoder struct {
	ctx   *hcl.EvalContext
	diags hcl.Diagnostics
	// ranges maps the field paths job.Validate uses (TaskGroups["web"],
	// TaskGroups["web"].Tasks["app"].Resources, ...) to source ranges.
	ranges map[string]hcl.Range
	// jobType is the job's type, for type-dependent policy defaults.
	jobType string
	// bodies indexes the file's syntax bodies by start offset (dynamic.go).
	bodies map[int]*hclsyntax.Body
	// jobUpdate and jobMigrate are the job-level update and migrate blocks,
	// the base of the groups' blocks (groups without a migrate block inherit
	// the job's).
	jobUpdate  *structs.UpdateStrategy
	jobMigrate *structs.MigrateStrategy
	// jobReschedule is the job-level reschedule block, the base of groups'.
	jobReschedule *structs.ReschedulePolicy
	// lenient (ValidateWithVars) drops what unsupported features leave in
	// the job (CSI volumes, their mounts) instead of letting them fail
	// validation a second time.
	lenient bool
	// droppedVolumes are the CSI volumes lenient dropped, by name.
	droppedVolumes map[string]bool
}

func (d *decoder) errorf(r hcl.Range, summary, format string, args ...any) {
	d.diags = append(d.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  r.Ptr(),
	})
}

// blockSpec describes what a block accepts. Unsupported lists Nomad blocks
// and arguments nomadlike does not implement yet, so they are reported as
// such rather than as typos.
type blockSpec struct {
	Attrs       []string
	Blocks      []hcl.BlockHeaderSchema
	Unsupported []string
	// Features are Unsupported names reported as unsupported features
	// (features.go) with what to use instead.
	Features []string
}

// content decodes body against spec. Unknown attributes and blocks become
// errors with a did-you-mean suggestion; unsupported Nomad features become
// "not supported yet" errors. Dynamic blocks generating a type spec accepts
// are expanded (see dynamic.go).
func (d *decoder) content(body hcl.Body, spec blockSpec) *hcl.BodyContent {
	schema := &hcl.BodySchema{Blocks: spec.Blocks}
	for _, a := range spec.Attrs {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: a})
	}
	unsupported := map[string]bool{}
	for _, u := range spec.Unsupported {
		unsupported[u] = true
	}
	features := map[string]bool{}
	for _, f := range spec.Features {
		unsupported[f] = true
		features[f] = true
	}
	known := map[string]bool{}
	for _, b := range spec.Blocks {
		known[b.Type] = true
	}
	reported := map[hcl.Range]bool{}
	if sb := d.syntaxOf(body); sb != nil {
		seen := map[string]bool{}
		for _, b := range sb.Blocks {
			typ, at, dynamic := blockType(b)
			if dynamic && !known[typ] && !unsupported[typ] {
				d.unexpectedDynamic(typ, at, spec)
				reported[at] = true
				continue
			}
			if !unsupported[typ] {
				continue
			}
			if features[typ] {
				d.feature(at, typ)
			} else {
				d.errorf(at, "Unsupported block",
					"block %q is not supported yet by nomadlike; remove it or run this job on Nomad", typ)
			}
			if dynamic {
				reported[at] = true
				continue
			}
			if !seen[b.Type] {
				seen[b.Type] = true
				labels := make([]string, len(b.Labels))
				for i := range labels {
					labels[i] = fmt.Sprintf("label%d", i)
				}
				schema.Blocks = append(schema.Blocks, hcl.BlockHeaderSchema{Type: b.Type, LabelNames: labels})
			}
		}
		for _, name := range sortedKeys(sb.Attributes) {
			if unsupported[name] {
				if features[name] {
					d.feature(sb.Attributes[name].NameRange, name)
				} else {
					d.errorf(sb.Attributes[name].NameRange, "Unsupported argument",
						"argument %q is not supported yet by nomadlike; remove it or run this job on Nomad", name)
				}
				schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
			}
		}
	}
	c, diags := body.Content(schema)
	d.diags = append(d.diags, dropDiags(diags, "Unsupported block type", reported)...)
	return c
}

// runtimeHint explains how to write values the client resolves at run time.
const runtimeHint = " Values the Nomad client resolves at run time must be written inside a string," +
	" for example \"${attr.kernel.name}\" or \"${NOMAD_PORT_http}\"; job variables are var.NAME" +
	" and local values local.NAME; to keep other ${...} text as it is, escape it as $${...}."

// value evaluates an attribute's expression; ok is false (with a diagnostic)
// when evaluation failed or the value is null.
func (d *decoder) value(a *hcl.Attribute) (cty.Value, bool) {
	if !d.checkReferences(a.Expr) {
		return cty.NilVal, false
	}
	v, diags := a.Expr.Value(d.ctx)
	for _, diag := range diags {
		if diag.Summary == "Unknown variable" {
			diag.Detail += runtimeHint
		}
	}
	d.diags = append(d.diags, diags...)
	if diags.HasErrors() {
		return cty.NilVal, false
	}
	if !v.IsWhollyKnown() {
		if d.diags.HasErrors() {
			// An unset or broken variable, already reported, made it unknown.
			return cty.NilVal, false
		}
		d.errorf(a.Expr.Range(), "Unknown value", "the value of %q cannot be known when the job is parsed", a.Name)
		return cty.NilVal, false
	}
	if v.IsNull() {
		d.errorf(a.Expr.Range(), "Null value", "%q is null; remove the argument to use its default", a.Name)
		return cty.NilVal, false
	}
	return v, true
}

// typed evaluates a and converts it to ty, reporting a located error naming
// the wanted type when the value does not convert.
func (d *decoder) typed(a *hcl.Attribute, ty cty.Type, example string) (cty.Value, bool) {
	v, ok := d.value(a)
	if !ok {
		return v, false
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		d.errorf(a.Expr.Range(), "Incorrect attribute value type",
			"%q must be %s (for example %s), got %s: %s", a.Name, ty.FriendlyName(), example, v.Type().FriendlyName(), err)
		return cty.NilVal, false
	}
	return cv, true
}

func (d *decoder) setString(attrs hcl.Attributes, name string, dst *string) {
	if a, ok := attrs[name]; ok {
		if v, ok := d.typed(a, cty.String, `"text"`); ok {
			*dst = v.AsString()
		}
	}
}

func (d *decoder) setBool(attrs hcl.Attributes, name string, dst *bool) {
	if a, ok := attrs[name]; ok {
		if v, ok := d.typed(a, cty.Bool, "true"); ok {
			*dst = v.True()
		}
	}
}

// setInt decodes a whole number; it reports fractions and out-of-range values.
func (d *decoder) setInt(attrs hcl.Attributes, name string, dst *int) bool {
	a, ok := attrs[name]
	if !ok {
		return false
	}
	v, ok := d.typed(a, cty.Number, "3")
	if !ok {
		return false
	}
	i, ok := wholeNumber(v.AsBigFloat())
	if !ok {
		d.errorf(a.Expr.Range(), "Invalid number", "%q must be a whole number, got %s", a.Name, v.AsBigFloat().Text('g', -1))
		return false
	}
	*dst = i
	return true
}

// wholeNumber returns f as an int when it is integral and fits.
func wholeNumber(f *big.Float) (int, bool) {
	if !f.IsInt() {
		return 0, false
	}
	i, acc := f.Int64()
	if acc != big.Exact || int64(int(i)) != i || i > 1<<53 || i < -(1<<53) {
		return 0, false
	}
	return int(i), true
}

// setDuration decodes a Go duration string such as "30s" or "1h30m".
func (d *decoder) setDuration(attrs hcl.Attributes, name string, dst *time.Duration) bool {
	a, ok := attrs[name]
	if !ok {
		return false
	}
	v, ok := d.value(a)
	if !ok {
		return false
	}
	if v.Type() != cty.String {
		d.errorf(a.Expr.Range(), "Invalid duration",
			"%q must be a duration string such as \"30s\", \"5m\" or \"1h30m\", got %s", a.Name, v.Type().FriendlyName())
		return false
	}
	dur, err := time.ParseDuration(strings.TrimSpace(v.AsString()))
	if err != nil {
		d.errorf(a.Expr.Range(), "Invalid duration",
			"%q is not a duration: %q; use a number with a unit (ns, us, ms, s, m, h) such as \"30s\", \"5m\" or \"1h30m\"", a.Name, v.AsString())
		return false
	}
	if dur < 0 {
		d.errorf(a.Expr.Range(), "Invalid duration", "%q cannot be negative, got %q", a.Name, v.AsString())
		return false
	}
	*dst = dur
	return true
}

// setStringList decodes a list of strings.
func (d *decoder) setStringList(attrs hcl.Attributes, name string, dst *[]string) {
	a, ok := attrs[name]
	if !ok {
		return
	}
	v, ok := d.typed(a, cty.List(cty.String), `["a", "b"]`)
	if !ok {
		return
	}
	out := make([]string, 0, v.LengthInt())
	for _, e := range v.AsValueSlice() {
		if e.IsNull() {
			d.errorf(a.Expr.Range(), "Null value", "%q holds a null element", a.Name)
			return
		}
		out = append(out, e.AsString())
	}
	*dst = out
}

// stringMap decodes a map of strings from an attribute (k = { a = "b" }).
func (d *decoder) stringMap(a *hcl.Attribute) map[string]string {
	v, ok := d.typed(a, cty.Map(cty.String), `{ key = "value" }`)
	if !ok {
		return nil
	}
	out := map[string]string{}
	for k, e := range v.AsValueMap() {
		if e.IsNull() {
			d.errorf(a.Expr.Range(), "Null value", "%q holds a null value for key %q", a.Name, k)
			continue
		}
		out[k] = e.AsString()
	}
	return out
}

// mapAttrOrBlock decodes a string map that may be written as an attribute
// (meta = { k = "v" }) or as a block (meta { k = "v" }); both may appear and
// are merged, the block winning on conflicts.
func (d *decoder) mapAttrOrBlock(c *hcl.BodyContent, name string) map[string]string {
	var out map[string]string
	if a, ok := c.Attributes[name]; ok {
		out = d.stringMap(a)
	}
	for _, b := range c.Blocks {
		if b.Type != name {
			continue
		}
		attrs := d.justAttributes(b.Body)
		if out == nil {
			out = map[string]string{}
		}
		for k, a := range attrs {
			if v, ok := d.typed(a, cty.String, `"text"`); ok {
				out[k] = v.AsString()
			}
		}
	}
	return out
}

// blocksOf returns c's blocks of type typ, in source order.
func blocksOf(c *hcl.BodyContent, typ string) []*hcl.Block {
	var out []*hcl.Block
	for _, b := range c.Blocks {
		if b.Type == typ {
			out = append(out, b)
		}
	}
	return out
}

// single returns the only block of type typ, reporting any repeat.
func (d *decoder) single(c *hcl.BodyContent, typ string) *hcl.Block {
	bs := blocksOf(c, typ)
	if len(bs) == 0 {
		return nil
	}
	for _, b := range bs[1:] {
		d.errorf(b.DefRange, "Duplicate block",
			"only one %q block is allowed here; the first is at line %d", typ, bs[0].DefRange.Start.Line)
	}
	return bs[0]
}
