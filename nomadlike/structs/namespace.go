package structs

import (
	"maps"
	"regexp"
	"slices"
)

// validNamespaceName is Nomad's rule for namespace names.
var validNamespaceName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// Namespace is a named scope for jobs and the objects derived from them.
// The default namespace always exists.
type Namespace struct {
	Name                  string
	Description           string
	Quota                 string
	Capabilities          *NamespaceCapabilities          `json:",omitempty"`
	NodePoolConfiguration *NamespaceNodePoolConfiguration `json:",omitempty"`
	Meta                  map[string]string
	CreateIndex           uint64
	ModifyIndex           uint64
}

// NamespaceCapabilities restricts the drivers and network modes a namespace's jobs may use.
type NamespaceCapabilities struct {
	EnabledTaskDrivers   []string
	DisabledTaskDrivers  []string
	EnabledNetworkModes  []string
	DisabledNetworkModes []string
}

// NamespaceNodePoolConfiguration restricts the node pools a namespace's jobs may use.
type NamespaceNodePoolConfiguration struct {
	Default string
	Allowed []string
	Denied  []string
}

// DefaultNamespaceObject is the default namespace as it exists before anyone writes it.
func DefaultNamespaceObject() *Namespace {
	return &Namespace{Name: DefaultNamespace, Description: "Default shared namespace", Meta: map[string]string{}}
}

// Validate checks a namespace's name.
func (n *Namespace) Validate() error {
	if n == nil {
		return NewBadRequest("namespace is missing: send {\"Name\": ...}")
	}
	if !validNamespaceName.MatchString(n.Name) {
		return NewBadRequest("namespace name %q is invalid: use 1 to 128 letters, digits and dashes", n.Name)
	}
	if len(n.Description) > 256 {
		return NewBadRequest("namespace %q: description is longer than 256 characters", n.Name)
	}
	return nil
}

// Copy returns a deep copy.
func (n *Namespace) Copy() *Namespace {
	if n == nil {
		return nil
	}
	c := *n
	c.Meta = maps.Clone(n.Meta)
	if n.Capabilities != nil {
		v := *n.Capabilities
		v.EnabledTaskDrivers = slices.Clone(v.EnabledTaskDrivers)
		v.DisabledTaskDrivers = slices.Clone(v.DisabledTaskDrivers)
		v.EnabledNetworkModes = slices.Clone(v.EnabledNetworkModes)
		v.DisabledNetworkModes = slices.Clone(v.DisabledNetworkModes)
		c.Capabilities = &v
	}
	if n.NodePoolConfiguration != nil {
		v := *n.NodePoolConfiguration
		v.Allowed = slices.Clone(v.Allowed)
		v.Denied = slices.Clone(v.Denied)
		c.NodePoolConfiguration = &v
	}
	return &c
}

// NamespaceUpsertRequest stores namespaces (Raft NamespaceUpsertRequestType).
type NamespaceUpsertRequest struct {
	Namespaces []*Namespace
}

// NamespaceDeleteRequest removes namespaces by name (Raft NamespaceDeleteRequestType).
type NamespaceDeleteRequest struct {
	Names []string
}
