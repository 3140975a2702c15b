package structs

// EvalTriggerScaling is the trigger of the evaluation of a job scale (Nomad's).
const EvalTriggerScaling = "job-scaling"

// ScalingRequest is the body of PUT/POST /v1/job/{id}/scale: set the count
// of the group named by Target["Group"].
type ScalingRequest struct {
	Count          *int64
	Target         map[string]string
	Message        string         `json:",omitempty"`
	Error          bool           `json:",omitempty"`
	Meta           map[string]any `json:",omitempty"`
	PolicyOverride bool           `json:",omitempty"`
	JobModifyIndex uint64         `json:",omitempty"`
	EnforceIndex   bool           `json:",omitempty"`
}

// ScalingTargetGroup is the key of ScalingRequest.Target naming the group.
const ScalingTargetGroup = "Group"

// JobScaleStatusResponse is the reply of GET /v1/job/{id}/scale.
type JobScaleStatusResponse struct {
	JobID          string
	Namespace      string
	JobCreateIndex uint64
	JobModifyIndex uint64
	JobStopped     bool
	TaskGroups     map[string]TaskGroupScaleStatus
}

// TaskGroupScaleStatus is one group's desired and actual allocation counts.
type TaskGroupScaleStatus struct {
	Desired   int
	Placed    int
	Running   int
	Healthy   int
	Unhealthy int
	Events    []*ScalingEvent
}

// ScalingEvent is one recorded scaling of a group.
type ScalingEvent struct {
	Time          uint64
	Count         *int64
	PreviousCount int64
	Message       string
	Error         bool
	Meta          map[string]any `json:",omitempty"`
	EvalID        *string
	CreateIndex   uint64
}
