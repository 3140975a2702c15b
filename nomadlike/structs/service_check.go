package structs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// Service check types the client runs.
const (
	ServiceCheckHTTP = "http"
	ServiceCheckTCP  = "tcp"
)

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
	Name     string
	Type     string
	Path     string        `json:",omitempty"`
	Method   string        `json:",omitempty"`
	Protocol string        `json:",omitempty"`
	Interval time.Duration `json:",omitempty"`
	Timeout  time.Duration `json:",omitempty"`
}

// Copy returns a copy of c.
func (c *ServiceCheck) Copy() *ServiceCheck {
	if c == nil {
		return nil
	}
	n := *c
	return &n
}

// Canonicalize names an unnamed check and defaults an HTTP check's method.
func (c *ServiceCheck) Canonicalize(service string) {
	if c.Name == "" {
		c.Name = "service: " + fmt.Sprintf("%q", service) + " check"
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
	case "":
		v.add("Type", "a check needs a type: \"http\" or \"tcp\"")
	default:
		v.add("Type", "check type %q is not supported by nomadlike; use \"http\" or \"tcp\"", c.Type)
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
