package jobspec

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// checkReferences reports references to undeclared variables (var.NAME)
// and undefined local values (local.NAME) with a did-you-mean suggestion,
// which HCL's own message lacks. It returns false when it reported any.
func (d *decoder) checkReferences(expr hcl.Expression) bool {
	ok := true
	for _, t := range expr.Variables() {
		root := t.RootName()
		if root != "var" && root != "local" {
			continue
		}
		obj, defined := d.ctx.Variables[root]
		if !defined || len(t) < 2 || !obj.Type().IsObjectType() {
			continue
		}
		at, isAttr := t[1].(hcl.TraverseAttr)
		if !isAttr || obj.Type().HasAttribute(at.Name) {
			continue
		}
		var names []string
		for n := range obj.Type().AttributeTypes() {
			names = append(names, n)
		}
		kind, how := "variable", fmt.Sprintf("declare it with variable %q { ... }", at.Name)
		if root == "local" {
			kind, how = "local value", "define it in a locals block"
		}
		hint := how
		if s := suggest(at.Name, names); s != "" {
			hint = fmt.Sprintf("did you mean %s.%s?", root, s)
		}
		d.errorf(t.SourceRange(), "Undefined "+kind, "%s.%s is not defined; %s", root, at.Name, hint)
		ok = false
	}
	return ok
}
