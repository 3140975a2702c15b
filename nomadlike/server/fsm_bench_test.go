package server

import (
	"fmt"
	"testing"

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
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			buf := benchEncode(b, structs.ApplyPlanResultsRequestType, plan(job, nodeIDs, i))
			b.StartTimer()
			if resp := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: buf}); resp != nil {
				b.Fatalf("Apply: %v", resp)
			}
			index++
		}
	})
	b.Run("client-update", func(b *testing.B) {
		f, job, nodeIDs, index := setup(b)
		placed := plan(job, nodeIDs, 0)
		benchApply(b, f, index, structs.ApplyPlanResultsRequestType, placed)
		index++
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			a := placed.AllocsPlaced[i%perPlan]
			status := structs.AllocClientStatusRunning
			if i%2 == 1 {
				status = structs.AllocClientStatusPending
			}
			buf := benchEncode(b, structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{
				Allocs: []*structs.Allocation{{ID: a.ID, NodeID: a.NodeID, ClientStatus: status}}, Timestamp: int64(i)})
			b.StartTimer()
			if resp := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: buf}); resp != nil {
				b.Fatalf("Apply: %v", resp)
			}
			index++
		}
	})
	b.Run("job-register", func(b *testing.B) {
		f, _, _, index := setup(b)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			job := mockJob(fmt.Sprintf("job-%d", i), 3, 10, 10)
			job.Canonicalize()
			buf := benchEncode(b, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: testEval(job.ID, structs.EvalStatusComplete)})
			b.StartTimer()
			if resp := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: buf}); resp != nil {
				b.Fatalf("Apply: %v", resp)
			}
			index++
		}
	})
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
