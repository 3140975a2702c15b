package scheduler_test

import (
	"math/rand"
	"strconv"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestNoOvercommit runs random sequences of job registrations, scalings,
// updates, stops, failures and node losses, and checks after every
// evaluation that no node holds more than it has and no name runs twice.
func TestNoOvercommit(t *testing.T) {
	for seed := int64(1); seed <= 20; seed++ {
		t.Run("seed="+strconv.FormatInt(seed, 10), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			h := schedtest.NewHarness()
			h.Rng = rand.New(rand.NewSource(seed))
			nodes := h.Nodes(2+r.Intn(6), func(_ int, n *structs.Node) {
				n.NodeResources.Cpu.CpuShares = int64(1000 + r.Intn(3000))
				n.NodeResources.Memory.MemoryMB = int64(1024 + r.Intn(4096))
				n.NodeResources.MinDynamicPort, n.NodeResources.MaxDynamicPort = 20000, 20005
			})
			var jobs []*structs.Job
			for step := range 40 {
				var job *structs.Job
				switch op := r.Intn(6); {
				case op == 0 || len(jobs) == 0: // new job
					job = schedtest.Job()
					if r.Intn(3) == 0 {
						job = schedtest.BatchJob()
					}
					tg := job.TaskGroups[0]
					tg.Count = 1 + r.Intn(8)
					tg.Tasks[0].Resources = &structs.Resources{CPU: 100 + r.Intn(900), MemoryMB: 64 + r.Intn(1024)}
					if r.Intn(2) == 0 {
						tg.Networks = []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}}
					}
					jobs = append(jobs, job)
				case op == 1: // scale
					job = jobs[r.Intn(len(jobs))].Copy()
					job.TaskGroups[0].Count = r.Intn(10)
				case op == 2: // destructive update
					job = jobs[r.Intn(len(jobs))].Copy()
					job.TaskGroups[0].Tasks[0].Resources.CPU = 100 + r.Intn(900)
				case op == 3: // stop
					job = jobs[r.Intn(len(jobs))].Copy()
					job.Stop = true
				case op == 4: // fail an allocation
					job = jobs[r.Intn(len(jobs))]
					if l := live(h, job.ID); len(l) > 0 {
						setClientStatus(h, l[r.Intn(len(l))], structs.AllocClientStatusFailed)
					}
				case op == 5: // lose or return a node
					n := nodes[r.Intn(len(nodes))].Copy()
					if n.Status == structs.NodeStatusReady {
						n.Status = structs.NodeStatusDown
					} else {
						n.Status = structs.NodeStatusReady
					}
					h.State.UpsertNode(n)
					job = jobs[r.Intn(len(jobs))]
				}
				if cur, _ := h.State.JobByID(nil, job.Namespace, job.ID); cur != job {
					h.State.UpsertJob(job)
				}
				for i, j := range jobs {
					if j.ID == job.ID {
						jobs[i] = job
					}
				}
				process(t, h, job, structs.EvalTriggerJobRegister)
				checkNoOvercommit(t, h, step)
			}
		})
	}
}

func checkNoOvercommit(t *testing.T, h *schedtest.Harness, step int) {
	t.Helper()
	nodes, _ := h.State.Nodes(nil)
	for _, n := range nodes {
		allocs, _ := h.State.AllocsByNode(nil, n.ID)
		if ok, dim, used := structs.AllocsFit(n, allocs); !ok {
			t.Fatalf("step %d: node %s over-committed on %s: uses %+v of %+v", step, n.Name, dim, used, n.Comparable())
		}
	}
	names := map[string]string{}
	for _, a := range h.State.Allocs() {
		if a.TerminalStatus() {
			continue
		}
		key := a.Name
		if a.Job != nil && a.Job.SystemType() {
			key += " on " + a.NodeID // one per node
		}
		if other, dup := names[key]; dup {
			t.Fatalf("step %d: %s runs twice (allocs %s and %s)", step, key, other, a.ID)
		}
		names[key] = a.ID
	}
}

// TestNoOvercommitInterleaved runs several schedulers that planned against
// the same stale snapshot, as concurrent server workers do. The harness
// refuses every node a plan would over-commit (as the plan applier does), so
// schedulers must re-plan against fresh state; after every evaluation no
// node may hold more than it has. Jobs mix types, priorities (with
// preemption on), cores, ports, distinct_hosts and spreads.
func TestNoOvercommitInterleaved(t *testing.T) {
	refused, preempted := 0, 0
	defer func() {
		if refused == 0 || preempted == 0 {
			t.Errorf("got %d refused plans and %d preemptions over all seeds, want some of each: the test no longer exercises re-planning or preemption", refused, preempted)
		}
	}()
	for seed := int64(1); seed <= 15; seed++ {
		t.Run("seed="+strconv.FormatInt(seed, 10), func(t *testing.T) {
			r := rand.New(rand.NewSource(seed))
			h := schedtest.NewHarness()
			h.Rng = rand.New(rand.NewSource(seed))
			h.CheckFit = true
			h.State.SetSchedulerConfig(&structs.SchedulerConfig{PreemptionConfig: structs.PreemptionConfig{
				ServiceSchedulerEnabled: true, BatchSchedulerEnabled: true, SystemSchedulerEnabled: true}})
			h.Nodes(3+r.Intn(5), func(i int, n *structs.Node) {
				n.NodeResources.Cpu.CpuShares = int64(2000 + r.Intn(3000))
				n.NodeResources.Memory.MemoryMB = int64(1024 + r.Intn(4096))
				n.NodeResources.MinDynamicPort, n.NodeResources.MaxDynamicPort = 20000, 20003
				n.Meta["rack"] = "r" + strconv.Itoa(i%3)
			})
			for round := range 12 {
				var evals []*structs.Evaluation
				for range 2 + r.Intn(3) {
					job := schedtest.Job()
					switch r.Intn(4) {
					case 0:
						job = schedtest.BatchJob()
					case 1:
						job.Type = structs.JobTypeSystem
						job.TaskGroups[0].ReschedulePolicy = nil
					}
					job.Priority = 10 + r.Intn(90)
					tg := job.TaskGroups[0]
					tg.Count = 1 + r.Intn(6)
					if job.Type == structs.JobTypeSystem {
						tg.Count = 1
					}
					res := &structs.Resources{CPU: 100 + r.Intn(1200), MemoryMB: 64 + r.Intn(1500)}
					if r.Intn(4) == 0 {
						res = &structs.Resources{Cores: 1, MemoryMB: 64 + r.Intn(500)}
					}
					tg.Tasks[0].Resources = res
					if r.Intn(3) == 0 {
						tg.Networks = []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}}
					}
					if job.Type == structs.JobTypeService && r.Intn(3) == 0 {
						tg.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 50}}
					}
					if job.Type == structs.JobTypeService && r.Intn(4) == 0 {
						job.Constraints = []*structs.Constraint{{Operand: "distinct_hosts"}}
					}
					if err := job.Validate(); err != nil {
						t.Fatalf("round %d: job does not validate: %v", round, err)
					}
					h.State.UpsertJob(job)
					evals = append(evals, schedtest.Eval(job))
				}
				// Every scheduler snapshots state before any of them runs.
				var pending []interface {
					Process(*structs.Evaluation) error
				}
				for _, ev := range evals {
					s, err := h.Scheduler(ev.Type)
					if err != nil {
						t.Fatal(err)
					}
					pending = append(pending, s)
				}
				for i, s := range pending {
					if err := s.Process(evals[i]); err != nil {
						t.Fatalf("round %d: process: %v", round, err)
					}
					checkNoOvercommit(t, h, round)
				}
			}
			for _, res := range h.Results {
				if res.RefreshIndex != 0 {
					refused++
				}
				preempted += len(res.NodePreemptions)
			}
		})
	}
}
