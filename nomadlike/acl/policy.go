package acl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

// MaxPolicyBytes bounds the size of a policy's rules.
const MaxPolicyBytes = 64 << 10

// Policy is a parsed ACL policy.
type Policy struct {
	Namespaces  []*LabeledRule
	NodePools   []*LabeledRule
	HostVolumes []*LabeledRule
	// Node, Agent, Operator, Quota and Plugin are coarse dispositions ("" when absent).
	Node     string
	Agent    string
	Operator string
	Quota    string
	Plugin   string
}

// LabeledRule is a namespace, node_pool or host_volume rule: a label (a
// name or a glob) and the capabilities it grants, with the policy shorthand
// already expanded.
type LabeledRule struct {
	Name         string
	Policy       string
	Capabilities []string
	// Variables are a namespace rule's variable path rules.
	Variables []*VariablesRule
}

// ParseError is a policy that does not parse or uses unknown values; its
// message names the place (file:line:col) and what to change.
type ParseError struct {
	Msg string
}

func (e *ParseError) Error() string { return e.Msg }

func parseErr(format string, args ...any) error {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

var policySchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "namespace", LabelNames: []string{"name"}},
		{Type: "node_pool", LabelNames: []string{"name"}},
		{Type: "host_volume", LabelNames: []string{"name"}},
		{Type: "node"}, {Type: "agent"}, {Type: "operator"}, {Type: "quota"}, {Type: "plugin"},
	},
}

var labeledRuleSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "policy"}, {Name: "capabilities"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "variables"}},
}

var coarseRuleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "policy", Required: true}}}

// Parse parses a policy's rules (HCL, or JSON when it starts with "{").
// name is used in error positions.
func Parse(name, rules string) (*Policy, error) {
	if len(rules) > MaxPolicyBytes {
		return nil, parseErr("policy %q: rules are %d bytes, more than the limit of %d", name, len(rules), MaxPolicyBytes)
	}
	if strings.TrimSpace(rules) == "" {
		return nil, parseErr("policy %q has no rules: write at least one rule, e.g. namespace \"default\" { policy = \"read\" }", name)
	}
	p := hclparse.NewParser()
	filename := name + ".hcl"
	var (
		f     *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasPrefix(strings.TrimSpace(rules), "{") {
		f, diags = p.ParseJSON([]byte(rules), name+".json")
	} else {
		f, diags = p.ParseHCL([]byte(rules), filename)
	}
	if diags.HasErrors() {
		return nil, parseErr("policy %q: %s", name, diags.Error())
	}
	content, diags := f.Body.Content(policySchema)
	if diags.HasErrors() {
		return nil, parseErr("policy %q: %s (rules are namespace, node_pool, host_volume, node, agent, operator, quota and plugin blocks)", name, diags.Error())
	}
	pol := &Policy{}
	for _, b := range content.Blocks {
		where := b.DefRange.String()
		switch b.Type {
		case "namespace", "node_pool", "host_volume":
			r, err := parseLabeled(b, where)
			if err != nil {
				return nil, err
			}
			switch b.Type {
			case "namespace":
				pol.Namespaces = append(pol.Namespaces, r)
			case "node_pool":
				pol.NodePools = append(pol.NodePools, r)
			default:
				pol.HostVolumes = append(pol.HostVolumes, r)
			}
		default:
			level, err := parseCoarse(b, where)
			if err != nil {
				return nil, err
			}
			switch b.Type {
			case "node":
				pol.Node = level
			case "agent":
				pol.Agent = level
			case "operator":
				pol.Operator = level
			case "quota":
				pol.Quota = level
			case "plugin":
				pol.Plugin = level
			}
		}
	}
	return pol, nil
}

func stringAttr(attrs hcl.Attributes, name, where string) (string, bool, error) {
	a, ok := attrs[name]
	if !ok {
		return "", false, nil
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return "", false, parseErr("%s: %s", a.Range.String(), diags.Error())
	}
	if v.IsNull() || !v.Type().Equals(cty.String) {
		return "", false, parseErr("%s: %s must be a string", a.Range.String(), name)
	}
	return v.AsString(), true, nil
}

func parseLabeled(b *hcl.Block, where string) (*LabeledRule, error) {
	content, diags := b.Body.Content(labeledRuleSchema)
	if diags.HasErrors() {
		return nil, parseErr("%s: %s", where, diags.Error())
	}
	r := &LabeledRule{Name: b.Labels[0]}
	valid, expand := namespaceCapabilities, expandNamespacePolicy
	policies := []string{PolicyDeny, PolicyRead, PolicyWrite, PolicyScale}
	switch b.Type {
	case "host_volume":
		valid, expand = hostVolumeCapabilities, expandHostVolumePolicy
		policies = policies[:3]
	case "node_pool":
		valid, expand = nodePoolCapabilities, expandNodePoolPolicy
		policies = policies[:3]
	}
	policy, ok, err := stringAttr(content.Attributes, "policy", where)
	if err != nil {
		return nil, err
	}
	if ok {
		if !slices.Contains(policies, policy) {
			return nil, parseErr("%s: %s %q: policy %q is not one of %s", where, b.Type, r.Name, policy, strings.Join(policies, ", "))
		}
		r.Policy = policy
		r.Capabilities = append(r.Capabilities, expand(policy)...)
	}
	if a, ok := content.Attributes["capabilities"]; ok {
		caps, err := stringList(a)
		if err != nil {
			return nil, err
		}
		for _, cap := range caps {
			if !slices.Contains(valid, cap) {
				return nil, parseErr("%s: %s %q: unknown capability %q (valid: %s)", a.Range.String(), b.Type, r.Name, cap, strings.Join(valid, ", "))
			}
			r.Capabilities = append(r.Capabilities, cap)
		}
	}
	var vblocks hcl.Blocks
	for _, vb := range content.Blocks {
		if vb.Type == "variables" {
			vblocks = append(vblocks, vb)
		}
	}
	if len(vblocks) > 0 {
		if b.Type != "namespace" {
			return nil, parseErr("%s: %s %q: a variables block belongs in a namespace rule", where, b.Type, r.Name)
		}
		vars, err := parseVariables(vblocks, r.Name)
		if err != nil {
			return nil, err
		}
		r.Variables = vars
	}
	return r, nil
}

// stringList evaluates a list-of-strings attribute.
func stringList(a *hcl.Attribute) ([]string, error) {
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return nil, parseErr("%s: %s", a.Range.String(), diags.Error())
	}
	if v.IsNull() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil, parseErr("%s: %s must be a list of strings", a.Range.String(), a.Name)
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, c := it.Element()
		if c.IsNull() || !c.Type().Equals(cty.String) {
			return nil, parseErr("%s: %s must be a list of strings", a.Range.String(), a.Name)
		}
		out = append(out, c.AsString())
	}
	return out, nil
}

func parseCoarse(b *hcl.Block, where string) (string, error) {
	content, diags := b.Body.Content(coarseRuleSchema)
	if diags.HasErrors() {
		return "", parseErr("%s: %s", where, diags.Error())
	}
	level, _, err := stringAttr(content.Attributes, "policy", where)
	if err != nil {
		return "", err
	}
	valid := []string{PolicyDeny, PolicyRead, PolicyWrite}
	if b.Type == "plugin" {
		valid = []string{PolicyDeny, PolicyList, PolicyRead}
	}
	if !slices.Contains(valid, level) {
		return "", parseErr("%s: %s policy %q is not one of %s", where, b.Type, level, strings.Join(valid, ", "))
	}
	return level, nil
}
