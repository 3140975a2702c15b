package jobspec

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// envVarPrefix prefixes environment variables that set job variables.
const envVarPrefix = "NOMAD_VAR_"

// variable is one declared input variable.
type variable struct {
	name  string
	typ   cty.Type // cty.DynamicPseudoType when no type is declared
	block *hcl.Block
	value cty.Value // cty.NilVal until a default or an override sets it
	from  string
}

var variableSpec = blockSpec{
	Attrs:       []string{"type", "default", "description"},
	Unsupported: []string{"validation", "sensitive"},
}

// decodeVariables decodes variable blocks and applies, in increasing
// precedence, defaults, NOMAD_VAR_<name> environment variables and vars.
// It returns the object for the var root.
func (d *decoder) decodeVariables(blocks []*hcl.Block, env []string, vars map[string]string) cty.Value {
	declared := map[string]*variable{}
	for _, b := range blocks {
		name := b.Labels[0]
		if prev, ok := declared[name]; ok {
			d.errorf(b.LabelRanges[0], "Duplicate variable",
				"variable %q is already declared at line %d", name, prev.block.DefRange.Start.Line)
			continue
		}
		if !hclsyntax.ValidIdentifier(name) {
			d.errorf(b.LabelRanges[0], "Invalid variable name",
				"%q is not a valid name: use letters, digits, underscores and dashes, starting with a letter", name)
			continue
		}
		v := &variable{name: name, typ: cty.DynamicPseudoType, block: b}
		declared[name] = v
		c := d.content(b.Body, variableSpec)
		if a, ok := c.Attributes["type"]; ok {
			ty, diags := typeexpr.TypeConstraint(a.Expr)
			d.diags = append(d.diags, diags...)
			if !diags.HasErrors() {
				v.typ = ty
			}
		}
		if a, ok := c.Attributes["description"]; ok {
			var s string
			d.setString(hcl.Attributes{"description": a}, "description", &s)
		}
		if a, ok := c.Attributes["default"]; ok {
			val, diags := a.Expr.Value(&hcl.EvalContext{Functions: d.ctx.Functions})
			d.diags = append(d.diags, diags...)
			if !diags.HasErrors() {
				if cv, err := convert.Convert(val, v.typ); err != nil {
					d.errorf(a.Expr.Range(), "Invalid default value for variable",
						"the default of %q does not match its type %s: %s", name, v.typ.FriendlyName(), err)
				} else {
					v.value, v.from = cv, "default"
				}
			}
		}
	}

	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, envVarPrefix) {
			continue
		}
		name = strings.TrimPrefix(name, envVarPrefix)
		if v := declared[name]; v != nil {
			// Variables of other jobs may be set in the environment too, so an
			// undeclared one is not an error here.
			d.assign(v, val, fmt.Sprintf("<value for var.%s from environment variable %s%s>", name, envVarPrefix, name), "env")
		}
	}

	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		src := fmt.Sprintf("<value for var.%s from -var>", name)
		v := declared[name]
		if v == nil {
			known := make([]string, 0, len(declared))
			for n := range declared {
				known = append(known, n)
			}
			slices.Sort(known)
			hint := "declare it with a variable block in the job file"
			if s := suggest(name, known); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			d.diags = append(d.diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Undeclared variable",
				Detail:   fmt.Sprintf("-var %q sets a variable the job does not declare; %s", name, hint),
				Subject:  &hcl.Range{Filename: src},
			})
			continue
		}
		d.assign(v, vars[name], src, "-var")
	}

	obj := map[string]cty.Value{}
	for name, v := range declared {
		if v.value == cty.NilVal {
			d.errorf(v.block.DefRange, "Unset variable",
				"variable %q has no default and no value: set it with -var %s=VALUE or the environment variable %s%s",
				name, name, envVarPrefix, name)
			obj[name] = cty.DynamicVal
			continue
		}
		obj[name] = v.value
	}
	return cty.ObjectVal(obj)
}

// assign sets v from text: as a literal string for string, number and
// untyped variables (so -var image=redis:7 works), otherwise parsed as an
// HCL expression (so -var 'ports=[80, 443]' works), as Nomad does.
func (d *decoder) assign(v *variable, text, src, from string) {
	var val cty.Value
	switch v.typ {
	case cty.String, cty.Number, cty.Bool, cty.DynamicPseudoType:
		val = cty.StringVal(text)
	default:
		if diag := CheckBounds(src, []byte(text)); diag != nil {
			d.diags = append(d.diags, diag)
			return
		}
		expr, diags := hclsyntax.ParseExpression([]byte(text), src, hcl.Pos{Line: 1, Column: 1})
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			return
		}
		val, diags = expr.Value(&hcl.EvalContext{Functions: d.ctx.Functions})
		d.diags = append(d.diags, diags...)
		if diags.HasErrors() {
			return
		}
	}
	cv, err := convert.Convert(val, v.typ)
	if err != nil {
		d.diags = append(d.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("the value %q for var.%s does not match its type %s: %s", text, v.name, v.typ.FriendlyName(), err),
			Subject:  &hcl.Range{Filename: src},
		})
		return
	}
	v.value, v.from = cv, from
}

// decodeLocals evaluates every locals block's attributes, in dependency
// order, and returns the object for the local root.
func (d *decoder) decodeLocals(blocks []*hcl.Block) cty.Value {
	pending := map[string]*hcl.Attribute{}
	for _, b := range blocks {
		attrs, diags := b.Body.JustAttributes()
		d.diags = append(d.diags, diags...)
		for name, a := range attrs {
			if prev, ok := pending[name]; ok {
				d.errorf(a.NameRange, "Duplicate local value",
					"local.%s is already defined at line %d", name, prev.NameRange.Start.Line)
				continue
			}
			pending[name] = a
		}
	}
	done := map[string]cty.Value{}
	for len(pending) > 0 {
		progress := false
		for _, name := range sortedKeys(pending) {
			a := pending[name]
			if !localsReady(a.Expr, pending, name) {
				continue
			}
			ctx := d.ctx.NewChild()
			ctx.Variables = map[string]cty.Value{"local": cty.ObjectVal(done)}
			v, diags := a.Expr.Value(ctx)
			d.diags = append(d.diags, diags...)
			if diags.HasErrors() {
				v = cty.DynamicVal
			}
			done[name] = v
			delete(pending, name)
			progress = true
		}
		if !progress {
			for _, name := range sortedKeys(pending) {
				d.errorf(pending[name].NameRange, "Circular local value",
					"local.%s refers to itself through other local values; break the cycle", name)
			}
			break
		}
	}
	return cty.ObjectVal(done)
}

// localsReady reports whether expr refers to no local value still pending
// (other than self, which evaluation then reports).
func localsReady(expr hcl.Expression, pending map[string]*hcl.Attribute, self string) bool {
	for _, t := range expr.Variables() {
		if t.RootName() != "local" || len(t) < 2 {
			continue
		}
		if at, ok := t[1].(hcl.TraverseAttr); ok && at.Name != self {
			if _, waiting := pending[at.Name]; waiting {
				return false
			}
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
