package command

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestJobStatus(t *testing.T) {
	f, addr := newFakeAgent(t)
	job := &structs.Job{ID: "example", Name: "example", Namespace: "default", Type: "service", Priority: 50,
		Datacenters: []string{"*"}, Status: "running", SubmitTime: testNow.Add(-time.Minute).UnixNano()}
	f.on("GET", "/v1/jobs", 20, []*structs.JobListStub{job.Stub(nil)})
	f.on("GET", "/v1/job/example", 20, job)
	f.on("GET", "/v1/job/example/summary", 20, &structs.JobSummary{JobID: "example",
		Summary: map[string]structs.TaskGroupSummary{"hello": {Running: 1, Queued: 2}}})
	blocked := fixtureEval(structs.EvalStatusBlocked, 13)
	blocked.ID, blocked.CreateIndex = evalID2, 13
	parent := fixtureEval(structs.EvalStatusComplete, 13)
	parent.BlockedEval = evalID2
	parent.FailedTGAllocs = map[string]*structs.AllocMetric{"hello": {NodesEvaluated: 1, NodesExhausted: 1,
		DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 1}}
	f.on("GET", "/v1/job/example/evaluations", 20, []*structs.Evaluation{parent, blocked})
	f.on("GET", "/v1/job/example/allocations", 20, []*structs.AllocListStub{fixtureAlloc("running", 14, runningState())})
	f.on("GET", "/v1/job/example/deployment", 20, &structs.Deployment{ID: "0b23b149-7a6c-4f8e-9d1a-2b3c4d5e6f70", JobID: "example",
		Status: "running", StatusDescription: "Deployment is running but requires manual promotion",
		TaskGroups: map[string]*structs.DeploymentState{"hello": {AutoRevert: true, DesiredCanaries: 1, DesiredTotal: 3,
			PlacedCanaries: []string{"a"}, PlacedAllocs: 1, HealthyAllocs: 1, RequireProgressBy: testNow.Add(10 * time.Minute)}}})

	t.Run("list", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "-address="+addr, "job", "status")
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
		}
		want := []string{"ID       Type     Priority  Status   Submit Date", "example  service  50        running  <T>"}
		if diff := cmp.Diff(want, lines(out)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("one job", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "-address="+addr, "job", "status", "exa")
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
		}
		want := []string{
			"ID          = example",
			"Name        = example",
			"Submit Date = <T>",
			"Type        = service",
			"Priority    = 50",
			"Datacenters = *",
			"Namespace   = default",
			"Status      = running",
			"",
			"Summary",
			"Task Group  Queued  Starting  Running  Failed  Complete  Lost  Unknown",
			"hello       2       0         1        0       0         0     0",
			"",
			"Placement Failure",
			`Task Group "hello" (failed to place 2 allocations):`,
			"  * Resources exhausted on 1 nodes",
			`  * Dimension "memory" exhausted on 1 nodes`,
			"  Hint: the nodes lack free resources: lower the task's resources block, stop other allocations, or add client nodes",
			"",
			"Latest Deployment",
			"ID          = 0b23b149",
			"Status      = running",
			"Description = Deployment is running but requires manual promotion",
			"",
			"Deployed",
			"Task Group  Auto Revert  Promoted  Desired  Canaries  Placed  Healthy  Unhealthy  Progress Deadline",
			"hello       true         false     3        1         1       1        0          <T>",
			"",
			"Allocations",
			"ID        Node ID   Task Group  Version  Desired  Status   Created  Modified",
			"ef12ab34  9f8e7d6c  hello       0        run      running  50s ago  12s ago",
		}
		if diff := cmp.Diff(want, lines(out)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
		if !f.requested("GET /v1/jobs?prefix=exa") {
			t.Errorf("no prefix lookup; requests: %q", f.requests)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := runCLI(t, "", "-address="+addr, "job", "status", "-json", "example")
		if code != 0 || !strings.Contains(out, `"ID": "example"`) {
			t.Errorf("exit code %d, output:\n%s\nwant 0 and the job as indented JSON", code, out)
		}
	})
}

func TestPrefixLookups(t *testing.T) {
	f, addr := newFakeAgent(t)
	other := fixtureAlloc("running", 14, nil)
	other.ID = "ef12ffff-0000-4000-8000-000000000009"
	f.on("GET", "/v1/allocations", 20, []*structs.AllocListStub{fixtureAlloc("running", 14, nil), other})
	f.on("GET", "/v1/evaluations", 20, []*structs.Evaluation{})

	t.Run("ambiguous", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "-address="+addr, "alloc", "status", "ef12")
		if code != 1 {
			t.Errorf("exit code = %d, want 1", code)
		}
		for _, w := range []string{"Prefix matched multiple allocations", allocID, other.ID} {
			if !strings.Contains(out, w) {
				t.Errorf("stdout lacks %q; got:\n%s", w, out)
			}
		}
		if !strings.Contains(errOut, `prefix "ef12" matches 2 allocations`) {
			t.Errorf("stderr = %q, want it to say the prefix matches 2 allocations", errOut)
		}
	})
	t.Run("not found", func(t *testing.T) {
		code, _, errOut := runCLI(t, "", "-address="+addr, "eval", "status", "zz")
		if code != 1 {
			t.Errorf("exit code = %d, want 1", code)
		}
		if !strings.Contains(errOut, `No evaluation(s) with prefix or id "zz" found`) {
			t.Errorf("stderr = %q, want the not-found message", errOut)
		}
	})
}

func TestAllocStatus(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/allocations", 20, []*structs.AllocListStub{fixtureAlloc("running", 14, nil)})
	f.on("GET", "/v1/allocation/"+allocID, 20, fixtureFullAlloc(runningState()))
	code, out, errOut := runCLI(t, "", "-address="+addr, "alloc", "status", "ef12")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
	}
	want := []string{
		"ID                  = " + allocID,
		"Eval ID             = abcd1234",
		"Name                = example.hello[0]",
		"Node ID             = 9f8e7d6c",
		"Node Name           = node1",
		"Job ID              = example",
		"Job Version         = 2",
		"Client Status       = running",
		"Client Description  = Tasks are running",
		"Desired Status      = run",
		"Desired Description = <none>",
		"Created             = 50s ago",
		"Modified            = 12s ago",
		"",
		`Task "hello" is "running"`,
		"Task Resources:",
		"CPU      Memory",
		"100 MHz  64 MiB",
		"",
		"Recent Events:",
		"Time                  Type      Description",
		"<T>  Started   Task started by client",
		"<T>  Received  Task received by client",
	}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}

func TestNodeStatus(t *testing.T) {
	f, addr := newFakeAgent(t)
	node := &structs.Node{ID: nodeID, Name: "node1", Datacenter: "dc1", Status: "ready", SchedulingEligibility: "eligible",
		NodeResources: &structs.NodeResources{Cpu: structs.NodeCpuResources{CpuShares: 4000},
			Memory: structs.NodeMemoryResources{MemoryMB: 8192}, Disk: structs.NodeDiskResources{DiskMB: 10240}},
		Drivers: map[string]*structs.DriverInfo{
			"raw_exec": {Detected: true, Healthy: true},
			"qemu":     {Detected: true, Healthy: false, HealthDescription: "qemu-system-x86_64 not found"},
			"docker":   {Detected: false},
		},
		HostVolumes: map[string]*structs.ClientHostVolumeConfig{
			"data":  {Name: "data", Path: "/srv/data"},
			"certs": {Name: "certs", Path: "/etc/ssl/certs", ReadOnly: true},
		},
		HostNetworks: map[string]*structs.ClientHostNetworkConfig{
			"public": {Name: "public", CIDR: "203.0.113.0/24", ReservedPorts: "22"},
			"lab":    {Name: "lab", Interface: "veth9"},
		},
		Attributes: map[string]string{"kernel.name": "linux"}}
	node.NodeResources.NodeNetworks = []*structs.NodeNetworkResource{{Device: "eth1", Addresses: []structs.NodeNetworkAddress{
		{Alias: "public", Address: "203.0.113.7"}}}}
	f.on("GET", "/v1/nodes", 20, []*structs.NodeListStub{node.Stub()})
	f.on("GET", "/v1/node/"+nodeID, 20, node)
	f.on("GET", "/v1/node/"+nodeID+"/allocations", 20, []*structs.Allocation{fixtureFullAlloc(runningState())})

	t.Run("list", func(t *testing.T) {
		code, out, _ := runCLI(t, "", "-address="+addr, "node", "status")
		want := []string{
			"ID        DC   Name   Class   Drain  Eligibility  Status",
			"9f8e7d6c  dc1  node1  <none>  false  eligible     ready",
		}
		if diff := cmp.Diff(want, lines(out)); code != 0 || diff != "" {
			t.Errorf("exit code %d (want 0), output mismatch (-want +got):\n%s", code, diff)
		}
	})
	t.Run("one node", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "-address="+addr, "node", "status", "9f8e")
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
		}
		want := []string{
			"ID          = 9f8e7d6c",
			"Name        = node1",
			"Class       = <none>",
			"DC          = dc1",
			"Drain       = false",
			"Eligibility = eligible",
			"Status      = ready",
			"Drivers     = qemu (unhealthy: qemu-system-x86_64 not found), raw_exec",
			"",
			"Allocated Resources",
			"CPU           Memory        Disk",
			"100/4000 MHz  64 MiB/8 GiB  300 MiB/10 GiB",
			"",
			"Allocations",
			"ID        Node ID   Task Group  Version  Desired  Status   Created  Modified",
			"ef12ab34  9f8e7d6c  hello       2        run      running  50s ago  12s ago",
		}
		if diff := cmp.Diff(want, lines(out)); diff != "" {
			t.Errorf("output mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("verbose shows host volumes, host networks and attributes", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "-address="+addr, "node", "status", "-verbose", "9f8e")
		if code != 0 {
			t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
		}
		for _, want := range []string{
			"Host Volumes\nName   ReadOnly  Source\ncerts  true      /etc/ssl/certs\ndata   false     /srv/data\n",
			"Attributes\nkernel.name = linux\n",
			"Host Networks\nName    CIDR            Interface  ReservedPorts  Addresses\n" +
				"lab     <none>          veth9      <none>         <none>\n" +
				"public  203.0.113.0/24  <none>     22             203.0.113.7 (eth1)\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestEvalStatus(t *testing.T) {
	f, addr := newFakeAgent(t)
	ev := fixtureEval(structs.EvalStatusComplete, 12)
	ev.BlockedEval = evalID2
	ev.FailedTGAllocs = map[string]*structs.AllocMetric{"hello": {NodesEvaluated: 0}}
	f.on("GET", "/v1/evaluations", 20, []*structs.Evaluation{ev})
	f.on("GET", "/v1/evaluation/"+evalID, 20, ev)
	code, out, errOut := runCLI(t, "", "-address="+addr, "eval", "status", "abcd")
	if code != 0 {
		t.Fatalf("exit code = %d, want 0; stderr:\n%s", code, errOut)
	}
	want := []string{
		"ID                 = abcd1234",
		"Create Time        = <T>",
		"Modify Time        = <T>",
		"Status             = complete",
		"Status Description = <none>",
		"Type               = service",
		"TriggeredBy        = job-register",
		"Job ID             = example",
		"Priority           = 50",
		"Placement Failures = true",
		"",
		"==> Failed Placements",
		`Task Group "hello" (failed to place 1 allocation):`,
		"  * No nodes were eligible for evaluation",
		`  Hint: no ready client node matches the job's datacenters and node pool "default": start a client ('nomadlike agent -dev'), or fix the job's datacenters/node_pool; 'nomadlike node status' lists the nodes`,
		"",
		`Evaluation "abcd5678" waiting for additional capacity to place remainder`,
	}
	if diff := cmp.Diff(want, lines(out)); diff != "" {
		t.Errorf("output mismatch (-want +got):\n%s", diff)
	}
}
