package structs

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// WorkloadIdentityDefaultName is the name of a task's default identity.
const WorkloadIdentityDefaultName = "default"

// Identity change modes (Nomad's WIChangeMode*).
const (
	IdentityChangeModeNoop    = "noop"
	IdentityChangeModeRestart = "restart"
	IdentityChangeModeSignal  = "signal"
)

// WorkloadIdentity is a task's identity block (Nomad's api.WorkloadIdentity):
// a JWT the servers sign for the task, exposed to it in its environment
// (Env, as NOMAD_TOKEN or NOMAD_TOKEN_<name>) and/or a file in its secrets
// dir (File, at Filepath). The default identity (Task.Identity) is named
// "default"; others (Task.Identities) need a name and an audience.
type WorkloadIdentity struct {
	Name         string
	Audience     []string `json:",omitempty"`
	ChangeMode   string   `json:",omitempty"`
	ChangeSignal string   `json:",omitempty"`
	Env          bool     `json:",omitempty"`
	File         bool     `json:",omitempty"`
	Filepath     string   `json:",omitempty"`
	// ServiceName is set on a service's identity (Consul only; unused).
	ServiceName string        `json:",omitempty"`
	TTL         time.Duration `json:",omitempty"`
	ExtraClaims []string      `json:",omitempty"`
}

// Copy returns a deep copy of w.
func (w *WorkloadIdentity) Copy() *WorkloadIdentity {
	if w == nil {
		return nil
	}
	n := *w
	n.Audience = slices.Clone(w.Audience)
	n.ExtraClaims = slices.Clone(w.ExtraClaims)
	return &n
}

// Validate checks the identity's change mode and, for a named identity,
// its audience, as Nomad does.
func (w *WorkloadIdentity) Validate() error {
	var v ValidationError
	switch w.ChangeMode {
	case "", IdentityChangeModeNoop, IdentityChangeModeRestart:
		if w.ChangeSignal != "" {
			v.add("ChangeSignal", "change_signal needs change_mode = \"signal\"")
		}
	case IdentityChangeModeSignal:
		if w.ChangeSignal == "" {
			v.add("ChangeSignal", "change_mode = \"signal\" needs change_signal, for example \"SIGHUP\"")
		}
	default:
		v.add("ChangeMode", "change_mode must be \"noop\", \"restart\" or \"signal\", got %q", w.ChangeMode)
	}
	if w.Name != WorkloadIdentityDefaultName && len(w.Audience) == 0 {
		v.add("Audience", "identity %q needs an audience: aud = [\"<who reads the token>\"]", w.Name)
	}
	if w.TTL < 0 {
		v.add("TTL", "ttl cannot be negative")
	}
	return v.err()
}

func copyIdentities(list []*WorkloadIdentity) []*WorkloadIdentity {
	if list == nil {
		return nil
	}
	out := make([]*WorkloadIdentity, len(list))
	for i, w := range list {
		out[i] = w.Copy()
	}
	return out
}

// Action is a task's action block (Nomad's api.Action): a command an
// operator may run in the task by name (`nomadlike job action`).
type Action struct {
	Name    string
	Command string
	Args    []string `json:",omitempty"`
}

// Copy returns a deep copy of a.
func (a *Action) Copy() *Action {
	if a == nil {
		return nil
	}
	n := *a
	n.Args = slices.Clone(a.Args)
	return &n
}

func copyActions(list []*Action) []*Action {
	if list == nil {
		return nil
	}
	out := make([]*Action, len(list))
	for i, a := range list {
		out[i] = a.Copy()
	}
	return out
}

// actionName is Nomad's rule for action names.
var actionName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// validateIdentitiesAndActions checks a task's identity and action blocks.
func (t *Task) validateIdentitiesAndActions(v *ValidationError) {
	if t.Identity != nil {
		if t.Identity.Name != WorkloadIdentityDefaultName {
			v.add("Identity.Name", "the default identity is named %q, got %q", WorkloadIdentityDefaultName, t.Identity.Name)
		}
		v.merge("Identity", t.Identity.Validate())
	}
	names := map[string]bool{WorkloadIdentityDefaultName: t.Identity != nil}
	for i, w := range t.Identities {
		f := fmt.Sprintf("Identities[%d]", i)
		if w == nil {
			v.add(f, "identity is empty")
			continue
		}
		if names[w.Name] {
			v.add(f+".Name", "identity name %q is used twice in task %q", w.Name, t.Name)
		}
		names[w.Name] = true
		v.merge(f, w.Validate())
	}
	actions := map[string]bool{}
	for i, a := range t.Actions {
		f := fmt.Sprintf("Actions[%d]", i)
		if a == nil {
			v.add(f, "action is empty")
			continue
		}
		if !actionName.MatchString(a.Name) {
			v.add(f+".Name", "action name %q may hold only letters, digits and dashes (at most 128)", a.Name)
		}
		if actions[a.Name] {
			v.add(f+".Name", "action %q is defined twice in task %q", a.Name, t.Name)
		}
		actions[a.Name] = true
		if a.Command == "" {
			v.add(f+".Command", "action %q needs a command", a.Name)
		}
	}
}

// LookupAction returns the task's named action, or nil.
func (t *Task) LookupAction(name string) *Action {
	for _, a := range t.Actions {
		if a != nil && a.Name == name {
			return a
		}
	}
	return nil
}
