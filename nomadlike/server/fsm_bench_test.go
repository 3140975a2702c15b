package server

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkFSMApply measures Raft apply: decoding an entry and applying it
// to the state store (with events and notifications), per entry. The state
// grows as it would on a busy leader: every plan places new allocations.
func BenchmarkFSMApply(b *testing.B) {
	const nodes, perPlan = 50, 10
	setup := func(b *testing.B) (*fsm, *structs.Job, []string, uint64) {
		f := newTestFSM(&testing.T{})
		var ids []string
		index := uint64(1)
		for n := range nodes {
			node := mockNode(fmt.Sprintf("n%d", n))
			node.Status = structs.NodeStatusReady
			benchApply(b, f, index, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: node})
			ids = append(ids, node.ID)
			index++
		}
		job := mockJob("web", 1000, 10, 10)
		job.Canonicalize()
		benchApply(b, f, index, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: testEval("web", structs.EvalStatusComplete)})
		stored, _ := f.state.JobByID(nil, structs.DefaultNamespace, "web")
		return f, stored, ids, index + 1
	}
	plan := func(job *structs.Job, nodeIDs []string, i int) *structs.ApplyPlanResultsRequest {
		req := &structs.ApplyPlanResultsRequest{Job: job, EvalID: structs.GenerateUUID(), Timestamp: int64(i)}
		for k := range perPlan {
			req.AllocsPlaced = append(req.AllocsPlaced, &structs.Allocation{
				ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, EvalID: req.EvalID,
				Name: fmt.Sprintf("web.web[%d]", i*perPlan+k), NodeID: nodeIDs[(i*perPlan+k)%len(nodeIDs)], JobID: "web", TaskGroup: "web",
				DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
				AllocatedResources: &structs.AllocatedResources{},
			})
		}
		return req
	}
	b.Run(fmt.Sprintf("plan-%d-allocs", perPlan), func(b *testing.B) {
		f, job, nodeIDs, index := setup(b)
		entries := make([][]byte, b.N)
		for i := range entries {
			entries[i] = benchEncode(b, structs.ApplyPlanResultsRequestType, plan(job, nodeIDs, i))
		}
		runEntries(b, f, index, entries)
	})
	// Plans of 100 placements of one deployment, as a rolling job's
	// first evaluation makes them.
	b.Run("plan-100-allocs-deployment", func(b *testing.B) {
		b.ReportAllocs()
		f, job, nodeIDs, index := setup(b)
		d := structs.NewDeployment(structs.GenerateUUID(), job, 50, time.Unix(100, 0))
		d.TaskGroups[job.TaskGroups[0].Name] = &structs.DeploymentState{DesiredTotal: 1000000, ProgressDeadline: time.Minute}
		entries := make([][]byte, b.N)
		for i := range entries {
			req := &structs.ApplyPlanResultsRequest{Job: job, EvalID: structs.GenerateUUID(), Timestamp: int64(i)}
			if i == 0 {
				req.Deployment = d
			}
			for k := range 100 {
				req.AllocsPlaced = append(req.AllocsPlaced, &structs.Allocation{
					ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, EvalID: req.EvalID, DeploymentID: d.ID,
					Name: fmt.Sprintf("web.web[%d]", i*100+k), NodeID: nodeIDs[(i*100+k)%len(nodeIDs)], JobID: "web", TaskGroup: job.TaskGroups[0].Name,
					DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
					AllocatedResources: &structs.AllocatedResources{},
				})
			}
			entries[i] = benchEncode(b, structs.ApplyPlanResultsRequestType, req)
		}
		runEntries(b, f, index, entries)
	})
	b.Run("client-update", func(b *testing.B) {
		f, job, nodeIDs, index := setup(b)
		placed := plan(job, nodeIDs, 0)
		benchApply(b, f, index, structs.ApplyPlanResultsRequestType, placed)
		entries := make([][]byte, b.N)
		for i := range entries {
			a := placed.AllocsPlaced[i%perPlan]
			status := structs.AllocClientStatusRunning
			if i%2 == 1 {
				status = structs.AllocClientStatusPending
			}
			entries[i] = benchEncode(b, structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{
				Allocs: []*structs.Allocation{{ID: a.ID, NodeID: a.NodeID, ClientStatus: status}}, Timestamp: int64(i)})
		}
		runEntries(b, f, index+1, entries)
	})
	b.Run("job-register", func(b *testing.B) {
		f, _, _, index := setup(b)
		entries := make([][]byte, b.N)
		for i := range entries {
			job := mockJob(fmt.Sprintf("job-%d", i), 3, 10, 10)
			job.Canonicalize()
			entries[i] = benchEncode(b, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: testEval(job.ID, structs.EvalStatusComplete)})
		}
		runEntries(b, f, index, entries)
	})
	// A registration as RegisterJob makes it: a small new job, its
	// pending evaluation and a request ID (make bench-cluster's job).
	b.Run("job-register-once", func(b *testing.B) {
		b.ReportAllocs()
		f, _, _, index := setup(b)
		entries := registerOnceEntries(b)
		runEntries(b, f, index, entries)
		b.ReportMetric(float64(len(entries[0])), "entry-bytes")
	})
	// The same registrations, 16 to a Raft batch (ApplyBatch), as a busy
	// leader commits them.
	b.Run("job-register-once-batch16", func(b *testing.B) {
		b.ReportAllocs()
		f, _, _, index := setup(b)
		runBatches(b, f, index, registerOnceEntries(b), 16)
	})
}

// registerOnceEntries returns b.N registrations as RegisterJob makes them:
// a small new job, its pending evaluation and a request ID.
func registerOnceEntries(b *testing.B) [][]byte {
	entries := make([][]byte, b.N)
	now := time.Now()
	for i := range entries {
		job := mockJob(fmt.Sprintf("bench-%d", i), 1, 20, 16)
		job.Canonicalize()
		job.SubmitTime = now.UnixNano()
		eval := jobEval(job, structs.EvalTriggerJobRegister, now)
		once := structs.WriteOnce{RequestID: structs.GenerateUUID(), Fingerprint: "0123456789abcdef0123456789abcdef", Time: now.UnixNano() + int64(i)}
		entries[i] = benchEncode(b, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: eval, SubmitTime: job.SubmitTime, Once: once})
	}
	return entries
}

// runBatches is runEntries with the entries handed to ApplyBatch size at a
// time.
func runBatches(b *testing.B, f *fsm, index uint64, entries [][]byte, size int) {
	logs := make([]*raft.Log, len(entries))
	for i, buf := range entries {
		logs[i] = &raft.Log{Index: index + uint64(i), Type: raft.LogCommand, Data: buf}
	}
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < len(logs); i += size {
		for _, resp := range f.ApplyBatch(logs[i:min(i+size, len(logs))]) {
			if resp != nil {
				b.Fatalf("ApplyBatch: %v", resp)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(len(entries)), "cpu-ns/op")
}

// runEntries applies entries from index on, timing only Apply. Besides
// the wall time it reports the process CPU time per entry (cpu-ns/op),
// which a busy shared machine disturbs much less.
func runEntries(b *testing.B, f *fsm, index uint64, entries [][]byte) {
	b.ResetTimer()
	start := cpuTime()
	for i, buf := range entries {
		if resp := f.Apply(&raft.Log{Index: index + uint64(i), Type: raft.LogCommand, Data: buf}); resp != nil {
			b.Fatalf("Apply: %v", resp)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(len(entries)), "cpu-ns/op")
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchEncode(b *testing.B, typ structs.MessageType, body any) []byte {
	buf, err := encodeEntry(typ, body)
	if err != nil {
		b.Fatalf("encode: %v", err)
	}
	return buf
}

func benchApply(b *testing.B, f *fsm, index uint64, typ structs.MessageType, body any) {
	if resp := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: benchEncode(b, typ, body)}); resp != nil {
		b.Fatalf("Apply(type %d): %v", typ, resp)
	}
}
