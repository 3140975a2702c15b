package command

import (
	"net/http"
	"strings"
	"testing"
)

func TestNodeConfig(t *testing.T) {
	f, addr := newFakeAgent(t)
	f.on("GET", "/v1/agent/servers", 0, []string{"10.0.0.1:4646", "10.0.0.2:4646"})
	f.on("PUT", "/v1/agent/servers", 0, nil)

	code, out, errOut := runCLI(t, "", "node", "config", "-address="+addr, "-servers")
	if code != 0 || out != "10.0.0.1:4646\n10.0.0.2:4646\n" {
		t.Errorf("node config -servers: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "node", "config", "-address="+addr, "-servers", "-json")
	if code != 0 || strings.Join(strings.Fields(out), "") != `["10.0.0.1:4646","10.0.0.2:4646"]` {
		t.Errorf("node config -servers -json: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "node", "config", "-address="+addr, "-update-servers", "10.0.0.3", "10.0.0.4:5000")
	if code != 0 || !strings.Contains(out, "Updated server list") || !f.requested("PUT /v1/agent/servers?address=10.0.0.3%2C10.0.0.4%3A5000") {
		t.Errorf("node config -update-servers: exit %d, stdout %q, stderr %q, requests %v", code, out, errOut, f.requests)
	}
	for _, args := range [][]string{
		{"node", "config", "-address=" + addr},
		{"node", "config", "-address=" + addr, "-servers", "-update-servers", "x"},
		{"node", "config", "-address=" + addr, "-update-servers"},
		{"node", "config", "-address=" + addr, "-servers", "x"},
	} {
		if code, _, errOut := runCLI(t, "", args...); code == 0 || !strings.Contains(errOut, "servers") {
			t.Errorf("%v: exit %d, stderr %q; want a usage error about the servers flags", args, code, errOut)
		}
	}
	f.onStatus("GET", "/v1/agent/servers", 1, http.StatusNotImplemented, "this agent runs no client")
	if code, _, errOut := runCLI(t, "", "node", "config", "-address="+addr, "-servers"); code == 0 || !strings.Contains(errOut, "client agent") {
		t.Errorf("node config -servers on a server-only agent: exit %d, stderr %q; want the hint to ask a client agent", code, errOut)
	}
}
