package structs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// Service check types the client runs.
const (
	ServiceCheckHTTP = "http"
	ServiceCheckTCP  = "tcp"
	// ServiceCheckScript runs Command in the task (the driver's exec):
	// exit 0 passes, 1 is a warning, anything else fails.
	ServiceCheckScript = "script"
)

// on_update values: how a check's result counts toward deployment health
// (Nomad's OnUpdate*).
const (
	OnUpdateRequireHealthy = "require_healthy"
	OnUpdateIgnoreWarn     = "ignore_warnings"
	OnUpdateIgnore         = "ignore"
)

// AddressModeAlloc and AddressModeDriver name the allocation's own address
// (the group network's, with the port's "to" value) for services and checks.
const (
	AddressModeAlloc  = "alloc"
	AddressModeDriver = "driver"
)

// CheckRestart is a check_restart block (Nomad's api.CheckRestart): restart
// the task after Limit consecutive failing results, not counting results
// during Grace after the task (re)starts.
type CheckRestart struct {
	Limit          int
	Grace          time.Duration
	IgnoreWarnings bool
}

// Copy returns a copy of c.
func (c *CheckRestart) Copy() *CheckRestart {
	if c == nil {
		return nil
	}
	n := *c
	return &n
}

// merge returns c with unset fields taken from base (a service's
// check_restart); either may be nil. The check's values win, as in Nomad.
func (c *CheckRestart) merge(base *CheckRestart) *CheckRestart {
	if base == nil {
		return c
	}
	if c == nil {
		return base.Copy()
	}
	n := *c
	if n.Limit == 0 {
		n.Limit = base.Limit
	}
	if n.Grace == 0 {
		n.Grace = base.Grace
	}
	n.IgnoreWarnings = n.IgnoreWarnings || base.IgnoreWarnings
	return &n
}

// Check statuses, as Nomad reports them.
const (
	CheckPending = "pending"
	CheckSuccess = "success"
	CheckFailure = "failure"
)

// ServiceCheck is a service's check block (Nomad's api.ServiceCheck,
// the fields nomadlike runs): the client probes the service's address
// every Interval, failing a probe that takes longer than Timeout.
type ServiceCheck struct {
	Name string
	Type string
	// Command and Args are a script check's command, run in TaskName.
	Command  string   `json:",omitempty"`
	Args     []string `json:",omitempty"`
	Path     string   `json:",omitempty"`
	Method   string   `json:",omitempty"`
	Protocol string   `json:",omitempty"`
	// PortLabel is the check's own port ("" : the service's).
	PortLabel string `json:",omitempty"`
	// Expose is stored for Connect's exposed checks (no sidecar here).
	Expose      bool          `json:",omitempty"`
	AddressMode string        `json:",omitempty"`
	Interval    time.Duration `json:",omitempty"`
	Timeout     time.Duration `json:",omitempty"`
	// TLSSkipVerify is Nomad's; https probes never verify here.
	TLSSkipVerify bool                `json:",omitempty"`
	Header        map[string][]string `json:",omitempty"`
	Body          string              `json:",omitempty"`
	CheckRestart  *CheckRestart       `json:",omitempty"`
	// TaskName is the task a group service's script check runs in.
	TaskName string `json:",omitempty"`
	OnUpdate string `json:",omitempty"`
}

// Copy returns a deep copy of c.
func (c *ServiceCheck) Copy() *ServiceCheck {
	if c == nil {
		return nil
	}
	n := *c
	n.Args = slices.Clone(c.Args)
	if c.Header != nil {
		n.Header = make(map[string][]string, len(c.Header))
		for k, v := range c.Header {
			n.Header[k] = slices.Clone(v)
		}
	}
	n.CheckRestart = c.CheckRestart.Copy()
	return &n
}

// Canonicalize names an unnamed check, defaults an HTTP check's method,
// and takes the service's check_restart and on_update (s) where the check
// sets none, as Nomad does.
func (c *ServiceCheck) Canonicalize(s *Service) {
	if c.Name == "" {
		c.Name = "service: " + fmt.Sprintf("%q", s.Name) + " check"
	}
	c.CheckRestart = c.CheckRestart.merge(s.CheckRestart)
	if c.CheckRestart != nil && c.CheckRestart.Grace == 0 {
		c.CheckRestart.Grace = time.Second
	}
	if c.OnUpdate == "" {
		c.OnUpdate = s.OnUpdate
	}
	if c.Type == ServiceCheckHTTP && c.Method == "" {
		c.Method = "GET"
	}
	if c.Type == ServiceCheckHTTP && c.Protocol == "" {
		c.Protocol = "http"
	}
}

// Validate checks the check's type, path, interval and timeout.
func (c *ServiceCheck) Validate() error {
	var v ValidationError
	switch c.Type {
	case ServiceCheckHTTP:
		if c.Path == "" {
			v.add("Path", "an http check needs a path, for example path = \"/health\"")
		}
		if c.Protocol != "" && c.Protocol != "http" && c.Protocol != "https" {
			v.add("Protocol", "protocol must be \"http\" or \"https\", got %q", c.Protocol)
		}
	case ServiceCheckTCP:
	case ServiceCheckScript:
		if c.Command == "" {
			v.add("Command", "a script check needs a command, for example command = \"/bin/check\"")
		}
	case "":
		v.add("Type", "a check needs a type: \"http\", \"tcp\" or \"script\"")
	default:
		v.add("Type", "check type %q is not supported by nomadlike; use \"http\", \"tcp\" or \"script\"", c.Type)
	}
	switch c.OnUpdate {
	case "", OnUpdateRequireHealthy, OnUpdateIgnoreWarn, OnUpdateIgnore:
	default:
		v.add("OnUpdate", "on_update must be %q, %q or %q, got %q", OnUpdateRequireHealthy, OnUpdateIgnoreWarn, OnUpdateIgnore, c.OnUpdate)
	}
	switch c.AddressMode {
	case "", AddressModeAuto, AddressModeHost, AddressModeAlloc, AddressModeDriver:
	default:
		v.add("AddressMode", "unknown address_mode %q; use \"host\", \"alloc\", \"driver\" or \"auto\"", c.AddressMode)
	}
	if r := c.CheckRestart; r != nil && r.Limit < 0 {
		v.add("CheckRestart.Limit", "limit cannot be negative, got %d", r.Limit)
	}
	if c.Interval <= 0 {
		v.add("Interval", "a check needs an interval greater than 0, for example interval = \"10s\"")
	} else if c.Interval < time.Second {
		v.add("Interval", "interval %v is less than the minimum of 1s", c.Interval)
	}
	if c.Timeout <= 0 {
		v.add("Timeout", "a check needs a timeout greater than 0, for example timeout = \"2s\"")
	}
	return v.err()
}

// CheckID is the stable ID of a check of an allocation's service, as Nomad
// forms it: a hash of the allocation, owner (group or task), service and
// check names.
func CheckID(allocID, group, task, service, check string) string {
	h := sha256.Sum256([]byte(allocID + "\x00" + group + "\x00" + task + "\x00" + service + "\x00" + check))
	return hex.EncodeToString(h[:16])
}

// CheckQueryResult is the latest result of one check, as
// GET /v1/client/allocation/{id}/checks reports it (Nomad's shape).
type CheckQueryResult struct {
	ID         string
	Mode       string
	Status     string
	StatusCode int `json:",omitempty"`
	Output     string
	Timestamp  int64
	Group      string
	Task       string `json:",omitempty"`
	Service    string
	Check      string
}
