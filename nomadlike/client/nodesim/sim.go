// Package nodesim runs many simulated client nodes in one process against
// real servers, for scale benchmarks (make bench-scale) and tests. Each
// simulated node is a client.Session — the real client's protocol code:
// registration with fingerprinted attributes, heartbeats at the TTL the
// server hands out, the blocking allocation watch and batched status
// updates — with the alloc runners and drivers replaced by a timer: each
// allocation is reported running after Config.RunAfter (or failed, for a
// fraction of them), batch allocations complete after Config.BatchRunFor,
// and allocations the servers stop are reported complete.
package nodesim

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"weak"

	"github.com/nomadlike/nomadlike/nomadlike/client"
	"github.com/nomadlike/nomadlike/nomadlike/client/fingerprint"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// MetaKey is set to "true" in every simulated node's meta, so a benchmark's
// jobs can be constrained to simulated nodes.
const MetaKey = "nodesim"

// Config configures a simulation.
type Config struct {
	// Servers are the servers' HTTP addresses (host:port or URLs).
	Servers []string
	// Nodes is how many nodes to simulate.
	Nodes int
	// NamePrefix names the nodes <prefix>-<n> ("sim" by default).
	NamePrefix string
	// Datacenters, Classes: node i is in Datacenters[i%len] with class
	// Classes[i%len] (defaults: dc1, no class).
	Datacenters, Classes []string
	// Racks, when positive, sets meta.rack = rack-<i%Racks>.
	Racks int
	// NodePool is every node's pool ("default" by default).
	NodePool string
	// CPU (MHz), MemoryMB and DiskMB are each node's resources
	// (defaults 64000, 262144, 1048576: room for many small allocations).
	CPU, MemoryMB, DiskMB int64
	// Drivers are reported detected and healthy (default raw_exec).
	Drivers []string
	// RunAfter is how long after an allocation arrives it is reported
	// running (default 1 s).
	RunAfter time.Duration
	// FailFraction of the allocations (chosen by a hash of their ID) are
	// reported failed instead of running.
	FailFraction float64
	// BatchRunFor is how long a batch or sysbatch allocation runs before it
	// is reported complete (default 2 s).
	BatchRunFor time.Duration
	// StartRate is how many nodes start per second (default 1000), so
	// registrations do not arrive all at once.
	StartRate int
	// Logger receives the sessions' logs (default: warnings and errors to stderr).
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.NamePrefix == "" {
		c.NamePrefix = "sim"
	}
	if len(c.Datacenters) == 0 {
		c.Datacenters = []string{"dc1"}
	}
	if c.NodePool == "" {
		c.NodePool = "default"
	}
	if c.CPU == 0 {
		c.CPU = 64000
	}
	if c.MemoryMB == 0 {
		c.MemoryMB = 262144
	}
	if c.DiskMB == 0 {
		c.DiskMB = 1048576
	}
	if len(c.Drivers) == 0 {
		c.Drivers = []string{"raw_exec"}
	}
	if c.RunAfter == 0 {
		c.RunAfter = time.Second
	}
	if c.BatchRunFor == 0 {
		c.BatchRunFor = 2 * time.Second
	}
	if c.StartRate <= 0 {
		c.StartRate = 1000
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
}

// Sim is a set of simulated nodes.
type Sim struct {
	cfg   Config
	nodes []*node

	jobsMu sync.Mutex
	// jobs are the trimmed job versions the nodes share, by
	// structs.JobVersionKey; an entry goes when no node holds its job.
	jobs map[string]weak.Pointer[structs.Job]

	running, failed, complete atomic.Int64
}

// Stats is what the simulated nodes did so far.
type Stats struct {
	client.SessionStats
	// Nodes is how many nodes registered at least once.
	Nodes int
	// Running, Failed and Complete count the status reports sent.
	Running, Failed, Complete int64
}

// New builds the nodes: it fingerprints this host once (the real
// fingerprinters) and gives every node those attributes with its own
// name, datacenter, class, meta and resources.
func New(ctx context.Context, cfg Config) (*Sim, error) {
	cfg.setDefaults()
	if cfg.Nodes <= 0 {
		return nil, fmt.Errorf("nodesim: Nodes is %d; simulate at least one node", cfg.Nodes)
	}
	if cfg.FailFraction < 0 || cfg.FailFraction > 1 {
		return nil, fmt.Errorf("nodesim: FailFraction %g is not between 0 and 1", cfg.FailFraction)
	}
	fp, err := fingerprint.Run(ctx, fingerprint.Input{Root: "/", DataDir: os.TempDir(), Version: client.Version})
	if err != nil {
		cfg.Logger.Warn("some fingerprints failed; simulated nodes register without them", "error", err)
	}
	loopback := allLoopback(cfg.Servers)
	s := &Sim{cfg: cfg, jobs: map[string]weak.Pointer[structs.Job]{}}
	for i := range cfg.Nodes {
		n := &node{sim: s, allocs: map[string]*simAlloc{}}
		sess, err := client.NewSession(client.SessionConfig{
			Node: s.buildNode(i, fp), Servers: cfg.Servers, HTTPClient: httpClient(i, loopback),
			Logger: cfg.Logger, OnAllocChanges: n.onAllocChanges, KeepJob: s.keepJob,
		})
		if err != nil {
			return nil, err
		}
		n.sess = sess
		s.nodes = append(s.nodes, n)
	}
	return s, nil
}

// keepJob is the sessions' KeepJob: one trimmed copy of each job version
// (its identity, type, and its groups' and tasks' names: what the
// simulation uses), shared by every node that runs it, instead of a full
// copy per node (about 100 per node at 100 allocations per node, most of
// the simulator's memory).
func (s *Sim) keepJob(key string, decode func() (*structs.Job, error)) (*structs.Job, error) {
	s.jobsMu.Lock()
	defer s.jobsMu.Unlock()
	if j := s.jobs[key].Value(); j != nil {
		return j, nil // the reply's copy is never decoded
	}
	job, err := decode()
	if err != nil || job == nil {
		return job, err
	}
	j := &structs.Job{ID: job.ID, Namespace: job.Namespace, Name: job.Name, Type: job.Type,
		Version: job.Version, JobModifyIndex: job.JobModifyIndex}
	for _, tg := range job.TaskGroups {
		g := &structs.TaskGroup{Name: tg.Name}
		for _, t := range tg.Tasks {
			g.Tasks = append(g.Tasks, &structs.Task{Name: t.Name})
		}
		j.TaskGroups = append(j.TaskGroups, g)
	}
	wp := weak.Make(j)
	s.jobs[key] = wp
	runtime.AddCleanup(j, func(key string) {
		s.jobsMu.Lock()
		defer s.jobsMu.Unlock()
		if s.jobs[key] == wp {
			delete(s.jobs, key)
		}
	}, key)
	return j, nil
}

// allLoopback reports whether every server address is on loopback.
func allLoopback(servers []string) bool {
	for _, a := range servers {
		u, err := url.Parse(a)
		if err != nil || u.Host == "" {
			u = &url.URL{Host: a}
		}
		ip := net.ParseIP(u.Hostname())
		if ip == nil || !ip.IsLoopback() || ip.To4() == nil {
			return false
		}
	}
	return true
}

// httpClient is node i's HTTP client. Against servers on loopback each
// node dials from its own address (127.<i>), as real nodes come from their
// own IPs: the servers' per-address limits (http_max_long_polls_per_client)
// then apply per node, not to the whole simulation. A node keeps at most two
// idle connections: its watch's and one for its short calls (heartbeats,
// status updates). A third, dialled when two short calls overlap the watch,
// is closed once they are done instead of kept for the next overlap: each
// connection costs the server ~8 KB of buffers for as long as it is open
// (with four allowed, nodes held ~2.8 each at 2,000 nodes).
func httpClient(i int, loopback bool) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if loopback {
		n := i + 2 // 127.0.0.2 onwards, 127.0.0.1 stays the operator's
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, byte(n>>16), byte(n>>8), byte(n))}
	}
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext, MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second}}
}

// buildNode is simulated node i.
func (s *Sim) buildNode(i int, fp *fingerprint.Result) *structs.Node {
	c := s.cfg
	id, secret := structs.GenerateUUID(), structs.GenerateUUID()
	name := fmt.Sprintf("%s-%d", c.NamePrefix, i)
	attrs := maps.Clone(fp.Attributes)
	attrs["unique.hostname"] = name
	drivers := map[string]*structs.DriverInfo{}
	for _, d := range c.Drivers {
		attrs["driver."+d] = "1"
		drivers[d] = &structs.DriverInfo{Detected: true, Healthy: true, HealthDescription: "simulated", Attributes: map[string]string{"driver." + d: "1"}}
	}
	meta := map[string]string{MetaKey: "true"}
	if c.Racks > 0 {
		meta["rack"] = fmt.Sprintf("rack-%d", i%c.Racks)
	}
	res := fp.Resources
	res.Networks = nil
	for _, nw := range fp.Resources.Networks {
		res.Networks = append(res.Networks, nw.Copy())
	}
	res.Cpu = structs.NodeCpuResources{CpuShares: c.CPU, TotalCpuCores: uint16(max(1, c.CPU/2000))}
	res.Memory.MemoryMB, res.Disk.DiskMB = c.MemoryMB, c.DiskMB
	class := ""
	if len(c.Classes) > 0 {
		class = c.Classes[i%len(c.Classes)]
	}
	return &structs.Node{
		ID: id, SecretID: secret, Name: name, Datacenter: c.Datacenters[i%len(c.Datacenters)],
		NodeClass: class, NodePool: c.NodePool, HTTPAddr: "127.0.0.1:0",
		Attributes: attrs, Meta: meta, Drivers: drivers, NodeResources: &res,
		ReservedResources:     &structs.NodeReservedResources{},
		SchedulingEligibility: structs.NodeSchedulingEligible, Status: structs.NodeStatusInit,
	}
}

// Run starts the nodes at StartRate per second and runs them until ctx
// ends; it returns when every session has stopped.
func (s *Sim) Run(ctx context.Context) {
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(s.cfg.StartRate))
	defer tick.Stop()
	for _, n := range s.nodes {
		wg.Go(func() { n.sess.Run(ctx) })
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	wg.Wait()
	for _, n := range s.nodes {
		n.stopTimers()
	}
}

// NodeIDs returns the simulated nodes' IDs.
func (s *Sim) NodeIDs() []string {
	out := make([]string, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = n.sess.NodeID()
	}
	return out
}

// Stats sums the nodes' counters.
func (s *Sim) Stats() Stats {
	st := Stats{Running: s.running.Load(), Failed: s.failed.Load(), Complete: s.complete.Load()}
	for _, n := range s.nodes {
		ns := n.sess.Stats()
		if ns.Registrations > 0 {
			st.Nodes++
		}
		st.Registrations += ns.Registrations
		st.Heartbeats += ns.Heartbeats
		st.HeartbeatFailures += ns.HeartbeatFailures
		st.AllocWatches += ns.AllocWatches
		st.AllocWatchFailures += ns.AllocWatchFailures
		st.AllocPulls += ns.AllocPulls
		st.StatusUpdates += ns.StatusUpdates
	}
	return st
}

// node is one simulated node: a session and its allocations' simulated state.
type node struct {
	sim  *Sim
	sess *client.Session

	mu     sync.Mutex
	allocs map[string]*simAlloc
}

// simAlloc is what a simulated node keeps of one allocation: no more
// than the simulation needs (the session keeps only its AllocModifyIndex
// and job version).
type simAlloc struct {
	modifyIndex uint64
	status      string // the client status last reported
	// group is the allocation's task group in the shared trimmed job
	// (Sim.keepJob): the tasks it reports states for.
	group *structs.TaskGroup
	batch bool
	timer *time.Timer
}

// onAllocChanges applies what changed in the node's allocations, as the
// real client's reconcile does, with timers instead of alloc runners.
func (n *node) onAllocChanges(_ context.Context, changed []*structs.Allocation, gone []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var started []string
	for _, a := range changed {
		st, ok := n.allocs[a.ID]
		switch {
		case !ok:
			if a.TerminalStatus() {
				continue
			}
			st = &simAlloc{modifyIndex: a.AllocModifyIndex, status: structs.AllocClientStatusPending}
			if a.Job != nil {
				st.batch = a.Job.Type == structs.JobTypeBatch || a.Job.Type == structs.JobTypeSysBatch
				st.group = a.Job.LookupTaskGroup(a.TaskGroup)
			}
			n.allocs[a.ID] = st
			started = append(started, a.ID)
		case a.AllocModifyIndex != st.modifyIndex:
			st.modifyIndex = a.AllocModifyIndex
			if a.DesiredStatus != structs.AllocDesiredStatusRun && !terminal(st.status) {
				if st.timer != nil {
					st.timer.Stop()
				}
				n.reportLocked(a.ID, st, structs.AllocClientStatusComplete)
			}
		}
	}
	for _, id := range gone {
		if st, ok := n.allocs[id]; ok {
			if st.timer != nil {
				st.timer.Stop()
			}
			delete(n.allocs, id)
		}
	}
	if len(started) > 0 {
		// One timer per batch of new allocations, not one per allocation.
		time.AfterFunc(n.sim.cfg.RunAfter, func() { n.start(started) })
	}
}

// start reports the allocations running (or failed) and arms the batch
// allocations' completion.
func (n *node) start(ids []string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var batch []string
	for _, id := range ids {
		st, ok := n.allocs[id]
		if !ok || st.status != structs.AllocClientStatusPending {
			continue // removed or stopped meanwhile
		}
		if n.sim.fails(id) {
			n.reportLocked(id, st, structs.AllocClientStatusFailed)
			continue
		}
		n.reportLocked(id, st, structs.AllocClientStatusRunning)
		if st.batch {
			batch = append(batch, id)
		}
	}
	if len(batch) == 0 {
		return
	}
	t := time.AfterFunc(n.sim.cfg.BatchRunFor, func() {
		n.mu.Lock()
		defer n.mu.Unlock()
		for _, id := range batch {
			if st, ok := n.allocs[id]; ok && st.status == structs.AllocClientStatusRunning {
				n.reportLocked(id, st, structs.AllocClientStatusComplete)
			}
		}
	})
	for _, id := range batch {
		n.allocs[id].timer = t
	}
}

// fails reports whether the allocation is one of the FailFraction that fail.
func (s *Sim) fails(allocID string) bool {
	if s.cfg.FailFraction <= 0 {
		return false
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(allocID))
	return float64(h.Sum32())/float64(1<<32) < s.cfg.FailFraction
}

func terminal(status string) bool {
	return status == structs.AllocClientStatusComplete || status == structs.AllocClientStatusFailed
}

// reportLocked records the status and queues its report, with a task
// state per task as a real client sends.
func (n *node) reportLocked(id string, st *simAlloc, status string) {
	st.status = status
	now := time.Now()
	var tasks []*structs.Task
	if st.group != nil {
		tasks = st.group.Tasks
	}
	states := make(map[string]*structs.TaskState, len(tasks))
	for _, task := range tasks {
		t := task.Name
		ts := &structs.TaskState{State: structs.TaskStateRunning, StartedAt: now}
		switch status {
		case structs.AllocClientStatusRunning:
			ts.Events = []*structs.TaskEvent{structs.NewTaskEvent(structs.TaskStarted, now, "simulated")}
		case structs.AllocClientStatusFailed:
			ts.State, ts.Failed, ts.FinishedAt = structs.TaskStateDead, true, now
			ts.Events = []*structs.TaskEvent{structs.NewTaskEvent(structs.TaskTerminated, now, "simulated failure")}
		default:
			ts.State, ts.FinishedAt = structs.TaskStateDead, now
			ts.Events = []*structs.TaskEvent{structs.NewTaskEvent(structs.TaskTerminated, now, "simulated exit")}
		}
		states[t] = ts
	}
	switch status {
	case structs.AllocClientStatusRunning:
		n.sim.running.Add(1)
	case structs.AllocClientStatusFailed:
		n.sim.failed.Add(1)
	default:
		n.sim.complete.Add(1)
	}
	n.sess.Enqueue(&structs.Allocation{ID: id, ClientStatus: status, TaskStates: states})
}

func (n *node) stopTimers() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, st := range n.allocs {
		if st.timer != nil {
			st.timer.Stop()
		}
	}
}
