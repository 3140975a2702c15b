package nodesim

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchConfig configures a scale benchmark against running servers.
type BenchConfig struct {
	Sim Config
	// Allocs is the total allocation count, split over Jobs service jobs
	// (default: one job per 1,000 allocations).
	Allocs, Jobs int
	// JobType is "service" (default), "batch" or "system" (one allocation
	// per node and job: Allocs is then Nodes × Jobs, Jobs defaulting to 1).
	JobType string
	// JobsFirst submits the jobs before the nodes start, so placement
	// follows the nodes joining (node-update evaluations); the times are
	// then from the nodes' start.
	JobsFirst bool
	// Servers are the server processes (PID and data_dir), for CPU, memory
	// and Raft sizes; optional.
	Servers []ServerProc
	// Timeout bounds the whole run (default 10 minutes).
	Timeout time.Duration
	// Progress, when set, is called about once a second.
	Progress func(Progress)
	// OnPlaceStart and OnPlaceEnd, when set, are called just before the
	// jobs are submitted and once every allocation runs (or the wait
	// failed): the place phase, e.g. to profile it.
	OnPlaceStart, OnPlaceEnd func()
}

// ServerProc is a server process the benchmark measures.
type ServerProc struct {
	PID     int
	DataDir string
}

// Progress is a sample taken during the run.
type Progress struct {
	Elapsed                     time.Duration
	Registered, Placed, Running int
}

// Report is what a benchmark measured.
type Report struct {
	Nodes, Allocs, Jobs int
	// Registered is the time from the start until every node was ready
	// on the servers.
	Registered time.Duration
	// Placed and Running are the times from the first job submission
	// until all allocations were placed and reported running.
	Placed, Running time.Duration
	// PlacementsPerSec is Allocs / Placed.
	PlacementsPerSec float64
	// ServerCPU is the servers' CPU time (user+system) during the run;
	// ServerRSS their resident memory at the end, ServerPeakRSS the peak.
	ServerCPU                time.Duration
	ServerRSS, ServerPeakRSS int64
	// RaftLogBytes and SnapshotBytes are the sizes of the servers' Raft
	// log and snapshots on disk (the first server's) at the end.
	RaftLogBytes, SnapshotBytes int64
	// NodesDown is how many nodes the servers ever listed not ready after
	// registering (sampled every 2 s); NodesLost those not ready at the end.
	NodesDown, NodesLost int
	// LeaderChanges is how many times the leader the first server names
	// changed or went missing after the nodes were ready (sampled every 2 s).
	LeaderChanges int
	// Elapsed is the whole run's time, nodes' start to the end.
	Elapsed time.Duration
	// JobsListP99 is the p99 latency of GET /v1/jobs polled during the run
	// (JobsListN requests).
	JobsListP50, JobsListP99, JobsListMax time.Duration
	JobsListN                             int
	Sim                                   Stats
	// PlaceCPU is the servers' CPU time from the first job submission until
	// every allocation ran (the cost of placing and reporting them, without
	// the nodes' registration); PlaceProto the client protocol's calls in
	// that time.
	PlaceCPU   time.Duration
	PlaceProto client.SessionStats
	// SimPlaceCPU is this process's CPU time (the simulated nodes, the
	// job submission and the monitoring) in the same phase: it shares the
	// host with the servers.
	SimPlaceCPU time.Duration
	// SimHeap is this process's live heap once every allocation ran (after
	// a collection); SimRSS and SimPeakRSS its resident memory then and
	// at its peak.
	SimHeap, SimRSS, SimPeakRSS int64
}

// String formats the report for people.
func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nodes %d, allocations %d in %d jobs\n", r.Nodes, r.Allocs, r.Jobs)
	fmt.Fprintf(&b, "  nodes ready:           %s\n", r.Registered.Round(time.Millisecond))
	fmt.Fprintf(&b, "  all placed:            %s after submission (%.0f placements/s)\n", r.Placed.Round(time.Millisecond), r.PlacementsPerSec)
	fmt.Fprintf(&b, "  all running:           %s after submission\n", r.Running.Round(time.Millisecond))
	fmt.Fprintf(&b, "  server CPU:            %s (%.0f%% of one core over the run; %.2f ms per allocation)\n", r.ServerCPU.Round(time.Millisecond),
		100*r.ServerCPU.Seconds()/max(r.Elapsed, time.Millisecond).Seconds(), float64(r.ServerCPU.Microseconds())/1000/float64(max(r.Allocs, 1)))
	fmt.Fprintf(&b, "  server RSS:            %d MB at the end, %d MB peak (%.1f KB per allocation)\n", r.ServerRSS>>20, r.ServerPeakRSS>>20, float64(r.ServerRSS)/1024/float64(max(r.Allocs, 1)))
	fmt.Fprintf(&b, "  raft log / snapshots:  %d MB / %d MB\n", r.RaftLogBytes>>20, r.SnapshotBytes>>20)
	fmt.Fprintf(&b, "  heartbeats:            %d sent, %d failed; %d registrations; nodes ever down %d, down at the end %d\n",
		r.Sim.Heartbeats, r.Sim.HeartbeatFailures, r.Sim.Registrations, r.NodesDown, r.NodesLost)
	fmt.Fprintf(&b, "  leader changes:        %d\n", r.LeaderChanges)
	fmt.Fprintf(&b, "  allocation watches:    %d returned, %d failed\n", r.Sim.AllocWatches, r.Sim.AllocWatchFailures)
	if r.PlaceCPU > 0 {
		n := float64(max(r.Allocs, 1))
		p := r.PlaceProto
		fmt.Fprintf(&b, "  per allocation:        %.3f server cpu-ms from submission to all running; client round trips %.2f (watch returns %.2f, fetches %.2f, status updates %.2f)\n",
			float64(r.PlaceCPU.Microseconds())/1000/n, float64(p.AllocWatches+p.AllocPulls+p.StatusUpdates)/n,
			float64(p.AllocWatches)/n, float64(p.AllocPulls)/n, float64(p.StatusUpdates)/n)
		fmt.Fprintf(&b, "  simulator:             %.3f cpu-ms per allocation from submission to all running\n", float64(r.SimPlaceCPU.Microseconds())/1000/n)
	}
	if r.SimRSS > 0 {
		n := float64(max(r.Allocs, 1))
		fmt.Fprintf(&b, "  simulator memory:      live heap %d MB (%.1f KB per allocation), RSS %d MB, %d MB peak\n",
			r.SimHeap>>20, float64(r.SimHeap)/1024/n, r.SimRSS>>20, r.SimPeakRSS>>20)
	}
	fmt.Fprintf(&b, "  GET /v1/jobs:          p50 %s, p99 %s, max %s (%d requests)\n", r.JobsListP50.Round(time.Microsecond), r.JobsListP99.Round(time.Microsecond), r.JobsListMax.Round(time.Microsecond), r.JobsListN)
	return b.String()
}

// Bench simulates the nodes, waits until the servers list them all ready,
// submits the jobs and waits until every allocation is placed and
// reported running. It returns an error (with the report so far) when
// that does not happen within the timeout.
func Bench(ctx context.Context, cfg BenchConfig) (*Report, error) {
	if cfg.JobType == "" {
		cfg.JobType = structs.JobTypeService
	}
	if cfg.JobType == structs.JobTypeSystem {
		cfg.Jobs = max(cfg.Jobs, 1)
		cfg.Allocs = cfg.Sim.Nodes * cfg.Jobs
	}
	if cfg.Allocs <= 0 {
		return nil, fmt.Errorf("nodesim bench: Allocs is %d; ask for at least one allocation", cfg.Allocs)
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = max(1, cfg.Allocs/1000)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	sim, err := New(ctx, cfg.Sim)
	if err != nil {
		return nil, err
	}
	apic, err := api.NewClient(api.Config{Address: sim.cfg.Servers[0]})
	if err != nil {
		return nil, err
	}
	rep := &Report{Nodes: cfg.Sim.Nodes, Allocs: cfg.Allocs, Jobs: cfg.Jobs}
	cpu0 := serverCPU(cfg.Servers)

	if cfg.JobsFirst {
		if err := submitJobs(ctx, apic, cfg); err != nil {
			return rep, err
		}
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	var simDone sync.WaitGroup
	simDone.Go(func() { sim.Run(simCtx) })
	defer func() {
		stopSim()
		simDone.Wait()
	}()

	start := time.Now()
	mon := &monitor{api: apic, ids: map[string]bool{}, down: map[string]bool{}}
	if l, err := apic.Leader(ctx); err == nil {
		mon.leader = l
	}
	for _, id := range sim.NodeIDs() {
		mon.ids[id] = true
	}
	if err := waitUntil(ctx, 250*time.Millisecond, func() bool {
		ready, _ := mon.nodes(ctx)
		report(cfg.Progress, start, ready, 0, 0)
		return ready == len(mon.ids)
	}); err != nil {
		ready, _ := mon.nodes(context.Background())
		return rep, fmt.Errorf("%d of %d simulated nodes ready on the servers: %w", ready, len(mon.ids), err)
	}
	rep.Registered = time.Since(start)

	// Submit, while polling GET /v1/jobs for progress and its latency.
	submitted := time.Now()
	if cfg.JobsFirst {
		submitted = start
	}
	monCtx, stopMon := context.WithCancel(ctx)
	var monDone sync.WaitGroup
	monDone.Go(func() { mon.watchNodes(monCtx, 2*time.Second) })
	defer func() {
		stopMon()
		monDone.Wait()
	}()
	if cfg.OnPlaceStart != nil {
		cfg.OnPlaceStart()
	}
	cpuSubmit, protoSubmit, simSubmit := serverCPU(cfg.Servers), sim.Stats().SessionStats, selfCPU()
	if !cfg.JobsFirst {
		if err := submitJobs(ctx, apic, cfg); err != nil {
			return rep, err
		}
	}
	var placed, running int
	err = waitUntil(ctx, 250*time.Millisecond, func() bool {
		p, r, err := mon.jobs(ctx)
		if err != nil {
			return false
		}
		placed, running = p, r
		if placed >= cfg.Allocs && rep.Placed == 0 {
			rep.Placed = time.Since(submitted)
			rep.PlacementsPerSec = float64(cfg.Allocs) / rep.Placed.Seconds()
		}
		report(cfg.Progress, start, len(mon.ids), placed, running)
		return running >= cfg.Allocs
	})
	if err == nil {
		rep.Running = time.Since(submitted)
	}
	simEnd := selfCPU()
	if cfg.OnPlaceEnd != nil {
		cfg.OnPlaceEnd()
	}
	rep.SimHeap = liveHeap()
	rep.SimRSS, rep.SimPeakRSS = serverRSS([]ServerProc{{PID: os.Getpid()}})
	stopMon()
	monDone.Wait()
	rep.Elapsed = time.Since(start)
	rep.LeaderChanges = mon.leaderChanges
	cpuEnd := serverCPU(cfg.Servers)
	rep.ServerCPU = cpuEnd - cpu0
	if err == nil && !cfg.JobsFirst {
		rep.PlaceCPU = cpuEnd - cpuSubmit
		rep.SimPlaceCPU = simEnd - simSubmit
		p := sim.Stats().SessionStats
		rep.PlaceProto = client.SessionStats{AllocWatches: p.AllocWatches - protoSubmit.AllocWatches,
			AllocPulls: p.AllocPulls - protoSubmit.AllocPulls, StatusUpdates: p.StatusUpdates - protoSubmit.StatusUpdates}
	}
	rep.ServerRSS, rep.ServerPeakRSS = serverRSS(cfg.Servers)
	if len(cfg.Servers) > 0 {
		rep.RaftLogBytes, rep.SnapshotBytes = raftSizes(cfg.Servers[0].DataDir)
	}
	_, notReady := mon.nodes(context.Background())
	rep.NodesLost = notReady
	rep.NodesDown = len(mon.down)
	rep.JobsListN = len(mon.latencies)
	rep.JobsListP50, rep.JobsListP99, rep.JobsListMax = percentiles(mon.latencies)
	rep.Sim = sim.Stats()
	if err != nil {
		return rep, fmt.Errorf("%d of %d allocations placed, %d running: %w", placed, cfg.Allocs, running, err)
	}
	return rep, nil
}

func report(f func(Progress), start time.Time, registered, placed, running int) {
	if f != nil {
		f(Progress{Elapsed: time.Since(start), Registered: registered, Placed: placed, Running: running})
	}
}

// benchJob is job i of a benchmark: one group of count small tasks on
// the simulated nodes.
func benchJob(i, count int, typ string) *structs.Job {
	return &structs.Job{
		ID: fmt.Sprintf("bench-%d", i), Name: fmt.Sprintf("bench-%d", i), Type: typ, Datacenters: []string{"*"},
		Constraints: []*structs.Constraint{{LTarget: "${meta." + MetaKey + "}", RTarget: "true", Operand: "="}},
		TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: count,
			Tasks: []*structs.Task{{
				Name: "t", Driver: "raw_exec", Config: map[string]any{"command": "/bin/true"},
				Resources: &structs.Resources{CPU: 10, MemoryMB: 10},
			}},
		}},
	}
}

// submitJobs registers the jobs with 8 concurrent writers.
func submitJobs(ctx context.Context, c *api.Client, cfg BenchConfig) error {
	per, extra := cfg.Allocs/cfg.Jobs, cfg.Allocs%cfg.Jobs
	next := make(chan int)
	errs := make(chan error, cfg.Jobs)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range next {
				count := per
				if i < extra {
					count++
				}
				if cfg.JobType == structs.JobTypeSystem {
					count = 1 // one per node
				}
				if err := registerJob(ctx, c, benchJob(i, count, cfg.JobType)); err != nil {
					errs <- fmt.Errorf("register job bench-%d: %w", i, err)
				}
			}
		})
	}
	for i := range cfg.Jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// registerJob registers job, retrying as an operator's tool would while
// the servers answer that they are busy (429) or have no leader (503, as
// during an election): with a doubling, jittered delay of at least the
// Retry-After, for up to a minute. Registering the same job again is
// harmless (no new version when it did not change).
func registerJob(ctx context.Context, c *api.Client, job *structs.Job) error {
	deadline := time.Now().Add(time.Minute)
	var wait time.Duration
	for {
		_, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: job})
		after, retry := api.RetryAfter(err)
		if err == nil || !retry || time.Now().After(deadline) {
			return err
		}
		wait = max(min(2*wait, 5*time.Second), 250*time.Millisecond, after)
		t := time.NewTimer(wait + rand.N(wait/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// monitor polls the servers during a benchmark.
type monitor struct {
	api *api.Client
	ids map[string]bool // the simulated nodes

	mu        sync.Mutex
	down      map[string]bool // simulated nodes ever seen not ready
	latencies []time.Duration
	// leader is the last leader seen, leaderChanges how often it changed.
	leader        string
	leaderChanges int
}

// nodes counts the simulated nodes ready and registered but not ready.
func (m *monitor) nodes(ctx context.Context) (ready, notReady int) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	list, _, err := m.api.ListNodes(cctx, nil)
	if err != nil {
		return 0, 0
	}
	for _, n := range list {
		if !m.ids[n.ID] {
			continue
		}
		if n.Status == structs.NodeStatusReady {
			ready++
		} else {
			notReady++
		}
	}
	return ready, notReady
}

// watchNodes records leader changes, polling every interval, and the
// simulated nodes seen not ready, through a blocking query of the node
// list: it returns when a node's status (or any node row) changes, or after
// nodeWatchWait, as an operator's watch would, instead of listing every
// node each interval (10,000 nodes listed every 2 s were a few percent of
// the server's work and garbage at the scale the benchmark measures).
func (m *monitor) watchNodes(ctx context.Context, interval time.Duration) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { m.watchNodeStatus(ctx) })
	for {
		lctx, cancel := context.WithTimeout(ctx, interval)
		leader, err := m.api.Leader(lctx)
		cancel()
		m.mu.Lock()
		// A server too busy to answer says nothing; one without a leader
		// ("") ends the current leader's term: that counts as a change.
		if err == nil {
			if m.leader != "" && leader != m.leader {
				m.leaderChanges++
			}
			m.leader = leader
		}
		m.mu.Unlock()
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// nodeWatchWait bounds each blocking query of watchNodeStatus.
const nodeWatchWait = 30 * time.Second

// watchNodeStatus records the simulated nodes seen not ready until ctx ends.
func (m *monitor) watchNodeStatus(ctx context.Context) {
	var index uint64
	for ctx.Err() == nil {
		list, meta, err := m.api.ListNodes(ctx, &api.QueryOptions{WaitIndex: index, WaitTime: nodeWatchWait})
		if err != nil {
			// A busy or restarting server: ask again shortly, from scratch.
			index = 0
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			continue
		}
		if meta != nil {
			index = meta.LastIndex
		}
		m.mu.Lock()
		for _, n := range list {
			if m.ids[n.ID] && n.Status != structs.NodeStatusReady {
				m.down[n.ID] = true
			}
		}
		m.mu.Unlock()
	}
}

// jobs lists the jobs (timing the request) and sums their allocations
// placed (any client status) and running (complete counts for batch).
func (m *monitor) jobs(ctx context.Context) (placed, running int, err error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	t0 := time.Now()
	list, _, err := m.api.ListJobs(cctx, nil)
	if err != nil {
		return 0, 0, err
	}
	m.mu.Lock()
	m.latencies = append(m.latencies, time.Since(t0))
	m.mu.Unlock()
	for _, j := range list {
		if j.JobSummary == nil || !strings.HasPrefix(j.ID, "bench-") {
			continue
		}
		for _, s := range j.JobSummary.Summary {
			placed += s.Starting + s.Running + s.Complete + s.Failed + s.Lost + s.Unknown
			running += s.Running
			if j.Type == structs.JobTypeBatch {
				running += s.Complete
			}
		}
	}
	return placed, running, nil
}

func percentiles(d []time.Duration) (p50, p99, maxd time.Duration) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2], s[min(len(s)-1, len(s)*99/100)], s[len(s)-1]
}

// waitUntil calls cond every interval until it is true or ctx ends.
func waitUntil(ctx context.Context, interval time.Duration, cond func() bool) error {
	for {
		if cond() {
			return nil
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// serverCPU is the processes' user+system CPU time (/proc/<pid>/stat).
func serverCPU(procs []ServerProc) time.Duration {
	var total time.Duration
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces): state is
		// field 3; utime and stime are 14 and 15, in clock ticks (100/s).
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	}
	return total
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// liveHeap is this process's live heap: the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// serverRSS sums the processes' VmRSS and VmHWM (/proc/<pid>/status).
func serverRSS(procs []ServerProc) (rss, peak int64) {
	for _, p := range procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID))
		if err != nil {
			continue
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			kb, _ := strconv.ParseInt(f[0], 10, 64)
			switch k {
			case "VmRSS":
				rss += kb << 10
			case "VmHWM":
				peak += kb << 10
			}
		}
	}
	return rss, peak
}

// raftSizes sums the files of a server's Raft log and of its snapshots
// (data_dir/server/raft, snapshots/ apart).
func raftSizes(dataDir string) (logBytes, snapBytes int64) {
	root := filepath.Join(dataDir, "server", "raft")
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if strings.Contains(path, string(filepath.Separator)+"snapshots"+string(filepath.Separator)) {
			snapBytes += info.Size()
		} else {
			logBytes += info.Size()
		}
		return nil
	})
	return logBytes, snapBytes
}
