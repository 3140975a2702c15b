package structs

import (
	"slices"
	"strings"
)

// ServiceRegistration is one allocation's registration of a service with
// Nomad's built-in service discovery (Nomad's api.ServiceRegistration).
type ServiceRegistration struct {
	ID          string
	ServiceName string
	Namespace   string
	NodeID      string
	Datacenter  string
	JobID       string
	AllocID     string
	Tags        []string
	Address     string
	Port        int
	CreateIndex uint64
	ModifyIndex uint64
	// Failing is set by the registering client while a check of the
	// service in this allocation fails (beyond Nomad, whose registrations
	// carry no health): the clients' built-in DNS leaves it out.
	Failing bool `json:",omitempty"`
}

// Copy returns a deep copy of r.
func (r *ServiceRegistration) Copy() *ServiceRegistration {
	if r == nil {
		return nil
	}
	n := *r
	n.Tags = slices.Clone(r.Tags)
	return &n
}

// Equal reports whether r and o register the same thing (indexes ignored).
func (r *ServiceRegistration) Equal(o *ServiceRegistration) bool {
	if r == nil || o == nil {
		return r == o
	}
	return r.ID == o.ID && r.ServiceName == o.ServiceName && r.Namespace == o.Namespace &&
		r.NodeID == o.NodeID && r.Datacenter == o.Datacenter && r.JobID == o.JobID &&
		r.AllocID == o.AllocID && slices.Equal(r.Tags, o.Tags) && r.Address == o.Address && r.Port == o.Port &&
		r.Failing == o.Failing
}

// ServiceRegistrationListStub is one namespace's services in GET /v1/services.
type ServiceRegistrationListStub struct {
	Namespace string
	Services  []*ServiceRegistrationStub
}

// ServiceRegistrationStub is a service name with the union of its tags.
type ServiceRegistrationStub struct {
	ServiceName string
	Tags        []string
}

// ServiceRegistrationUpsertRequest registers services (Raft message
// ServiceRegistrationUpsertRequestType).
type ServiceRegistrationUpsertRequest struct {
	Services []*ServiceRegistration
}

// ServiceRegistrationDeleteRequest removes registrations (Raft message
// ServiceRegistrationDeleteRequestType): those with the given IDs in
// Namespace, those of the given allocations, and those of NodeID.
type ServiceRegistrationDeleteRequest struct {
	Namespace string   `json:",omitempty"`
	IDs       []string `json:",omitempty"`
	AllocIDs  []string `json:",omitempty"`
	NodeID    string   `json:",omitempty"`
}

// ServiceRegistrationAllocRequest is what a client sends to register or
// deregister one allocation's services: Services replaces whatever the
// allocation had registered (empty: remove them all).
type ServiceRegistrationAllocRequest struct {
	AllocID  string
	Services []*ServiceRegistration
}

// ServiceDNSName is the name under which a client's built-in DNS server
// answers for a service: "<name>.service.nomad", with the namespace before
// "nomad" outside the default namespace.
func ServiceDNSName(namespace, name string) string {
	n := strings.ToLower(name) + ".service."
	if namespace != "" && namespace != DefaultNamespace {
		n += strings.ToLower(namespace) + "."
	}
	return n + "nomad"
}
