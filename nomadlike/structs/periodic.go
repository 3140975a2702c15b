package structs

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/cronexpr"
)

// PeriodicSpecCron is the only periodic spec type.
const PeriodicSpecCron = "cron"

// PeriodicLaunchSuffix separates a periodic job's ID from the launch time in
// its children's IDs: "<parent>/periodic-<unix seconds>".
const PeriodicLaunchSuffix = "/periodic-"

// DispatchLaunchSuffix separates a parameterized job's ID from the dispatch
// in its children's IDs: "<parent>/dispatch-<unix seconds>-<8 hex>".
const DispatchLaunchSuffix = "/dispatch-"

// PeriodicConfig is a job's periodic block: the job is a template that the
// leader launches as a child job on each cron tick.
type PeriodicConfig struct {
	Enabled         bool
	Spec            string
	Specs           []string `json:",omitempty"`
	SpecType        string
	ProhibitOverlap bool
	TimeZone        string
}

// Copy returns a copy of p.
func (p *PeriodicConfig) Copy() *PeriodicConfig {
	if p == nil {
		return nil
	}
	n := *p
	n.Specs = slices.Clone(p.Specs)
	return &n
}

// Canonicalize fills in the spec type and time zone.
func (p *PeriodicConfig) Canonicalize() {
	if p.SpecType == "" {
		p.SpecType = PeriodicSpecCron
	}
	if p.TimeZone == "" {
		p.TimeZone = "UTC"
	}
}

func (p *PeriodicConfig) specs() []string {
	if p.Spec != "" {
		return append([]string{p.Spec}, p.Specs...)
	}
	return p.Specs
}

// Validate checks the cron specs and the time zone.
func (p *PeriodicConfig) Validate() error {
	if p == nil || !p.Enabled {
		return nil
	}
	var v ValidationError
	if p.SpecType != "" && p.SpecType != PeriodicSpecCron {
		v.add("SpecType", "unknown spec type %q (only \"cron\")", p.SpecType)
	}
	if len(p.specs()) == 0 {
		v.add("Spec", "a periodic job needs a cron spec, for example \"*/15 * * * *\"")
	}
	for i, s := range p.specs() {
		if _, err := cronexpr.Parse(s); err != nil {
			v.add(fmt.Sprintf("Spec[%d]", i), "invalid cron expression %q: %v", s, err)
		}
	}
	if p.TimeZone != "" {
		if _, err := time.LoadLocation(p.TimeZone); err != nil {
			v.add("TimeZone", "unknown time zone %q: %v", p.TimeZone, err)
		}
	}
	return v.err()
}

// Location returns the spec's time zone (UTC when unset or unknown).
func (p *PeriodicConfig) Location() *time.Location {
	if p.TimeZone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(p.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Next returns the first launch time strictly after from, or the zero time
// when no spec ever fires again.
func (p *PeriodicConfig) Next(from time.Time) (time.Time, error) {
	from = from.In(p.Location())
	var next time.Time
	for _, s := range p.specs() {
		e, err := cronexpr.Parse(s)
		if err != nil {
			return time.Time{}, fmt.Errorf("periodic spec %q: %w", s, err)
		}
		t := e.Next(from)
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	return next, nil
}

// PeriodicLaunch records the last launch of a periodic job.
type PeriodicLaunch struct {
	ID          string // the periodic job's ID
	Namespace   string
	Launch      time.Time
	CreateIndex uint64
	ModifyIndex uint64
}

// PeriodicLaunchRequest is the Raft entry (PeriodicLaunchRequestType) that
// records a launch.
type PeriodicLaunchRequest struct {
	Launch PeriodicLaunch
}

// PeriodicForceResponse is the reply of PUT /v1/job/{id}/periodic/force.
type PeriodicForceResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	Index           uint64
}

// PeriodicChildID returns the ID of the child of parentID launched at t.
func PeriodicChildID(parentID string, t time.Time) string {
	return fmt.Sprintf("%s%s%d", parentID, PeriodicLaunchSuffix, t.Unix())
}

// Dispatch payload requirements (parameterized { payload = ... }).
const (
	DispatchPayloadOptional  = "optional"
	DispatchPayloadRequired  = "required"
	DispatchPayloadForbidden = "forbidden"
)

// DispatchPayloadSizeLimit is the largest payload a dispatch accepts (Nomad's 16 KiB).
const DispatchPayloadSizeLimit = 16 * 1024

// ParameterizedJobConfig is a job's parameterized block: the job is a
// template that `job dispatch` instantiates with a payload and meta.
type ParameterizedJobConfig struct {
	Payload      string
	MetaRequired []string
	MetaOptional []string
}

// Copy returns a copy of p.
func (p *ParameterizedJobConfig) Copy() *ParameterizedJobConfig {
	if p == nil {
		return nil
	}
	n := *p
	n.MetaRequired = slices.Clone(p.MetaRequired)
	n.MetaOptional = slices.Clone(p.MetaOptional)
	return &n
}

// Canonicalize defaults the payload requirement to optional.
func (p *ParameterizedJobConfig) Canonicalize() {
	if p.Payload == "" {
		p.Payload = DispatchPayloadOptional
	}
}

// Validate checks the payload requirement and meta keys.
func (p *ParameterizedJobConfig) Validate() error {
	if p == nil {
		return nil
	}
	var v ValidationError
	switch p.Payload {
	case "", DispatchPayloadOptional, DispatchPayloadRequired, DispatchPayloadForbidden:
	default:
		v.add("Payload", "unknown payload requirement %q (use \"optional\", \"required\" or \"forbidden\")", p.Payload)
	}
	for _, k := range p.MetaRequired {
		if slices.Contains(p.MetaOptional, k) {
			v.add("MetaOptional", "meta key %q is both required and optional", k)
		}
	}
	return v.err()
}

// CheckDispatch returns what is wrong with a dispatch of this job with
// payload and meta, naming each offending key.
func (p *ParameterizedJobConfig) CheckDispatch(payload []byte, meta map[string]string) error {
	var v ValidationError
	switch {
	case p.Payload == DispatchPayloadRequired && len(payload) == 0:
		v.add("Payload", "this job requires a payload (parameterized { payload = \"required\" }); pass a file or - for stdin")
	case p.Payload == DispatchPayloadForbidden && len(payload) > 0:
		v.add("Payload", "this job forbids a payload (parameterized { payload = \"forbidden\" })")
	case len(payload) > DispatchPayloadSizeLimit:
		v.add("Payload", "payload is %d bytes; the limit is %d", len(payload), DispatchPayloadSizeLimit)
	}
	var missing []string
	for _, k := range p.MetaRequired {
		if _, ok := meta[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		v.add("Meta", "missing required meta keys: %s", strings.Join(missing, ", "))
	}
	var unknown []string
	for k := range meta {
		if !slices.Contains(p.MetaRequired, k) && !slices.Contains(p.MetaOptional, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		v.add("Meta", "meta keys not allowed by the job's meta_required/meta_optional: %s", strings.Join(unknown, ", "))
	}
	return v.err()
}

// JobDispatchRequest is the body of POST /v1/job/{id}/dispatch.
type JobDispatchRequest struct {
	JobID            string
	Payload          []byte
	Meta             map[string]string
	IdempotencyToken string `json:",omitempty"`
	// IdPrefixTemplate (Nomad 1.6+) goes into the child's ID:
	// "<parent>/dispatch-<template>-<unix seconds>-<8 hex>".
	IdPrefixTemplate string `json:",omitempty"` //nolint:revive // Nomad's wire name
	// Priority, when not 0, overrides the child's priority (1 to 100).
	Priority int `json:",omitempty"`
}

// JobDispatchResponse is the reply of POST /v1/job/{id}/dispatch.
type JobDispatchResponse struct {
	DispatchedJobID string
	EvalID          string
	EvalCreateIndex uint64
	JobCreateIndex  uint64
	Index           uint64
}

// IsPeriodic reports whether the job is an enabled periodic template.
func (j *Job) IsPeriodic() bool { return j.Periodic != nil && j.Periodic.Enabled }

// IsParameterized reports whether the job is a parameterized template (and
// not itself a dispatched child).
func (j *Job) IsParameterized() bool { return j.ParameterizedJob != nil && !j.Dispatched }

// IsTemplate reports whether the job only launches children and is never
// scheduled itself (periodic or parameterized).
func (j *Job) IsTemplate() bool { return j.IsPeriodic() || j.IsParameterized() }
