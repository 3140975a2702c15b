package template

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ServiceSource answers the nomadService and nomadServices functions from
// Nomad's built-in service discovery. Implementations cache and watch what
// was asked, so that a change can trigger a new render.
type ServiceSource interface {
	// Service returns the registrations of service name in namespace ("":
	// the task's namespace).
	Service(namespace, name string) ([]*structs.ServiceRegistration, error)
	// Services returns the services registered in namespace ("": the task's).
	Services(namespace string) ([]*structs.ServiceRegistrationStub, error)
}

// NomadService is one registration as templates see it (consul-template's
// NomadService): {{ .Address }}:{{ .Port }}, .Name, .Tags, .AllocID, ...
type NomadService struct {
	ID         string
	Name       string
	Namespace  string
	NodeID     string
	Datacenter string
	JobID      string
	AllocID    string
	Tags       []string
	Address    string
	Port       int
}

// NomadServiceStub is one service as nomadServices lists it.
type NomadServiceStub struct {
	Name string
	Tags []string
}

// serviceFunctions are the functions a ServiceSource serves.
var serviceFunctions = []string{"nomadService", "nomadServices"}

// parseServiceQuery splits nomadService's argument "[tag.]name[@namespace]".
func parseServiceQuery(q string) (tag, name, namespace string, err error) {
	name = q
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name, namespace = name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, "."); i >= 0 {
		tag, name = name[:i], name[i+1:]
	}
	if name == "" {
		return "", "", "", fmt.Errorf("nomadService %q names no service; write nomadService \"name\" or \"tag.name\"", q)
	}
	return tag, name, namespace, nil
}

// addServiceFuncs registers nomadService and nomadServices reading src.
func addServiceFuncs(fm template.FuncMap, src ServiceSource) {
	fm["nomadService"] = func(args ...string) ([]*NomadService, error) {
		if len(args) != 1 {
			return nil, errors.New("nomadService takes one argument, \"[tag.]name[@namespace]\" (the sharded 3-argument form is not supported)")
		}
		tag, name, ns, err := parseServiceQuery(args[0])
		if err != nil {
			return nil, err
		}
		regs, err := src.Service(ns, name)
		if err != nil {
			return nil, fmt.Errorf("nomadService %q: %w", args[0], err)
		}
		out := []*NomadService{}
		for _, r := range regs {
			if tag != "" && !slices.Contains(r.Tags, tag) {
				continue
			}
			out = append(out, &NomadService{ID: r.ID, Name: r.ServiceName, Namespace: r.Namespace, NodeID: r.NodeID,
				Datacenter: r.Datacenter, JobID: r.JobID, AllocID: r.AllocID, Tags: slices.Clone(r.Tags), Address: r.Address, Port: r.Port})
		}
		return out, nil
	}
	fm["nomadServices"] = func(args ...string) ([]*NomadServiceStub, error) {
		ns := ""
		if len(args) > 1 {
			return nil, errors.New("nomadServices takes at most one argument, \"@namespace\"")
		}
		if len(args) == 1 {
			ns = strings.TrimPrefix(args[0], "@")
		}
		stubs, err := src.Services(ns)
		if err != nil {
			return nil, fmt.Errorf("nomadServices: %w", err)
		}
		out := []*NomadServiceStub{}
		for _, s := range stubs {
			out = append(out, &NomadServiceStub{Name: s.ServiceName, Tags: slices.Clone(s.Tags)})
		}
		return out, nil
	}
}
