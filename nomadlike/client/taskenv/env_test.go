package taskenv

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func testInput() Input {
	task := &structs.Task{
		Name: "web", Driver: "raw_exec",
		Env:       map[string]string{"GREETING": "hi ${NOMAD_ALLOC_INDEX} on ${node.unique.name}", "PORT": "${NOMAD_PORT_http}"},
		Meta:      map[string]string{"owner": "ops"},
		Resources: &structs.Resources{CPU: 100, MemoryMB: 300},
	}
	job := &structs.Job{ID: "example", Name: "example", Region: "eu", Namespace: "default",
		Meta:       map[string]string{"team": "core", "owner": "nobody"},
		TaskGroups: []*structs.TaskGroup{{Name: "cache", Tasks: []*structs.Task{task}}}}
	alloc := &structs.Allocation{
		ID: "0123456789abcdef", Name: "example.cache[2]", Namespace: "default", TaskGroup: "cache", Job: job,
		AllocatedResources: &structs.AllocatedResources{
			Tasks:  map[string]*structs.AllocatedTaskResources{"web": {Cpu: structs.AllocatedCpuResources{CpuShares: 250}, Memory: structs.AllocatedMemoryResources{MemoryMB: 128}}},
			Shared: structs.AllocatedSharedResources{Ports: []structs.PortMapping{{Label: "http", Value: 25000, To: 8080, HostIP: "10.0.0.5"}}},
		},
	}
	node := &structs.Node{ID: "node-1", Name: "n1", Datacenter: "dc1", NodeClass: "large",
		Attributes: map[string]string{"kernel.name": "linux"}, Meta: map[string]string{"rack": "r1"}}
	return Input{Node: node, Alloc: alloc, Task: task, AllocDir: "/data/alloc/0123", TaskDir: "/data/alloc/0123/web", Region: "global"}
}

func TestBuild(t *testing.T) {
	env := Build(testInput()).Map()
	want := map[string]string{
		"NOMAD_ALLOC_ID":        "0123456789abcdef",
		"NOMAD_SHORT_ALLOC_ID":  "01234567",
		"NOMAD_ALLOC_NAME":      "example.cache[2]",
		"NOMAD_ALLOC_INDEX":     "2",
		"NOMAD_ALLOC_DIR":       "/data/alloc/0123/alloc",
		"NOMAD_TASK_DIR":        "/data/alloc/0123/web/local",
		"NOMAD_SECRETS_DIR":     "/data/alloc/0123/web/secrets",
		"NOMAD_TASK_NAME":       "web",
		"NOMAD_GROUP_NAME":      "cache",
		"NOMAD_JOB_ID":          "example",
		"NOMAD_JOB_NAME":        "example",
		"NOMAD_NAMESPACE":       "default",
		"NOMAD_REGION":          "eu",
		"NOMAD_DC":              "dc1",
		"NOMAD_CPU_LIMIT":       "250",
		"NOMAD_MEMORY_LIMIT":    "128",
		"NOMAD_PORT_http":       "8080",
		"NOMAD_ALLOC_PORT_http": "8080",
		"NOMAD_HOST_PORT_http":  "25000",
		"NOMAD_IP_http":         "10.0.0.5",
		"NOMAD_HOST_IP_http":    "10.0.0.5",
		"NOMAD_ADDR_http":       "10.0.0.5:25000",
		"NOMAD_HOST_ADDR_http":  "10.0.0.5:25000",
		"NOMAD_META_team":       "core",
		"NOMAD_META_TEAM":       "core",
		"NOMAD_META_owner":      "ops",
		"NOMAD_META_OWNER":      "ops",
		"GREETING":              "hi 2 on n1",
		"PORT":                  "8080",
	}
	if diff := cmp.Diff(want, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestReplace(t *testing.T) {
	e := Build(testInput())
	cases := []struct{ in, want string }{
		{"${NOMAD_ALLOC_ID}", "0123456789abcdef"},
		{"${env.GREETING}!", "hi 2 on n1!"},
		{"${node.unique.id}/${node.unique.name}/${node.datacenter}/${node.class}/${node.region}", "node-1/n1/dc1/large/global"},
		{"${attr.kernel.name}", "linux"},
		{"${meta.rack}-${meta.owner}", "r1-ops"},
		{"keep ${unknown.thing} and ${broken", "keep ${unknown.thing} and ${broken"},
		{"no refs", "no refs"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := e.Replace(tc.in); got != tc.want {
				t.Errorf("Replace(%q): got %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestReplaceConfig(t *testing.T) {
	e := Build(testInput())
	cfg := map[string]any{
		"command": "/bin/echo",
		"args":    []any{"${NOMAD_TASK_NAME}", 3, "${nope}"},
		"nested":  map[string]any{"dir": "${NOMAD_ALLOC_DIR}", "list": []string{"${NOMAD_DC}"}},
		"blocks":  []map[string]any{{"x": "${node.class}"}},
	}
	got, unknown := e.ReplaceConfigUnresolved(cfg)
	want := map[string]any{
		"command": "/bin/echo",
		"args":    []any{"web", 3, "${nope}"},
		"nested":  map[string]any{"dir": "/data/alloc/0123/alloc", "list": []string{"dc1"}},
		"blocks":  []map[string]any{{"x": "large"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"nope"}, unknown); diff != "" {
		t.Errorf("unresolved (-want +got):\n%s", diff)
	}
	if cfg["args"].([]any)[0] != "${NOMAD_TASK_NAME}" {
		t.Errorf("input config was modified: got %v", cfg["args"])
	}
}

func BenchmarkBuildAndReplace(b *testing.B) {
	in := testInput()
	cfg := map[string]any{"command": "/bin/sh", "args": []any{"-c", "echo ${NOMAD_ALLOC_ID} ${attr.kernel.name} ${meta.rack}"}}
	for b.Loop() {
		e := Build(in)
		_ = e.ReplaceConfig(cfg)
	}
}

func TestLookup(t *testing.T) {
	e := Build(testInput())
	cases := []struct {
		name, want string
		ok         bool
	}{
		{"NOMAD_ALLOC_ID", "0123456789abcdef", true},
		{"GREETING", "hi 2 on n1", true},
		{"env.GREETING", "hi 2 on n1", true},
		{"node.unique.name", "n1", true},
		{"attr.kernel.name", "linux", true},
		{"meta.rack", "r1", true},
		{"meta.owner", "ops", true},
		{"NOPE", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := e.Lookup(tc.name)
			if got != tc.want || ok != tc.ok {
				t.Errorf("Lookup(%q): got %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestWithVars(t *testing.T) {
	e := Build(testInput())
	n := e.WithVars(map[string]string{"GREETING": "from template", "NEW": "x"})
	if got := n.Replace("${GREETING}/${NEW}/${node.class}"); got != "from template/x/large" {
		t.Errorf("got %q, want the template values and the node's", got)
	}
	if _, ok := e.Lookup("NEW"); ok {
		t.Errorf("WithVars changed the original environment")
	}
	if got := n.Map()["NOMAD_ALLOC_ID"]; got != "0123456789abcdef" {
		t.Errorf("got NOMAD_ALLOC_ID %q, want it kept", got)
	}
}

// TestBuildBridgeNetwork: an allocation with a network of its own gets
// the NOMAD_ALLOC_* variables of its ports (its address and the port
// inside), besides the host ones.
func TestBuildBridgeNetwork(t *testing.T) {
	in := testInput()
	in.Alloc.NetworkStatus = &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "172.26.64.7"}
	env := Build(in).Map()
	for k, want := range map[string]string{
		"NOMAD_ALLOC_IP_http":        "172.26.64.7",
		"NOMAD_ALLOC_ADDR_http":      "172.26.64.7:8080",
		"NOMAD_ALLOC_INTERFACE_http": "eth0",
		"NOMAD_ALLOC_PORT_http":      "8080",
		"NOMAD_HOST_ADDR_http":       "10.0.0.5:25000",
	} {
		if env[k] != want {
			t.Errorf("%s = %q, want %q", k, env[k], want)
		}
	}
	if _, ok := Build(testInput()).Map()["NOMAD_ALLOC_IP_http"]; ok {
		t.Error("a host-mode allocation got NOMAD_ALLOC_IP_http")
	}
}

// TestBuildPortRange: a range's first ports are in the usual variables,
// its count and both ranges in _COUNT and _RANGE ones; to = -1 maps the
// range onto the same ports inside.
func TestBuildPortRange(t *testing.T) {
	in := testInput()
	in.Alloc.AllocatedResources.Shared.Ports = []structs.PortMapping{
		{Label: "rtp", Value: 20100, To: 10000, HostIP: "10.0.0.5", Count: 100},
		{Label: "media", Value: 30000, To: 30000, HostIP: "10.0.0.5", Count: 3},
	}
	env := Build(in).Map()
	want := map[string]string{
		"NOMAD_PORT_rtp":              "10000",
		"NOMAD_HOST_PORT_rtp":         "20100",
		"NOMAD_ADDR_rtp":              "10.0.0.5:20100",
		"NOMAD_PORT_rtp_COUNT":        "100",
		"NOMAD_PORT_rtp_RANGE":        "10000-10099",
		"NOMAD_HOST_PORT_rtp_RANGE":   "20100-20199",
		"NOMAD_PORT_media":            "30000",
		"NOMAD_PORT_media_COUNT":      "3",
		"NOMAD_PORT_media_RANGE":      "30000-30002",
		"NOMAD_HOST_PORT_media_RANGE": "30000-30002",
	}
	got := map[string]string{}
	for k := range want {
		got[k] = env[k]
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if _, ok := Build(testInput()).Map()["NOMAD_PORT_http_COUNT"]; ok {
		t.Error("a single port has NOMAD_PORT_http_COUNT")
	}
}
