package server

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkPlacementAtScale places NOMADLIKE_BENCH_JOBS (default 5) jobs of
// 1,000 allocations through the real broker, workers, scheduler and plan
// applier on a cluster of NOMADLIKE_BENCH_NODES nodes (default 10,000)
// whose state already holds NOMADLIKE_BENCH_PREFILL allocations (default
// 50,000, in jobs of 1,000, written as plan results without scheduling).
// It reports placements/s and the process's CPU per placement: the figure
// that shows what grows with the cluster and the state.
//
//	NOMADLIKE_BENCH_PREFILL=150000 go test -run '^$' -bench PlacementAtScale -benchtime 1x ./nomadlike/server/
func BenchmarkPlacementAtScale(b *testing.B) {
	nodes, prefill, jobs := envInt(b, "NOMADLIKE_BENCH_NODES", 10000), envInt(b, "NOMADLIKE_BENCH_PREFILL", 50000), envInt(b, "NOMADLIKE_BENCH_JOBS", 5)
	const count = 1000
	for range b.N {
		b.StopTimer()
		s := newTestServer(b, func(c *Config) { c.MinHeartbeatTTL = time.Hour })
		ctx := context.Background()
		ns := make([]*structs.Node, nodes)
		for i := range ns {
			ns[i] = mockNode(fmt.Sprintf("node-%d", i))
			ns[i].Status = structs.NodeStatusReady
			if _, err := s.raftApply(ctx, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: ns[i]}); err != nil {
				b.Fatal(err)
			}
		}
		for j := 0; j*count < prefill; j++ {
			job := mockJob(fmt.Sprintf("old-%d", j), min(count, prefill-j*count), 20, 20)
			job.Canonicalize()
			// A recent evaluation, as a live cluster's: an old one would make
			// the garbage collector's pass read every allocation of its job.
			eval := testEval(job.ID, structs.EvalStatusComplete)
			eval.CreateTime, eval.ModifyTime = time.Now().UnixNano(), time.Now().UnixNano()
			if _, err := s.raftApply(ctx, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job, Eval: eval}); err != nil {
				b.Fatal(err)
			}
			stored, _ := s.state.JobByID(nil, structs.DefaultNamespace, job.ID)
			req := &structs.ApplyPlanResultsRequest{Job: stored, EvalID: structs.GenerateUUID()}
			for k := range job.TaskGroups[0].Count {
				n := ns[(j*count+k)%len(ns)]
				req.AllocsPlaced = append(req.AllocsPlaced, &structs.Allocation{
					ID: structs.GenerateUUID(), Namespace: structs.DefaultNamespace, EvalID: req.EvalID,
					Name: fmt.Sprintf("%s.web[%d]", job.ID, k), NodeID: n.ID, NodeName: n.Name, JobID: job.ID, TaskGroup: "web",
					DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
					AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{"server": {
						Cpu: structs.AllocatedCpuResources{CpuShares: 20}, Memory: structs.AllocatedMemoryResources{MemoryMB: 20}}},
						Shared: structs.AllocatedSharedResources{DiskMB: 10}},
					Metrics: &structs.AllocMetric{NodesEvaluated: 14, NodesInPool: len(ns)},
				})
			}
			if _, err := s.raftApply(ctx, structs.ApplyPlanResultsRequestType, req); err != nil {
				b.Fatal(err)
			}
		}
		stopProfile := startProfile(b)
		cpu0 := processCPU()
		b.StartTimer()
		start := time.Now()
		for j := range jobs {
			if _, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: mockJob(fmt.Sprintf("new-%d", j), count, 20, 20)}); err != nil {
				b.Fatalf("RegisterJob: %v", err)
			}
		}
		waitFor(b, 10*time.Minute, "all placements", func() (bool, string) {
			time.Sleep(20 * time.Millisecond) // polls cost the state walk; keep them rare
			placed := 0
			for j := range jobs {
				sum, _ := s.state.JobSummaryByID(nil, structs.DefaultNamespace, fmt.Sprintf("new-%d", j))
				if sum != nil {
					for _, tg := range sum.Summary {
						placed += tg.Starting + tg.Running
					}
				}
			}
			return placed >= jobs*count, fmt.Sprintf("%d of %d", placed, jobs*count)
		})
		elapsed := time.Since(start)
		b.StopTimer()
		cpu := processCPU() - cpu0
		stopProfile()
		b.ReportMetric(float64(jobs*count)/elapsed.Seconds(), "placements/s")
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(jobs*count), "cpu-ms/placement")
		if err := s.Shutdown(); err != nil {
			b.Fatalf("Shutdown: %v", err)
		}
	}
}

func envInt(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		b.Fatalf("%s=%q: want a number", name, v)
	}
	return n
}

// startProfile writes a CPU profile of the timed part to
// NOMADLIKE_BENCH_PROFILE when it is set; the returned func stops it.
func startProfile(b *testing.B) func() {
	path := os.Getenv("NOMADLIKE_BENCH_PROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}

// processCPU is the user+system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
