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
// that evaluation leaves it for the client.
func keepRuntimeInterpolations(body *hclsyntax.Body, src []byte) {
	w := &runtimeWalker{src: src}
	_ = hclsyntax.Walk(body, w) // the walker never returns diagnostics
}

type runtimeWalker struct{ src []byte }

func (w *runtimeWalker) Enter(node hclsyntax.Node) hcl.Diagnostics {
	switch n := node.(type) {
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

func (w *runtimeWalker) Exit(hclsyntax.Node) hcl.Diagnostics { return nil }

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
	if !runtimeText().MatchString(text) {
		return nil, false
	}
	return &hclsyntax.LiteralValueExpr{Val: cty.StringVal("${" + text + "}"), SrcRange: r}, true
}
