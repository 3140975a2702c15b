package command

import (
	"testing"
)

// TestMonitorCommand streams the agent's plain log with the flags as
// query parameters.
func TestMonitorCommand(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/agent/monitor", 1, rawBody("2026-11-23T19:40:00Z level=DEBUG msg=request\n[3 lines dropped]\n"))
	code, out, errOut := runCLI(t, "", "-address="+addr, "monitor", "-log-level=debug", "-json")
	if code != 0 || out != "2026-11-23T19:40:00Z level=DEBUG msg=request\n[3 lines dropped]\n" {
		t.Fatalf("monitor: code %d, out %q, err %q", code, out, errOut)
	}
	if !f.requested("GET /v1/agent/monitor?log_json=true&log_level=debug&plain=true") {
		t.Fatalf("requests = %v", f.requests)
	}
	code, _, errOut = runCLI(t, "", "-address="+addr, "monitor", "-server-id=leader")
	if code != 0 || !f.requested("GET /v1/agent/monitor?log_json=false&log_level=info&plain=true&server_id=leader") {
		t.Fatalf("monitor -server-id: code %d, err %q, requests = %v", code, errOut, f.requests)
	}
	if code, _, _ := runCLI(t, "", "-address="+addr, "monitor", "-server-id=leader", "-node-id=x"); code != 1 {
		t.Errorf("monitor with both -node-id and -server-id: code %d, want 1", code)
	}
}
