package state

import (
	"fmt"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// newTestStore returns an empty store or fails the test.
func newTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := NewStore()
	if err != nil {
		t.Fatalf("NewStore: %v", err)
	}
	// Whatever the test wrote, the node_usage and node_alloc_view tables
	// must equal a recount.
	t.Cleanup(func() {
		checkNodeUsage(t, s)
		checkNodeAllocViews(t, s)
	})
	return s
}

// testJob returns a canonical service job with one group "web" of count 2.
func testJob(id string) *structs.Job {
	j := &structs.Job{
		ID:   id,
		Type: structs.JobTypeService,
		TaskGroups: []*structs.TaskGroup{{
			Name:  "web",
			Count: 2,
			Tasks: []*structs.Task{{
				Name:      "server",
				Driver:    "raw_exec",
				Config:    map[string]any{"command": "/bin/sleep", "args": []any{"100"}},
				Resources: &structs.Resources{CPU: 100, MemoryMB: 64},
			}},
		}},
	}
	j.Canonicalize()
	return j
}

// testAlloc returns a pending allocation of job's first group on nodeID.
func testAlloc(id string, job *structs.Job, nodeID string) *structs.Allocation {
	return &structs.Allocation{
		ID:            id,
		Namespace:     job.Namespace,
		EvalID:        "eval-" + id,
		Name:          fmt.Sprintf("%s.web[0]", job.ID),
		NodeID:        nodeID,
		JobID:         job.ID,
		Job:           job,
		TaskGroup:     "web",
		DesiredStatus: structs.AllocDesiredStatusRun,
		ClientStatus:  structs.AllocClientStatusPending,
	}
}

// testEval returns an evaluation of job with status.
func testEval(id string, job *structs.Job, status string) *structs.Evaluation {
	return &structs.Evaluation{
		ID: id, Namespace: job.Namespace, JobID: job.ID, Type: job.Type,
		Priority: job.Priority, TriggeredBy: structs.EvalTriggerJobRegister, Status: status,
	}
}

// testNode returns a ready node.
func testNode(id string) *structs.Node {
	return &structs.Node{
		ID: id, SecretID: "secret-" + id, Datacenter: "dc1", Name: "node-" + id,
		Status: structs.NodeStatusReady, SchedulingEligibility: structs.NodeSchedulingEligible,
		NodeResources: &structs.NodeResources{
			Cpu:    structs.NodeCpuResources{CpuShares: 4000},
			Memory: structs.NodeMemoryResources{MemoryMB: 8192},
			Disk:   structs.NodeDiskResources{DiskMB: 100000},
		},
	}
}

// must fails the test on err.
func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// errOf returns the error of a per-entry write, for tests that only check it.
func errOf(_ Result, err error) error { return err }
