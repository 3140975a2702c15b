package server

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestFSMDeploymentEntriesAndSnapshot(t *testing.T) {
	src := newTestFSM(t)
	job := rollingMockJob("web", 1, &structs.UpdateStrategy{MaxParallel: 1})
	job.Canonicalize()
	applyEntry(t, src, 5, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job})
	stored, _ := src.state.JobByID(nil, structs.DefaultNamespace, "web")
	d := structs.NewDeployment("dep-1", stored, 50, time.Unix(100, 0))
	d.TaskGroups["web"] = &structs.DeploymentState{DesiredTotal: 1}
	a := &structs.Allocation{ID: "a1", Namespace: structs.DefaultNamespace, JobID: "web", TaskGroup: "web", Name: "web.web[0]",
		NodeID: "n1", DeploymentID: d.ID, DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
	applyEntry(t, src, 6, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{
		Job: stored, EvalID: "e1", AllocsPlaced: []*structs.Allocation{a}, Deployment: d, Timestamp: time.Unix(200, 0).UnixNano()})
	applyEntry(t, src, 7, structs.DeploymentAllocHealthRequestType, &structs.DeploymentAllocHealthRequest{
		DeploymentID: d.ID, HealthyAllocationIDs: []string{"a1"}, UpdatedAt: time.Unix(300, 0).UnixNano()})
	applyEntry(t, src, 8, structs.DeploymentStatusUpdateRequestType, &structs.DeploymentStatusUpdateRequest{
		DeploymentUpdate: &structs.DeploymentStatusUpdate{DeploymentID: d.ID, Status: structs.DeploymentStatusPaused,
			StatusDescription: structs.DeploymentStatusDescriptionPaused}, UpdatedAt: time.Unix(400, 0).UnixNano()})

	want, _ := src.state.DeploymentByID(nil, d.ID)
	if want == nil || want.Status != structs.DeploymentStatusPaused || want.TaskGroups["web"].HealthyAllocs != 1 || want.TaskGroups["web"].PlacedAllocs != 1 {
		t.Fatalf("deployment after entries: %+v", want)
	}
	dst := snapshotRoundTrip(t, src)
	got, _ := dst.state.DeploymentByID(nil, d.ID)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("restored deployment (-want +got):\n%s", diff)
	}
	if idx, _ := dst.state.Index("deployment"); idx != 8 {
		t.Errorf("restored deployment index %d, want 8", idx)
	}
}
