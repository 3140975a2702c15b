package structs

// SchedulerSetConfigRequest is the Raft entry that stores the scheduler
// configuration. With CAS set it applies only when the stored
// configuration's ModifyIndex is Index (0: none stored yet).
type SchedulerSetConfigRequest struct {
	Config SchedulerConfig
	CAS    bool
	Index  uint64
}

// SchedulerConfigResponse is the reply of GET /v1/operator/scheduler/configuration.
type SchedulerConfigResponse struct {
	SchedulerConfig *SchedulerConfig
	Index           uint64
}

// SchedulerSetConfigResponse is the reply of PUT
// /v1/operator/scheduler/configuration: Updated is false when a CAS write
// found another ModifyIndex.
type SchedulerSetConfigResponse struct {
	Updated bool
	Index   uint64
}
