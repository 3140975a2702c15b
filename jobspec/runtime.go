package jobspec

import (
	"regexp"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// runtimeRoots are the roots of interpolations the Nomad client resolves
// when it runs a task, not when the job is parsed.
var runtimeRoots = map[string]bool{"attr": true, "node": true, "meta": true, "device": true}

// runtimeText matches the text of an interpolation the client resolves:
// attr.kernel.name, node.unique.name, meta.rack, attr.unique.network.ip-address,
// device.attr.memory, NOMAD_PORT_http, NOMAD_META_my-key, HOME. Dashes are
// allowed because Nomad's attribute names use them, though HCL would read
// them as subtraction.
var runtimeText = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(
		`^(?:(?:attr|node|meta|device)(?:\.[A-Za-z0-9_\-]+|\[\s*"[^"]*"\s*\])+` +
			`|NOMAD_[A-Za-z0-9_\-]*` +
			`|[A-Z][A-Z0-9_]*)$`)
})

// keepRuntimeInterpolations rewrites, in place, every template interpolation
// that the Nomad client resolves at run time into literal "${...}" text, so
// that evaluation leaves it for the client. A bare lower-case name that is
// no variable or local value of the file ("${scheme}" in an nginx config
// held in a template's data) is kept as text too, as Nomad keeps names it
// does not know; a dotted one ("${vr.image}") or the name of a variable
// or local value ("${image}" for var.image) is still an error.
func keepRuntimeInterpolations(body *hclsyntax.Body, src []byte) {
	w := &runtimeWalker{src: src, declared: map[string]bool{"var": true, "local": true}, bound: map[string]int{}}
	for _, b := range body.Blocks {
		switch {
		case b.Type == "variable" && len(b.Labels) > 0:
			w.declared[b.Labels[0]] = true
		case b.Type == "locals":
			for name := range b.Body.Attributes {
				w.declared[name] = true
			}
		}
	}
	_ = hclsyntax.Walk(body, w) // the walker never returns diagnostics
}

type runtimeWalker struct {
	src []byte
	// declared are the roots evaluation knows (var, local) and the names
	// of the file's variables and local values.
	declared map[string]bool
	// bound counts the enclosing for expressions binding each name.
	bound map[string]int
}

func (w *runtimeWalker) Enter(node hclsyntax.Node) hcl.Diagnostics {
	switch n := node.(type) {
	case *hclsyntax.ForExpr:
		w.bind(n, 1)
	case *hclsyntax.TemplateExpr:
		for i, part := range n.Parts {
			if lit, ok := w.literal(part); ok {
				n.Parts[i] = lit
			}
		}
	case *hclsyntax.TemplateWrapExpr:
		if lit, ok := w.literal(n.Wrapped); ok {
			n.Wrapped = lit
		}
	}
	return nil
}

func (w *runtimeWalker) Exit(node hclsyntax.Node) hcl.Diagnostics {
	if n, ok := node.(*hclsyntax.ForExpr); ok {
		w.bind(n, -1)
	}
	return nil
}

// bind counts the names a for expression binds in its body, in scope
// (delta 1) or no longer (-1).
func (w *runtimeWalker) bind(n *hclsyntax.ForExpr, delta int) {
	for _, name := range []string{n.KeyVar, n.ValVar} {
		if name != "" {
			w.bound[name] += delta
		}
	}
}

// literal returns the literal "${text}" replacement for a runtime
// interpolation, or false when expr is something to evaluate now.
func (w *runtimeWalker) literal(expr hclsyntax.Expression) (hclsyntax.Expression, bool) {
	if _, isLit := expr.(*hclsyntax.LiteralValueExpr); isLit {
		return nil, false
	}
	if _, isTmpl := expr.(*hclsyntax.TemplateExpr); isTmpl {
		return nil, false
	}
	r := expr.Range()
	if r.Start.Byte < 0 || r.End.Byte > len(w.src) || r.Start.Byte >= r.End.Byte {
		return nil, false
	}
	text := strings.TrimSpace(string(w.src[r.Start.Byte:r.End.Byte]))
	if !runtimeText().MatchString(text) && !w.unknownName(expr) {
		return nil, false
	}
	return &hclsyntax.LiteralValueExpr{Val: cty.StringVal("${" + text + "}"), SrcRange: r}, true
}

// unknownName reports whether expr is a bare name (no attribute or index)
// that evaluation does not know: no variable, local value or root.
func (w *runtimeWalker) unknownName(expr hclsyntax.Expression) bool {
	st, ok := expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 1 {
		return false
	}
	name := st.Traversal.RootName()
	return !w.declared[name] && w.bound[name] == 0
}
