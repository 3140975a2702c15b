package command

import (
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestAllocStatusAddresses: a bridge allocation's ports (host address ->
// the port inside) and its own address, as Nomad's alloc status shows them.
func TestAllocStatusAddresses(t *testing.T) {
	var b strings.Builder
	c := &cli{stdout: &b, stderr: &b, now: func() time.Time { return testNow }}
	job := &structs.Job{ID: "j", TaskGroups: []*structs.TaskGroup{{Name: "g", Networks: []*structs.NetworkResource{{
		Mode: "bridge", ReservedPorts: []structs.Port{{Label: "http", Value: 8080, To: 80}}, DynamicPorts: []structs.Port{{Label: "admin"}}}}}}}
	c.showAlloc(&structs.Allocation{ID: "a", JobID: "j", Job: job, TaskGroup: "g",
		ClientStatus: structs.AllocClientStatusRunning, DesiredStatus: structs.AllocDesiredStatusRun,
		NetworkStatus: &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "172.26.64.5"},
		AllocatedResources: &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{Ports: []structs.PortMapping{
			{Label: "http", Value: 8080, To: 80, HostIP: "10.0.0.1"}, {Label: "admin", Value: 23456, HostIP: "10.0.0.1"}}}}}, false, nil)
	out := b.String()
	for _, want := range []string{`Allocation Network (mode = "bridge"): 172.26.64.5 on eth0`, `Allocation Addresses (mode = "bridge"):`,
		"*http ", "10.0.0.1:8080 -> 80", "*admin", "10.0.0.1:23456"} {
		if !strings.Contains(out, want) {
			t.Errorf("alloc status lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(out, "*http   no") || !strings.Contains(out, "*admin  yes") {
		t.Errorf("static/dynamic column wrong:\n%s", out)
	}
}
