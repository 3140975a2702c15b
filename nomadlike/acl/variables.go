package acl

import (
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// VariablesRule is one path rule of a namespace rule's variables block: a
// path (a glob with "*") and its capabilities (read also gives list, as
// Nomad's).
type VariablesRule struct {
	Path         string
	Capabilities []string
}

var variablesSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "path", LabelNames: []string{"path"}}}}

var variablesPathSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "capabilities", Required: true}}}

// parseVariables parses a namespace rule's variables blocks.
func parseVariables(blocks hcl.Blocks, ns string) ([]*VariablesRule, error) {
	var out []*VariablesRule
	for _, vb := range blocks {
		content, diags := vb.Body.Content(variablesSchema)
		if diags.HasErrors() {
			return nil, parseErr("%s: namespace %q: variables: %s (write path \"prefix/*\" { capabilities = [\"read\"] } blocks)", vb.DefRange.String(), ns, diags.Error())
		}
		for _, pb := range content.Blocks {
			pc, diags := pb.Body.Content(variablesPathSchema)
			if diags.HasErrors() {
				return nil, parseErr("%s: namespace %q: variables path %q: %s", pb.DefRange.String(), ns, pb.Labels[0], diags.Error())
			}
			caps, err := stringList(pc.Attributes["capabilities"])
			if err != nil {
				return nil, err
			}
			r := &VariablesRule{Path: pb.Labels[0]}
			for _, c := range caps {
				if !slices.Contains(variablesCapabilities, c) {
					return nil, parseErr("%s: namespace %q: variables path %q: unknown capability %q (valid: %s)", pb.DefRange.String(), ns, r.Path, c, strings.Join(variablesCapabilities, ", "))
				}
				r.Capabilities = append(r.Capabilities, c)
			}
			if slices.Contains(r.Capabilities, VariablesCapabilityRead) && !slices.Contains(r.Capabilities, VariablesCapabilityList) {
				r.Capabilities = append(r.Capabilities, VariablesCapabilityList)
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// AllowVariableOp reports whether capability c (read, write, list,
// destroy) is granted on variable path in namespace ns: the namespace
// rule that applies to ns, then its path rule that applies to path (exact,
// else the glob with the most literal characters); deny wins.
func (a *ACL) AllowVariableOp(ns, path, c string) bool {
	if a == nil {
		return false
	}
	if a.management {
		return true
	}
	label, ok := a.namespaces.lookupLabel(ns)
	if !ok || a.namespaces.lookup(ns)["deny"] {
		return false
	}
	paths, ok := a.variables[label]
	if !ok {
		return false
	}
	set := paths.lookup(path)
	return set != nil && !set[VariablesCapabilityDeny] && set[c]
}

// AllowVariableList reports whether the token may list some variables of
// ns (any path rule with list); the list then keeps the paths it may list.
func (a *ACL) AllowVariableList(ns string) bool {
	if a == nil {
		return false
	}
	if a.management {
		return true
	}
	label, ok := a.namespaces.lookupLabel(ns)
	if !ok {
		return false
	}
	paths := a.variables[label]
	for _, m := range []map[string]capSet{paths.exact, paths.globs} {
		for _, set := range m {
			if set[VariablesCapabilityList] && !set[VariablesCapabilityDeny] {
				return true
			}
		}
	}
	return false
}
