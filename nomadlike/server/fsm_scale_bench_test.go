package server

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkStateScale builds, through Raft entries as a leader applies
// them, a state of NOMADLIKE_SCALE_ALLOCS allocations (default 20,000)
// of 1,000 per job on one node per 25 allocations, each placed with
// scheduler-like metrics and then reported running with a task state by
// its client, and reports the live heap per allocation after a GC, then
// the time and size of an FSM snapshot of it (written while entries keep
// being applied: it must not stop them) and of its restore. The
// snapshot-cpu-s and restore-cpu-s metrics are the process's user+system
// CPU time (GC included) over the same spans, and build-cpu-ms/alloc
// that of building the state: on a shared machine they vary much less
// than the wall times.
//
//	NOMADLIKE_SCALE_ALLOCS=1000000 go test -run '^$' -bench StateScale -benchtime 1x ./nomadlike/server/
//
// NOMADLIKE_SCALE_HEAPPROFILE=file writes the heap profile of the built
// state (after a GC) to file, sampling one in 4 KiB allocated (instead of
// 512 KiB) so that the objects of each allocation are told apart.
func BenchmarkStateScale(b *testing.B) {
	n := 20000
	if os.Getenv("NOMADLIKE_SCALE_HEAPPROFILE") != "" {
		defer func(rate int) { runtime.MemProfileRate = rate }(runtime.MemProfileRate)
		runtime.MemProfileRate = 4096
	}
	if v := os.Getenv("NOMADLIKE_SCALE_ALLOCS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("NOMADLIKE_SCALE_ALLOCS=%q: want a positive number", v)
		}
	}
	for range b.N {
		heapBefore, buildCPU := liveHeap(), processCPU()
		f := newTestFSM(&testing.T{})
		index := uint64(1)
		nodes := make([]*structs.Node, max(1, n/25))
		for i := range nodes {
			nodes[i] = mockNode(fmt.Sprintf("node-%d", i))
			nodes[i].Status = structs.NodeStatusReady
			benchApply(b, f, index, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: nodes[i]})
			index++
		}
		var ids []string
		for j := 0; j*1000 < n; j++ {
			job := mockJob(fmt.Sprintf("job-%d", j), min(1000, n-j*1000), 10, 10)
			job.Canonicalize()
			benchApply(b, f, index, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: testEval(job.ID, structs.EvalStatusComplete)})
			index++
			stored, _ := f.state.JobByID(nil, structs.DefaultNamespace, job.ID)
			// Plans of 100 placements, as the scheduler makes them.
			for p := 0; p < job.TaskGroups[0].Count; p += 100 {
				req := &structs.ApplyPlanResultsRequest{Job: stored, EvalID: structs.GenerateUUID(), Timestamp: int64(index)}
				avail := map[string]int{"dc1": len(nodes)}
				for k := p; k < min(p+100, job.TaskGroups[0].Count); k++ {
					node := nodes[(j*1000+k)%len(nodes)]
					m := &structs.AllocMetric{NodesEvaluated: 20, NodesInPool: len(nodes), NodePool: "default", NodesAvailable: avail}
					for s := range 5 {
						other := nodes[(j*1000+k+s)%len(nodes)]
						m.ScoreMetaData = append(m.ScoreMetaData, &structs.NodeScoreMeta{NodeID: other.ID, NormScore: 0.5,
							Scores: structs.NodeScores{{Name: "binpack", Score: 0.5}, {Name: "job-anti-affinity", Score: -0.1}}})
					}
					a := &structs.Allocation{
						ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, EvalID: req.EvalID,
						Name: fmt.Sprintf("%s.web[%d]", job.ID, k), NodeID: node.ID, NodeName: node.Name, JobID: job.ID, TaskGroup: "web",
						DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
						AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{"server": {
							Cpu: structs.AllocatedCpuResources{CpuShares: 10}, Memory: structs.AllocatedMemoryResources{MemoryMB: 10}}},
							Shared: structs.AllocatedSharedResources{DiskMB: 10}},
						Metrics: m,
					}
					req.AllocsPlaced = append(req.AllocsPlaced, a)
					ids = append(ids, a.ID)
				}
				benchApply(b, f, index, structs.ApplyPlanResultsRequestType, req)
				index++
			}
		}
		// Clients report them running, 50 per batched entry.
		now := time.Unix(1700000000, 0)
		for i := 0; i < len(ids); i += 50 {
			var ups []*structs.Allocation
			for _, id := range ids[i:min(i+50, len(ids))] {
				ups = append(ups, &structs.Allocation{ID: id, ClientStatus: structs.AllocClientStatusRunning, TaskStates: map[string]*structs.TaskState{
					"server": {State: structs.TaskStateRunning, StartedAt: now, Events: []*structs.TaskEvent{structs.NewTaskEvent(structs.TaskStarted, now, "Task started by client")}}}})
			}
			benchApply(b, f, index, structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{Allocs: ups, Timestamp: now.UnixNano()})
			index++
		}
		b.ReportMetric(float64((processCPU()-buildCPU).Microseconds())/1000/float64(n), "build-cpu-ms/alloc")
		heap := liveHeap() - heapBefore
		b.ReportMetric(float64(heap)/float64(n), "heap-B/alloc")
		if p := os.Getenv("NOMADLIKE_SCALE_HEAPPROFILE"); p != "" {
			writeHeapProfile(b, p)
		}

		snap, err := f.Snapshot()
		if err != nil {
			b.Fatal(err)
		}
		// Applies go on while the snapshot is written.
		applied := make(chan time.Duration)
		go func() {
			start := time.Now()
			for i := range 100 {
				benchApply(b, f, index+uint64(i), structs.AllocClientUpdateRequestType, &structs.AllocClientUpdateRequest{
					Allocs: []*structs.Allocation{{ID: ids[i%len(ids)], ClientStatus: structs.AllocClientStatusRunning}}, Timestamp: now.UnixNano()})
			}
			applied <- time.Since(start)
		}()
		var buf bytes.Buffer
		start, cpu := time.Now(), processCPU()
		if err := writeSnapshot(snap.(*fsmSnapshot).snap, &buf); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "snapshot-s")
		b.ReportMetric((processCPU() - cpu).Seconds(), "snapshot-cpu-s")
		b.ReportMetric(float64(buf.Len())/float64(n), "snapshot-B/alloc")
		b.ReportMetric((<-applied).Seconds()*1000/100, "apply-during-snapshot-ms")
		size := buf.Len()
		f, snap = nil, nil
		runtime.GC()
		g := newTestFSM(&testing.T{})
		start, cpu = time.Now(), processCPU()
		if err := g.Restore(nopCloser{&buf}); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "restore-s")
		b.ReportMetric((processCPU() - cpu).Seconds(), "restore-cpu-s")
		b.ReportMetric(float64(liveHeap()-heapBefore)/float64(n), "restored-heap-B/alloc")
		runtime.KeepAlive(g)
		b.Logf("%d allocations: state %d MB live, snapshot %d MB", n, heap>>20, size>>20)
	}
}

// writeHeapProfile writes the heap profile (after a GC) to path.
func writeHeapProfile(b *testing.B, path string) {
	fh, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(fh); err != nil {
		b.Fatal(err)
	}
}

// liveHeap returns the bytes of live heap objects after a GC.
func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
