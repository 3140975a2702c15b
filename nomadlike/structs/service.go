package structs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Service providers. Only Nomad's built-in service discovery is supported.
const (
	ServiceProviderNomad  = "nomad"
	ServiceProviderConsul = "consul"
)

// Service address modes (AddressModeAlloc and AddressModeDriver are in
// service_check.go).
const (
	AddressModeAuto = "auto"
	AddressModeHost = "host"
)

// Service is a group's or task's service block: a name under which the
// allocation's address and port are registered (Nomad's api.Service).
type Service struct {
	Name string
	// PortLabel names a port of the group network (Nomad's "port").
	PortLabel string
	Tags      []string `json:",omitempty"`
	// CanaryTags replace Tags while the allocation is a canary.
	CanaryTags  []string          `json:",omitempty"`
	AddressMode string            `json:",omitempty"`
	Provider    string            `json:",omitempty"`
	Meta        map[string]string `json:",omitempty"`
	// TaskName is the task a group service is bound to (unused for now).
	TaskName string `json:",omitempty"`
	// Checks are run by the client against the registered address.
	Checks []*ServiceCheck `json:",omitempty"`
	// CheckRestart and OnUpdate are the defaults of the service's checks.
	CheckRestart *CheckRestart `json:",omitempty"`
	OnUpdate     string        `json:",omitempty"`
}

// Copy returns a deep copy of s.
func (s *Service) Copy() *Service {
	if s == nil {
		return nil
	}
	n := *s
	n.Tags = slices.Clone(s.Tags)
	n.CanaryTags = slices.Clone(s.CanaryTags)
	n.CheckRestart = s.CheckRestart.Copy()
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

// Canonicalize fills in the defaults as Nomad does: provider nomad, address
// mode auto, on_update require_healthy, the name
// "<job>-<group>[-<task>]" when unset, and ${JOB}, ${TASKGROUP}, ${TASK}
// and ${BASE} in the name replaced (task is "" for a group service).
// NOMAD_* variables in the name are left for the client.
func (s *Service) Canonicalize(job, group, task string) {
	base := job + "-" + group
	if task != "" {
		base += "-" + task
	}
	if s.Name == "" {
		s.Name = base
	}
	s.Name = strings.NewReplacer("${JOB}", job, "${TASKGROUP}", group, "${TASK}", task, "${BASE}", base).Replace(s.Name)
	if s.OnUpdate == "" {
		s.OnUpdate = OnUpdateRequireHealthy
	}
	if s.CheckRestart != nil && s.CheckRestart.Grace == 0 {
		s.CheckRestart.Grace = time.Second
	}
	if s.Provider == "" {
		s.Provider = ServiceProviderNomad
	}
	if s.AddressMode == "" {
		s.AddressMode = AddressModeAuto
	}
	for _, c := range s.Checks {
		if c != nil {
			c.Canonicalize(s)
		}
	}
}

// ValidateServices checks a group's or task's services against the group's
// network ports; field names are relative to the owner ("Services[0].Name").
// task is the owning task (nil for group services).
func ValidateServices(services []*Service, tg *TaskGroup, task *Task) error {
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
		} else if !validServiceName(interpolationPlaceholder(s.Name)) {
			v.add(f+".Name", "service name %q may hold only letters, digits, dashes and ${...} variables, and may not start or end with a dash", s.Name)
		}
		switch s.Provider {
		case "", ServiceProviderNomad:
		case ServiceProviderConsul:
			v.add(f+".Provider", "Consul is not supported by nomadlike; use provider = \"nomad\" (Nomad's built-in service discovery)")
		default:
			v.add(f+".Provider", "unknown provider %q; use \"nomad\"", s.Provider)
		}
		switch s.AddressMode {
		case "", AddressModeAuto, AddressModeHost, AddressModeAlloc, AddressModeDriver:
		default:
			v.add(f+".AddressMode", "unknown address_mode %q; use \"auto\", \"host\", \"alloc\" or \"driver\"", s.AddressMode)
		}
		switch s.OnUpdate {
		case "", OnUpdateRequireHealthy, OnUpdateIgnoreWarn, OnUpdateIgnore:
		default:
			v.add(f+".OnUpdate", "on_update must be %q, %q or %q, got %q", OnUpdateRequireHealthy, OnUpdateIgnoreWarn, OnUpdateIgnore, s.OnUpdate)
		}
		names := map[string]bool{}
		for j, c := range s.Checks {
			cf := fmt.Sprintf("%s.Checks[%d]", f, j)
			if c == nil {
				v.add(cf, "check is empty")
				continue
			}
			v.merge(cf, c.Validate())
			if c.PortLabel != "" && !ports[c.PortLabel] && !NumericPort(c.PortLabel) {
				v.add(cf+".PortLabel", "check port %q is not a port of group %q's network; add network { port %q {} } or name one of its ports", c.PortLabel, tg.Name, c.PortLabel)
			}
			if c.Type == ServiceCheckScript && task == nil && c.TaskName == "" {
				v.add(cf+".TaskName", "script check %q of group service %q needs task = \"<task name>\" to run its command in", c.Name, s.Name)
			}
			if c.TaskName != "" && tg.LookupTask(c.TaskName) == nil {
				v.add(cf+".TaskName", "check %q names task %q, which is not a task of group %q", c.Name, c.TaskName, tg.Name)
			}
			if names[c.Name] {
				v.add(cf+".Name", "check name %q is used twice in service %q", c.Name, s.Name)
			}
			names[c.Name] = true
		}
		for j, c := range s.Checks {
			if c != nil && c.Type != ServiceCheckScript && c.PortLabel == "" && s.PortLabel == "" {
				v.add(fmt.Sprintf("%s.Checks[%d].PortLabel", f, j), "check %q of service %q has no port; set port on the check or the service to a port label of the group network", c.Name, s.Name)
			}
		}
		if s.PortLabel != "" && !ports[s.PortLabel] && !NumericPort(s.PortLabel) {
			v.add(f+".PortLabel", "port %q is not a port of group %q's network; add network { port %q {} } or name one of its ports", s.PortLabel, tg.Name, s.PortLabel)
		}
	}
	return v.err()
}

// NumericPort reports whether label is a port number (1-65535) rather than
// a label: Nomad accepts port = "9001" in services and checks, the port
// inside the allocation's network.
func NumericPort(label string) bool {
	n, err := strconv.Atoi(label)
	return err == nil && n > 0 && n < 65536
}

// interpolationPlaceholder replaces each ${...} in name by "ENV-VAR", as
// Nomad does before checking a name the client interpolates.
func interpolationPlaceholder(name string) string {
	var b strings.Builder
	for {
		i := strings.Index(name, "${")
		if i < 0 {
			break
		}
		j := strings.Index(name[i:], "}")
		if j < 0 {
			break
		}
		b.WriteString(name[:i])
		b.WriteString("ENV-VAR")
		name = name[i+j+1:]
	}
	b.WriteString(name)
	return b.String()
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
