package structs

import (
	"maps"
)

// ScalingPolicyTypeHorizontal is the type of a group's scaling block (the
// group's count); the vertical types are Nomad Enterprise's.
const ScalingPolicyTypeHorizontal = "horizontal"

// Keys of ScalingPolicy.Target, as Nomad names them.
const (
	ScalingTargetNamespace = "Namespace"
	ScalingTargetJob       = "Job"
)

// ScalingPolicy is a group's scaling block. nomadlike has no autoscaler, so
// Policy is stored but never acted on; Min and Max bound the group's count
// at job register and job scale, as Nomad does. The server sets ID at job
// register (kept across versions of the job's group) and Target; GET
// /v1/scaling/policies derives the policies from the current job versions.
type ScalingPolicy struct {
	ID     string
	Type   string
	Target map[string]string
	Policy map[string]any
	Min    int64
	Max    int64
	// Enabled is what Nomad's autoscaler reads; it does not affect Min/Max.
	Enabled     bool
	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a deep copy of the policy.
func (p *ScalingPolicy) Copy() *ScalingPolicy {
	if p == nil {
		return nil
	}
	n := *p
	n.Target = maps.Clone(p.Target)
	n.Policy = copyAnyMap(p.Policy)
	return &n
}

func copyAnyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = copyAny(v)
	}
	return out
}

// copyAny deep-copies a free-form value decoded from HCL or JSON (maps, lists
// and scalars); other values are returned as they are.
func copyAny(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return copyAnyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyAny(e)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = copyAnyMap(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case map[string]string:
		return maps.Clone(x)
	}
	return v
}

// scalingJSONDefaults applies Nomad's API defaults to a group decoded from
// JSON whose keys k describes: a scaling block without Min takes the
// group's count, without Max gets -1 (refused by Validate: Nomad requires
// max), without Enabled is enabled; a group without Count takes the
// scaling block's Min.
func (tg *TaskGroup) scalingJSONDefaults(k GroupJSONKeys) {
	s := k.Scaling
	if tg.Scaling == nil || s == nil {
		return
	}
	if !k.Count && s.Min {
		tg.Count = int(tg.Scaling.Min)
	}
	if !s.Min {
		tg.Scaling.Min = int64(tg.Count)
	}
	if !s.Max {
		tg.Scaling.Max = -1
	}
	if !s.Enabled {
		tg.Scaling.Enabled = true
	}
}

// canonicalizeScaling fills the policy's type and target (namespace, job, group).
func (tg *TaskGroup) canonicalizeScaling(j *Job) {
	p := tg.Scaling
	if p == nil {
		return
	}
	if p.Type == "" {
		p.Type = ScalingPolicyTypeHorizontal
	}
	if p.Type == ScalingPolicyTypeHorizontal {
		p.Target = map[string]string{
			ScalingTargetNamespace: j.Namespace,
			ScalingTargetJob:       j.ID,
			ScalingTargetGroup:     tg.Name,
		}
	}
	if p.Policy == nil {
		p.Policy = map[string]any{}
	}
}

// validateScaling checks the scaling block and the group's count against
// it, with Nomad's messages.
func (tg *TaskGroup) validateScaling(v *ValidationError) {
	p := tg.Scaling
	if p == nil {
		return
	}
	if p.Type != ScalingPolicyTypeHorizontal && p.Type != "" {
		v.add("Scaling.Type", "scaling policy type %q is not supported (only %q, the group's count; vertical policies are Nomad Enterprise's)", p.Type, ScalingPolicyTypeHorizontal)
		return
	}
	bad := false
	if p.Min < 0 {
		v.add("Scaling.Min", "minimum count must be specified and non-negative")
		bad = true
	}
	if p.Max < 0 {
		v.add("Scaling.Max", "maximum count must be specified and non-negative (add max = N to the scaling block)")
		bad = true
	}
	if bad {
		return
	}
	if p.Max < p.Min {
		v.add("Scaling", "maximum count must not be less than minimum count (min %d, max %d)", p.Min, p.Max)
		return
	}
	if int64(tg.Count) > p.Max {
		v.add("Count", "task group count must not be greater than maximum count in scaling policy (count %d, max %d)", tg.Count, p.Max)
	}
	if int64(tg.Count) < p.Min {
		v.add("Count", "task group count must not be less than minimum count in scaling policy (count %d, min %d)", tg.Count, p.Min)
	}
}

// CheckScalingBounds reports, as Nomad's job scale does, a count outside
// the group's scaling policy; nil when the group has none or count fits.
func (tg *TaskGroup) CheckScalingBounds(count int64) error {
	p := tg.Scaling
	if p == nil {
		return nil
	}
	if count < p.Min {
		return NewBadRequest("group count was less than scaling policy minimum: %d < %d", count, p.Min)
	}
	if count > p.Max {
		return NewBadRequest("group count was greater than scaling policy maximum: %d > %d", count, p.Max)
	}
	return nil
}

// ScalingPolicyListStub is a policy as GET /v1/scaling/policies lists it.
type ScalingPolicyListStub struct {
	ID          string
	Enabled     bool
	Type        string
	Target      map[string]string
	CreateIndex uint64
	ModifyIndex uint64
}

// Stub returns the policy's list stub.
func (p *ScalingPolicy) Stub() *ScalingPolicyListStub {
	return &ScalingPolicyListStub{
		ID: p.ID, Enabled: p.Enabled, Type: p.Type, Target: maps.Clone(p.Target),
		CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex,
	}
}
