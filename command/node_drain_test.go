package command

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestNodeDrainAndEligibility(t *testing.T) {
	node := &structs.Node{ID: nodeID, Name: "node1", Datacenter: "dc1", Status: "ready", SchedulingEligibility: "eligible"}
	tests := []struct {
		name     string
		args     []string
		stdin    string
		wantCode int
		wantOut  string
		wantErr  string
		wantPath string
		wantBody string
	}{
		{name: "enable with deadline", args: []string{"node", "drain", "-enable", "-deadline", "1m", "-ignore-system", "-yes", "-detach", "9f8e"},
			wantOut: `Node "9f8e7d6c" drain strategy set`, wantPath: "/v1/node/" + nodeID + "/drain",
			wantBody: `{"NodeID":"` + nodeID + `","DrainSpec":{"Deadline":60000000000,"IgnoreSystemJobs":true},"MarkEligible":false}`},
		{name: "enable confirmed on stdin", args: []string{"node", "drain", "-enable", "-force", "-detach", "9f8e"}, stdin: "y\n",
			wantOut: "drain strategy set", wantPath: "/v1/node/" + nodeID + "/drain",
			wantBody: `{"NodeID":"` + nodeID + `","DrainSpec":{"Deadline":-1,"IgnoreSystemJobs":false},"MarkEligible":false}`},
		{name: "enable refused on stdin", args: []string{"node", "drain", "-enable", "9f8e"}, stdin: "n\n", wantCode: 1, wantOut: "Canceling drain"},
		{name: "disable marks eligible", args: []string{"node", "drain", "-disable", "9f8e"},
			wantOut: "drain strategy unset", wantPath: "/v1/node/" + nodeID + "/drain",
			wantBody: `{"NodeID":"` + nodeID + `","DrainSpec":null,"MarkEligible":true}`},
		{name: "neither enable nor disable", args: []string{"node", "drain", "9f8e"}, wantCode: 1, wantErr: "exactly one of -enable or -disable"},
		{name: "eligibility disable", args: []string{"node", "eligibility", "-disable", "9f8e"},
			wantOut: "ineligible for scheduling", wantPath: "/v1/node/" + nodeID + "/eligibility",
			wantBody: `{"NodeID":"` + nodeID + `","Eligibility":"ineligible"}`},
		{name: "eligibility both flags", args: []string{"node", "eligibility", "-enable", "-disable", "9f8e"}, wantCode: 1, wantErr: "exactly one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, addr := newFakeAgent(t)
			f.on("GET", "/v1/nodes", 10, []*structs.NodeListStub{node.Stub()})
			f.on("GET", "/v1/node/"+nodeID, 10, node)
			f.on("PUT", "/v1/node/"+nodeID+"/drain", 11, &structs.NodeDrainUpdateResponse{NodeModifyIndex: 11, Index: 11})
			f.on("PUT", "/v1/node/"+nodeID+"/eligibility", 11, &structs.NodeEligibilityUpdateResponse{NodeModifyIndex: 11, Index: 11})
			code, out, errOut := runCLI(t, tt.stdin, append([]string{"-address=" + addr}, tt.args...)...)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			if !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stdout %q stderr %q; want %q and %q", out, errOut, tt.wantOut, tt.wantErr)
			}
			if tt.wantPath != "" {
				f.mu.Lock()
				body := string(f.bodies["PUT "+tt.wantPath])
				f.mu.Unlock()
				if strings.TrimSpace(body) != tt.wantBody {
					t.Errorf("body of PUT %s = %s, want %s", tt.wantPath, body, tt.wantBody)
				}
			}
		})
	}
}

func TestDrainText(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		node *structs.Node
		want string
	}{
		{"not draining", &structs.Node{}, "false"},
		{"deadline", &structs.Node{Drain: true, DrainStrategy: structs.NewDrainStrategy(structs.DrainSpec{Deadline: time.Minute, IgnoreSystemJobs: true}, now)},
			"true (deadline 2026-01-01T12:01:00Z (in 1m0s), ignoring system jobs)"},
		{"no deadline", &structs.Node{Drain: true, DrainStrategy: structs.NewDrainStrategy(structs.DrainSpec{}, now)}, "true (no deadline)"},
		{"forced", &structs.Node{Drain: true, DrainStrategy: structs.NewDrainStrategy(structs.DrainSpec{Deadline: -1}, now)}, "true (forced)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := drainText(tt.node, now); got != tt.want {
				t.Errorf("drainText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestOperatorSchedulerConfig(t *testing.T) {
	f, addr := newFakeAgent(t)
	cur := &structs.SchedulerConfig{SchedulerAlgorithm: "binpack", PreemptionConfig: structs.PreemptionConfig{SystemSchedulerEnabled: true}, ModifyIndex: 7}
	f.on("GET", "/v1/operator/scheduler/configuration", 7, &structs.SchedulerConfigResponse{SchedulerConfig: cur, Index: 7})
	f.on("PUT", "/v1/operator/scheduler/configuration", 8, &structs.SchedulerSetConfigResponse{Updated: true, Index: 8})

	code, out, errOut := runCLI(t, "", "-address="+addr, "operator", "scheduler", "get-config")
	if code != 0 {
		t.Fatalf("get-config exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Scheduler Algorithm", "binpack", "Preemption Service Scheduler"} {
		if !strings.Contains(out, want) {
			t.Errorf("get-config output lacks %q:\n%s", want, out)
		}
	}
	code, out, errOut = runCLI(t, "", "-address="+addr, "operator", "scheduler", "set-config",
		"-scheduler-algorithm=spread", "-preempt-service-scheduler=true")
	if code != 0 || !strings.Contains(out, "updated") {
		t.Fatalf("set-config exit %d, out %q, stderr %s", code, out, errOut)
	}
	var sent structs.SchedulerConfig
	f.mu.Lock()
	err := json.Unmarshal(f.bodies["PUT /v1/operator/scheduler/configuration"], &sent)
	f.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	want := structs.SchedulerConfig{SchedulerAlgorithm: "spread", ModifyIndex: 7,
		PreemptionConfig: structs.PreemptionConfig{SystemSchedulerEnabled: true, ServiceSchedulerEnabled: true}}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("sent config (-want +got):\n%s", diff)
	}
	code, _, errOut = runCLI(t, "", "-address="+addr, "operator", "scheduler", "set-config", "-scheduler-algorithm=random")
	if code != 1 || !strings.Contains(errOut, `"random" is unknown`) {
		t.Errorf("bad algorithm: exit %d, stderr %q", code, errOut)
	}
}
