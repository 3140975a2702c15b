package structs

// DeploymentDeleteRequest is the Raft entry that removes deployments
// (garbage collection; DeploymentDeleteRequestType).
type DeploymentDeleteRequest struct {
	Deployments []string
}

// GCStats counts what one garbage collection pass removed.
type GCStats struct {
	Jobs        int
	Evals       int
	Allocs      int
	Deployments int
	Nodes       int
}

// ReconcileJobSummariesRequest is the Raft entry that recounts every job
// summary (ReconcileJobSummariesRequestType, PUT /v1/system/reconcile/summaries).
type ReconcileJobSummariesRequest struct{}
