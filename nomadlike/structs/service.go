package structs

import (
	"fmt"
	"slices"
)

// Service providers. Only Nomad's built-in service discovery is supported.
const (
	ServiceProviderNomad  = "nomad"
	ServiceProviderConsul = "consul"
)

// Service address modes.
const (
	AddressModeAuto = "auto"
	AddressModeHost = "host"
)

// Service is a group's or task's service block: a name under which the
// allocation's address and port are registered (Nomad's api.Service).
type Service struct {
	Name string
	// PortLabel names a port of the group network (Nomad's "port").
	PortLabel   string
	Tags        []string          `json:",omitempty"`
	AddressMode string            `json:",omitempty"`
	Provider    string            `json:",omitempty"`
	Meta        map[string]string `json:",omitempty"`
	// TaskName is the task a group service is bound to (unused for now).
	TaskName string `json:",omitempty"`
	// Checks are run by the client against the registered address.
	Checks []*ServiceCheck `json:",omitempty"`
}

// Copy returns a deep copy of s.
func (s *Service) Copy() *Service {
	if s == nil {
		return nil
	}
	n := *s
	n.Tags = slices.Clone(s.Tags)
	n.Meta = copyMap(s.Meta)
	if s.Checks != nil {
		n.Checks = make([]*ServiceCheck, len(s.Checks))
		for i, c := range s.Checks {
			n.Checks[i] = c.Copy()
		}
	}
	return &n
}

// CopyServices returns a deep copy of list.
func CopyServices(list []*Service) []*Service {
	if list == nil {
		return nil
	}
	out := make([]*Service, len(list))
	for i, s := range list {
		out[i] = s.Copy()
	}
	return out
}

// Canonicalize fills in the defaults: provider nomad, address mode auto.
func (s *Service) Canonicalize() {
	if s.Provider == "" {
		s.Provider = ServiceProviderNomad
	}
	if s.AddressMode == "" {
		s.AddressMode = AddressModeAuto
	}
	for _, c := range s.Checks {
		if c != nil {
			c.Canonicalize(s.Name)
		}
	}
}

// ValidateServices checks a group's or task's services against the group's
// network ports; field names are relative to the owner ("Services[0].Name").
func ValidateServices(services []*Service, tg *TaskGroup) error {
	var v ValidationError
	ports := map[string]bool{}
	for _, n := range tg.Networks {
		for _, p := range n.ReservedPorts {
			ports[p.Label] = true
		}
		for _, p := range n.DynamicPorts {
			ports[p.Label] = true
		}
	}
	for i, s := range services {
		f := fmt.Sprintf("Services[%d]", i)
		if s == nil {
			v.add(f, "service is empty")
			continue
		}
		if s.Name == "" {
			v.add(f+".Name", "service needs a name")
		} else if !validServiceName(s.Name) {
			v.add(f+".Name", "service name %q may hold only letters, digits and dashes, and may not start or end with a dash", s.Name)
		}
		switch s.Provider {
		case "", ServiceProviderNomad:
		case ServiceProviderConsul:
			v.add(f+".Provider", "Consul is not supported by nomadlike; use provider = \"nomad\" (Nomad's built-in service discovery)")
		default:
			v.add(f+".Provider", "unknown provider %q; use \"nomad\"", s.Provider)
		}
		switch s.AddressMode {
		case "", AddressModeAuto, AddressModeHost:
		default:
			v.add(f+".AddressMode", "unknown address_mode %q; use \"auto\" or \"host\"", s.AddressMode)
		}
		names := map[string]bool{}
		for j, c := range s.Checks {
			cf := fmt.Sprintf("%s.Checks[%d]", f, j)
			if c == nil {
				v.add(cf, "check is empty")
				continue
			}
			v.merge(cf, c.Validate())
			if names[c.Name] {
				v.add(cf+".Name", "check name %q is used twice in service %q", c.Name, s.Name)
			}
			names[c.Name] = true
		}
		if len(s.Checks) > 0 && s.PortLabel == "" {
			v.add(f+".PortLabel", "service %q has checks but no port; set port to a port label of the group network", s.Name)
		}
		if s.PortLabel != "" && !ports[s.PortLabel] {
			v.add(f+".PortLabel", "port %q is not a port of group %q's network; add network { port %q {} } or name one of its ports", s.PortLabel, tg.Name, s.PortLabel)
		}
	}
	return v.err()
}

// validServiceName reports whether name is a valid DNS label (RFC 1123), as
// Nomad requires.
func validServiceName(name string) bool {
	if len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}
