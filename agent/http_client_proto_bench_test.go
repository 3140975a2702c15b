package agent

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkHTTPClientProtocol measures one round trip of each client
// protocol call through the full middleware chain and router (no network,
// a Raft-less fake server): the allocation watch returning one changed
// allocation of a node holding ten (delta form), the fetch of it (the full
// form's second round trip), a status update of one allocation, and a
// heartbeat; each in JSON and in msgpack.
func BenchmarkHTTPClientProtocol(b *testing.B) {
	fake := newFakeServer(b)
	h := NewHTTPServer(HTTPConfig{Server: fake, Logger: slog.New(slog.DiscardHandler)}).Handler()
	nodeID := "11111111-2222-3333-4444-555555555555"
	node := &structs.Node{ID: nodeID, SecretID: fake.secret, Datacenter: "dc1", Name: "n1",
		NodeResources: &structs.NodeResources{}, Status: structs.NodeStatusReady}
	if err := fake.st.UpsertNode(fake.next(), node); err != nil {
		b.Fatal(err)
	}
	job := testJob("web")
	job.Type = structs.JobTypeService
	job.Canonicalize()
	if err := fake.st.UpsertJob(fake.next(), job); err != nil {
		b.Fatal(err)
	}
	var ids []string
	for i := range 10 {
		a := benchAlloc(job, fmt.Sprintf("aaaaaaaa-0000-0000-0000-%012d", i), nodeID)
		if err := fake.st.UpsertAllocs(fake.next(), []*structs.Allocation{a}); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	since := fake.index - 1 // the last allocation changed since
	base := "/v1/node/" + nodeID
	mp := structs.MsgpackContentType
	for _, enc := range []string{"json", "msgpack"} {
		// encode is a request body in enc; do sends a request asking for a
		// reply in enc.
		encode := func(v any) string {
			if enc == "json" {
				return mustJSON(b, v)
			}
			var out []byte
			if err := codec.NewEncoderBytes(&out, structs.WireMsgpackHandle).Encode(v); err != nil {
				b.Fatal(err)
			}
			return string(out)
		}
		do := func(b *testing.B, method, url, body string) {
			req := httptest.NewRequest(method, url, strings.NewReader(body))
			req.Header.Set("X-Nomad-Token", fake.secret)
			if enc == "msgpack" {
				req.Header.Set("Accept", mp)
				if body != "" {
					req.Header.Set("Content-Type", mp)
				}
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("%s %s: got %d: %s", method, url, rec.Code, rec.Body)
			}
		}
		b.Run("watch/"+enc, func(b *testing.B) {
			b.ReportAllocs()
			url := fmt.Sprintf("%s/client-allocations?index=%d&have=9&wait=5m", base, since)
			for b.Loop() {
				do(b, http.MethodGet, url, "")
			}
		})
		b.Run("fetch/"+enc, func(b *testing.B) {
			b.ReportAllocs()
			body := encode(structs.NodeAllocsPullRequest{AllocIDs: ids[9:], HaveJobs: []string{structs.JobVersionKey(job)}})
			for b.Loop() {
				do(b, http.MethodPut, base+"/client-allocations", body)
			}
		})
		b.Run("update/"+enc, func(b *testing.B) {
			b.ReportAllocs()
			now := time.Now()
			up := &structs.Allocation{ID: ids[0], ClientStatus: structs.AllocClientStatusRunning, TaskStates: map[string]*structs.TaskState{
				"t": {State: structs.TaskStateRunning, StartedAt: now, Events: []*structs.TaskEvent{structs.NewTaskEvent(structs.TaskStarted, now, "simulated")}}}}
			body := encode(structs.NodeAllocUpdateRequest{Allocs: []*structs.Allocation{up}})
			for b.Loop() {
				do(b, http.MethodPut, base+"/allocations", body)
			}
		})
	}
	b.Run("heartbeat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPut, base+"/heartbeat", nil)
			req.Header.Set("X-Nomad-Token", fake.secret)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("heartbeat: got %d: %s", rec.Code, rec.Body)
			}
		}
	})
}

// benchAlloc is an allocation as the scheduler makes one: resources,
// metrics with the top node scores.
func benchAlloc(job *structs.Job, id, nodeID string) *structs.Allocation {
	tg := job.TaskGroups[0]
	m := &structs.AllocMetric{NodesEvaluated: 2000, NodesInPool: 2000, NodePool: "default",
		NodesAvailable: map[string]int{"dc1": 2000}, Scores: map[string]float64{}}
	for range 5 {
		m.ScoreMetaData = append(m.ScoreMetaData, &structs.NodeScoreMeta{NodeID: structs.GenerateUUID(), NormScore: 0.5,
			Scores: structs.NodeScores{{Name: "binpack", Score: 0.4}, {Name: "job-anti-affinity", Score: 0}, {Name: "node-affinity", Score: 0}}})
	}
	return &structs.Allocation{ID: id, Namespace: job.Namespace, JobID: job.ID, Job: job, TaskGroup: tg.Name,
		Name: fmt.Sprintf("%s.%s[%d]", job.ID, tg.Name, 0), NodeID: nodeID, NodeName: "n1", EvalID: structs.GenerateUUID(),
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending, Metrics: m,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"t": {Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64}}},
			Shared: structs.AllocatedSharedResources{DiskMB: 300}}}
}
