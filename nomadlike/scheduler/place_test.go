package scheduler_test

import (
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestPlaceCount(t *testing.T) {
	for _, tc := range []struct {
		name  string
		typ   string
		count int
		nodes int
	}{
		{"service one", structs.JobTypeService, 1, 1},
		{"service ten on three", structs.JobTypeService, 10, 3},
		{"service fifty on twenty", structs.JobTypeService, 50, 20},
		{"batch ten on five", structs.JobTypeBatch, 10, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(tc.nodes, nil)
			job := schedtest.Job()
			if tc.typ == structs.JobTypeBatch {
				job = schedtest.BatchJob()
			}
			job.TaskGroups[0].Count = tc.count
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 128}
			eval := register(t, h, job)

			if got := len(h.Plans); got != 1 {
				t.Fatalf("got %d plans, want 1", got)
			}
			allocs := planned(h.LastPlan())
			if got := len(allocs); got != tc.count {
				t.Fatalf("got %d placements, want %d", got, tc.count)
			}
			gotNames := names(allocs)
			slices.Sort(gotNames)
			var want []string
			for i := range tc.count {
				want = append(want, job.ID+".web["+strconv.Itoa(i)+"]")
			}
			slices.Sort(want)
			if d := cmp.Diff(want, gotNames); d != "" {
				t.Errorf("names (-want +got):\n%s", d)
			}
			for _, a := range allocs {
				if a.EvalID != eval.ID || a.JobID != job.ID || a.Job != job || a.DesiredStatus != structs.AllocDesiredStatusRun ||
					a.ClientStatus != structs.AllocClientStatusPending || a.NodeName == "" || a.Metrics == nil || a.CreateTime != h.Now.UnixNano() {
					t.Errorf("alloc %s: incomplete: %+v", a.Name, a)
				}
				tr := a.AllocatedResources.Tasks["web"]
				if tr == nil || tr.Cpu.CpuShares != 100 || tr.Memory.MemoryMB != 128 || a.AllocatedResources.Shared.DiskMB != 150 {
					t.Errorf("alloc %s: got resources %+v, want 100 MHz 128 MB 150 MB disk", a.Name, a.AllocatedResources)
				}
			}
			ev := h.LastEval()
			if ev.Status != structs.EvalStatusComplete || ev.BlockedEval != "" || len(ev.FailedTGAllocs) != 0 {
				t.Errorf("got eval status %q blocked %q failed %v, want complete with no failures", ev.Status, ev.BlockedEval, ev.FailedTGAllocs)
			}
			if d := cmp.Diff(map[string]int{"web": 0}, ev.QueuedAllocations); d != "" {
				t.Errorf("queued (-want +got):\n%s", d)
			}
			if got := h.LastPlan().Annotations.DesiredTGUpdates["web"].Place; got != uint64(tc.count) {
				t.Errorf("got DesiredTGUpdates Place %d, want %d", got, tc.count)
			}
			// A second evaluation changes nothing.
			process(t, h, job, structs.EvalTriggerNodeUpdate)
			if got := len(h.Plans); got != 1 {
				t.Errorf("got %d plans after a no-op eval, want 1", got)
			}
		})
	}
}

func TestBinPackPrefersFullerNode(t *testing.T) {
	h := schedtest.NewHarness()
	nodes := h.Nodes(2, nil)
	// Fill node 0 to 75% with another job's allocation.
	other := schedtest.Job()
	h.State.UpsertJob(other)
	h.State.UpsertAllocs(&structs.Allocation{
		ID: structs.GenerateUUID(), Namespace: other.Namespace, Name: other.ID + ".web[0]", JobID: other.ID, Job: other,
		TaskGroup: "web", NodeID: nodes[0].ID, DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
			"web": {Cpu: structs.AllocatedCpuResources{CpuShares: 3000}, Memory: structs.AllocatedMemoryResources{MemoryMB: 6144}},
		}},
	})
	job := schedtest.Job()
	job.TaskGroups[0].Count = 1
	register(t, h, job)
	allocs := planned(h.LastPlan())
	if len(allocs) != 1 {
		t.Fatalf("got %d placements, want 1", len(allocs))
	}
	if got, want := allocs[0].NodeID, nodes[0].ID; got != want {
		t.Errorf("got node %s, want the fuller node %s", got, want)
	}
	meta := allocs[0].Metrics.ScoreMetaData
	if len(meta) != 2 || meta[0].NodeID != nodes[0].ID || meta[0].NormScore <= meta[1].NormScore {
		t.Errorf("got score metadata %+v, want the fuller node first with the higher score", meta)
	}
}

func TestFeasibilityFilters(t *testing.T) {
	for _, tc := range []struct {
		name       string
		edit       func(i int, n *structs.Node) // nodes 0..3
		job        func(j *structs.Job)
		wantNodes  []int          // nodes that may receive the placement
		wantFilter map[string]int // ConstraintFiltered when nothing is feasible
	}{
		{
			name: "equal attr",
			edit: func(i int, n *structs.Node) {
				n.Attributes["kernel.name"] = []string{"linux", "darwin", "linux", "windows"}[i]
			},
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "linux", Operand: "="}}
			},
			wantNodes: []int{0, 2},
		},
		{
			name: "not equal meta",
			edit: func(i int, n *structs.Node) { n.Meta["rack"] = []string{"r1", "r2", "r1", "r1"}[i] },
			job: func(j *structs.Job) {
				j.TaskGroups[0].Constraints = []*structs.Constraint{{LTarget: "${meta.rack}", RTarget: "r1", Operand: "!="}}
			},
			wantNodes: []int{1},
		},
		{
			name: "numeric greater",
			edit: func(i int, n *structs.Node) { n.Attributes["cpu.numcores"] = []string{"2", "16", "8", "4"}[i] },
			job: func(j *structs.Job) {
				j.TaskGroups[0].Tasks[0].Constraints = []*structs.Constraint{{LTarget: "${attr.cpu.numcores}", RTarget: "4", Operand: ">"}}
			},
			wantNodes: []int{1, 2},
		},
		{
			name: "numeric less or equal",
			edit: func(i int, n *structs.Node) { n.Attributes["cpu.numcores"] = []string{"2", "16", "8", "4"}[i] },
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${attr.cpu.numcores}", RTarget: "4", Operand: "<="}}
			},
			wantNodes: []int{0, 3},
		},
		{
			name: "lexical less",
			edit: func(i int, n *structs.Node) { n.NodeClass = []string{"alpha", "beta", "gamma", "delta"}[i] },
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${node.class}", RTarget: "c", Operand: "<"}}
			},
			wantNodes: []int{0, 1},
		},
		{
			name: "greater or equal",
			edit: func(i int, n *structs.Node) { n.Meta["gen"] = []string{"1", "2", "3", "10"}[i] },
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${meta.gen}", RTarget: "3", Operand: ">="}}
			},
			wantNodes: []int{2, 3},
		},
		{
			name: "regexp",
			edit: func(i int, n *structs.Node) { n.Name = []string{"web-1", "db-1", "web-2", "cache"}[i] },
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${node.unique.name}", RTarget: "^web-", Operand: "regexp"}}
			},
			wantNodes: []int{0, 2},
		},
		{
			name: "version",
			edit: func(i int, n *structs.Node) {
				n.Attributes["nomad.version"] = []string{"1.5.0", "1.7.2", "1.8.0-beta.1", "bad"}[i]
			},
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${attr.nomad.version}", RTarget: ">= 1.6, < 2.0", Operand: "version"}}
			},
			wantNodes: []int{1, 2},
		},
		{
			name: "semver",
			edit: func(i int, n *structs.Node) {
				n.Attributes["nomad.version"] = []string{"1.5.0", "1.7.2", "1.8", "v2.0.0"}[i]
			},
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${attr.nomad.version}", RTarget: ">= 1.6.0", Operand: "semver"}}
			},
			wantNodes: []int{1, 2, 3},
		},
		{
			name: "is_set",
			edit: func(i int, n *structs.Node) {
				if i == 3 {
					n.Meta["ssd"] = "true"
				}
			},
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${meta.ssd}", Operand: "is_set"}}
			},
			wantNodes: []int{3},
		},
		{
			name: "is_not_set",
			edit: func(i int, n *structs.Node) {
				if i == 3 {
					n.Meta["ssd"] = "true"
				}
			},
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${meta.ssd}", Operand: "is_not_set"}}
			},
			wantNodes: []int{0, 1, 2},
		},
		{
			name: "node id",
			edit: func(i int, n *structs.Node) { n.ID = []string{"a-1", "b-2", "c-3", "d-4"}[i] },
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${node.unique.id}", RTarget: "c-3", Operand: "="}}
			},
			wantNodes: []int{2},
		},
		{
			name:      "missing driver",
			edit:      func(i int, n *structs.Node) { n.Drivers["raw_exec"].Healthy = i != 1 },
			job:       func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Driver = "raw_exec" },
			wantNodes: []int{0, 2, 3},
		},
		{
			name:       "no node has the driver",
			job:        func(j *structs.Job) { j.TaskGroups[0].Tasks[0].Driver = "qemu" },
			wantFilter: map[string]int{"missing drivers: qemu": 4},
		},
		{
			name: "bridge network on nodes with the CNI plugins",
			edit: func(i int, n *structs.Node) {
				if i >= 2 {
					for _, p := range []string{"bridge", "host-local", "loopback", "portmap", "firewall"} {
						n.Attributes["plugins.cni.version."+p] = "1"
					}
				}
			},
			job:       func(j *structs.Job) { j.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "bridge"}} },
			wantNodes: []int{2, 3},
		},
		{
			name:       "no node has the CNI network",
			job:        func(j *structs.Job) { j.TaskGroups[0].Networks = []*structs.NetworkResource{{Mode: "cni/mynet"}} },
			wantFilter: map[string]int{"missing network mode: cni/mynet": 4},
		},
		{
			name: "constraint filters all",
			job: func(j *structs.Job) {
				j.Constraints = []*structs.Constraint{{LTarget: "${attr.kernel.name}", RTarget: "windows", Operand: "="}}
			},
			wantFilter: map[string]int{"${attr.kernel.name} = windows": 4},
		},
		{
			name:      "datacenter glob",
			edit:      func(i int, n *structs.Node) { n.Datacenter = []string{"us-1", "eu-1", "us-2", "ap-1"}[i] },
			job:       func(j *structs.Job) { j.Datacenters = []string{"us-*"} },
			wantNodes: []int{0, 2},
		},
		{
			name:      "datacenter literal",
			edit:      func(i int, n *structs.Node) { n.Datacenter = []string{"us-1", "eu-1", "us-2", "ap-1"}[i] },
			job:       func(j *structs.Job) { j.Datacenters = []string{"ap-1"} },
			wantNodes: []int{3},
		},
		{
			name:      "node pool",
			edit:      func(i int, n *structs.Node) { n.NodePool = []string{"default", "gpu", "gpu", "default"}[i] },
			job:       func(j *structs.Job) { j.NodePool = "gpu" },
			wantNodes: []int{1, 2},
		},
		{
			name: "not ready nodes",
			edit: func(i int, n *structs.Node) {
				switch i {
				case 0:
					n.Status = structs.NodeStatusDown
				case 1:
					n.Drain = true
				case 2:
					n.SchedulingEligibility = structs.NodeSchedulingIneligible
				}
			},
			wantNodes: []int{3},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			nodes := h.Nodes(4, tc.edit)
			job := schedtest.Job()
			job.TaskGroups[0].Count = 8
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 64}
			if tc.job != nil {
				tc.job(job)
			}
			register(t, h, job)
			allowed := map[string]bool{}
			for _, i := range tc.wantNodes {
				allowed[nodes[i].ID] = true
			}
			allocs := planned(h.LastPlan())
			if len(tc.wantNodes) > 0 && len(allocs) != 8 {
				t.Fatalf("got %d placements, want 8", len(allocs))
			}
			used := map[string]bool{}
			for _, a := range allocs {
				if !allowed[a.NodeID] {
					t.Errorf("alloc %s placed on node %s, want one of nodes %v", a.Name, a.NodeName, tc.wantNodes)
				}
				used[a.NodeID] = true
			}
			if tc.wantFilter != nil {
				ev := h.LastEval()
				m := ev.FailedTGAllocs["web"]
				if m == nil {
					t.Fatalf("got no failed metric for group web, want one")
				}
				if d := cmp.Diff(tc.wantFilter, m.ConstraintFiltered); d != "" {
					t.Errorf("ConstraintFiltered (-want +got):\n%s", d)
				}
				if m.NodesEvaluated != 4 || m.NodesFiltered != 4 || m.CoalescedFailures != 7 {
					t.Errorf("got evaluated %d filtered %d coalesced %d, want 4, 4, 7", m.NodesEvaluated, m.NodesFiltered, m.CoalescedFailures)
				}
				if ev.QueuedAllocations["web"] != 8 {
					t.Errorf("got %d queued, want 8", ev.QueuedAllocations["web"])
				}
			}
			// Filtered nodes are counted under their constraint on successful placements too.
			if len(tc.wantNodes) > 0 && len(tc.wantNodes) < 4 && tc.job != nil && len(job.Constraints)+len(job.TaskGroups[0].Constraints)+len(job.TaskGroups[0].Tasks[0].Constraints) > 0 {
				filtered := 0
				for _, a := range allocs {
					for _, n := range a.Metrics.ConstraintFiltered {
						filtered += n
					}
				}
				if filtered == 0 {
					t.Errorf("got no ConstraintFiltered counts on any placement, want the filtered nodes counted")
				}
			}
		})
	}
}

func TestExhaustion(t *testing.T) {
	for _, tc := range []struct {
		name      string
		cpu, mem  int
		count     int
		wantPlace int
		wantDim   string
	}{
		{"cpu", 1500, 100, 6, 4, "cpu"}, // 2 nodes x 4000 MHz hold 4 allocs of 1500
		{"memory", 100, 3000, 6, 4, "memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := schedtest.NewHarness()
			h.Nodes(2, nil)
			job := schedtest.Job()
			job.TaskGroups[0].Count = tc.count
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: tc.cpu, MemoryMB: tc.mem}
			eval := register(t, h, job)
			if got := len(planned(h.LastPlan())); got != tc.wantPlace {
				t.Fatalf("got %d placements, want %d", got, tc.wantPlace)
			}
			ev := h.LastEval()
			if ev.Status != structs.EvalStatusComplete {
				t.Errorf("got status %q, want complete", ev.Status)
			}
			m := ev.FailedTGAllocs["web"]
			if m == nil {
				t.Fatal("got no FailedTGAllocs[web], want the metric of the failed placement")
			}
			wantFail := tc.count - tc.wantPlace
			if m.CoalescedFailures != wantFail-1 {
				t.Errorf("got CoalescedFailures %d, want %d", m.CoalescedFailures, wantFail-1)
			}
			if d := cmp.Diff(map[string]int{tc.wantDim: 2}, m.DimensionExhausted); d != "" {
				t.Errorf("DimensionExhausted (-want +got):\n%s", d)
			}
			if m.NodesExhausted != 2 || m.NodesEvaluated != 2 {
				t.Errorf("got exhausted %d evaluated %d, want 2 and 2", m.NodesExhausted, m.NodesEvaluated)
			}
			if ev.QueuedAllocations["web"] != wantFail {
				t.Errorf("got queued %d, want %d", ev.QueuedAllocations["web"], wantFail)
			}
			if len(h.Created) != 1 {
				t.Fatalf("got %d created evals, want 1 blocked eval", len(h.Created))
			}
			b := h.Created[0]
			if b.Status != structs.EvalStatusBlocked || b.TriggeredBy != structs.EvalTriggerQueuedAllocs ||
				b.PreviousEval != eval.ID || b.JobID != job.ID || ev.BlockedEval != b.ID {
				t.Errorf("got blocked eval %+v (eval.BlockedEval %q), want a blocked queued-allocs eval following %s", b, ev.BlockedEval, eval.ID)
			}

			// Retrying the blocked eval with no new capacity creates no further blocked eval.
			retry := b.Copy()
			if err := h.Process(retry); err != nil {
				t.Fatal(err)
			}
			if len(h.Created) != 1 {
				t.Errorf("got %d created evals after retrying the blocked eval, want still 1", len(h.Created))
			}
			if got := h.LastEval(); got.Status != structs.EvalStatusBlocked || got.FailedTGAllocs["web"] == nil {
				t.Errorf("got retried blocked eval status %q with metrics %v, want blocked with metrics", got.Status, got.FailedTGAllocs)
			}
			// With a new node the blocked eval places the rest.
			h.Nodes(1, nil)
			retry = b.Copy()
			if err := h.Process(retry); err != nil {
				t.Fatal(err)
			}
			if got := len(live(h, job.ID)); got != tc.count {
				t.Errorf("got %d live allocs after adding a node, want %d", got, tc.count)
			}
			if got := h.LastEval(); got.Status != structs.EvalStatusComplete || len(got.FailedTGAllocs) != 0 {
				t.Errorf("got status %q failed %v, want complete", got.Status, got.FailedTGAllocs)
			}
		})
	}
}

func TestPorts(t *testing.T) {
	t.Run("static collision", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.Nodes(2, nil)
		job := schedtest.Job()
		job.TaskGroups[0].Count = 3
		job.TaskGroups[0].Networks = []*structs.NetworkResource{{ReservedPorts: []structs.Port{{Label: "http", Value: 8080}}}}
		register(t, h, job)
		allocs := planned(h.LastPlan())
		if len(allocs) != 2 {
			t.Fatalf("got %d placements, want 2 (one per node with port 8080)", len(allocs))
		}
		if allocs[0].NodeID == allocs[1].NodeID {
			t.Errorf("both allocs with static port 8080 on node %s", allocs[0].NodeID)
		}
		for _, a := range allocs {
			want := []structs.PortMapping{{Label: "http", Value: 8080, HostIP: "192.168.0.100"}}
			if d := cmp.Diff(want, a.AllocatedResources.Shared.Ports); d != "" {
				t.Errorf("ports (-want +got):\n%s", d)
			}
		}
		m := h.LastEval().FailedTGAllocs["web"]
		if m == nil {
			t.Fatal("got no failed metric, want a port collision")
		}
		if d := cmp.Diff(map[string]int{"network: reserved port collision http=8080": 2}, m.DimensionExhausted); d != "" {
			t.Errorf("DimensionExhausted (-want +got):\n%s", d)
		}
	})
	t.Run("reserved host port", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.Nodes(1, func(_ int, n *structs.Node) {
			n.ReservedResources = &structs.NodeReservedResources{Networks: structs.NodeReservedNetworkResources{ReservedHostPorts: "22,8000-8100"}}
		})
		job := schedtest.Job()
		job.TaskGroups[0].Count = 1
		job.TaskGroups[0].Networks = []*structs.NetworkResource{{ReservedPorts: []structs.Port{{Label: "http", Value: 8080}}}}
		register(t, h, job)
		if got := len(planned(h.LastPlan())); got != 0 {
			t.Errorf("got %d placements, want 0: port 8080 is reserved on the node", got)
		}
	})
	t.Run("dynamic unique per node", func(t *testing.T) {
		h := schedtest.NewHarness()
		h.Nodes(2, func(_ int, n *structs.Node) {
			n.NodeResources.MinDynamicPort, n.NodeResources.MaxDynamicPort = 30000, 30009
		})
		job := schedtest.Job()
		job.TaskGroups[0].Count = 10
		job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 10, MemoryMB: 10}
		job.TaskGroups[0].Networks = []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}, {Label: "admin", To: -1}}}}
		register(t, h, job)
		allocs := planned(h.LastPlan())
		if len(allocs) != 10 {
			t.Fatalf("got %d placements, want 10 (2 nodes x 10 ports / 2 per alloc)", len(allocs))
		}
		perNode := map[string]map[int]bool{}
		for _, a := range allocs {
			ports := a.AllocatedResources.Shared.Ports
			if len(ports) != 2 {
				t.Fatalf("alloc %s: got %d ports, want 2", a.Name, len(ports))
			}
			if ports[1].To != ports[1].Value {
				t.Errorf("alloc %s: admin port To = %d, want the host port %d (to = -1)", a.Name, ports[1].To, ports[1].Value)
			}
			if perNode[a.NodeID] == nil {
				perNode[a.NodeID] = map[int]bool{}
			}
			for _, p := range ports {
				if p.Value < 30000 || p.Value > 30009 {
					t.Errorf("alloc %s: port %d outside 30000-30009", a.Name, p.Value)
				}
				if perNode[a.NodeID][p.Value] {
					t.Errorf("alloc %s: port %d used twice on node %s", a.Name, p.Value, a.NodeID)
				}
				perNode[a.NodeID][p.Value] = true
			}
			if n := a.AllocatedResources.Shared.Networks; len(n) != 1 || len(n[0].DynamicPorts) != 2 || n[0].DynamicPorts[0].Value == 0 {
				t.Errorf("alloc %s: got networks %+v, want one network with both dynamic ports assigned", a.Name, n)
			}
		}
		// The range is full now: one more alloc fails with a named dimension.
		job2 := job.Copy()
		job2.TaskGroups[0].Count = 11
		h.State.UpsertJob(job2)
		process(t, h, job2, structs.EvalTriggerJobRegister)
		m := h.LastEval().FailedTGAllocs["web"]
		if m == nil || m.DimensionExhausted["network: dynamic port selection failed"] != 2 {
			t.Errorf("got metric %+v, want 2 nodes exhausted on dynamic port selection", m)
		}
	})
}
