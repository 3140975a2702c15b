package agent

import (
	"net/http"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
)

func TestNormalizeServerAddr(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "10.0.0.1:4646", want: "10.0.0.1:4646"},
		{in: "10.0.0.1", want: "10.0.0.1:4646"},
		{in: "server1", want: "server1:4646"},
		{in: "http://10.0.0.1:80/", want: "http://10.0.0.1:80"},
		{in: "https://s.example", want: "https://s.example:4646"},
		{in: "[::1]:5000", want: "[::1]:5000"},
		{in: "[::1]", want: "[::1]:4646"},
		{in: "::1", err: "in brackets"},
		{in: "10.0.0.1:http", err: "port must be a number"},
		{in: "10.0.0.1:0", err: "port must be a number"},
		{in: "ftp://x:1", err: "scheme must be http or https"},
		{in: "a/b:1", err: "want host:port"},
	} {
		got, err := normalizeServerAddr(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("normalizeServerAddr(%q) = %q, %v; want an error containing %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("normalizeServerAddr(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestAgentServersOfficialClient lists and replaces a client's servers with
// HashiCorp's Go client (Agent().Servers and SetServers).
func TestAgentServersOfficialClient(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.Agent().Servers()
	if err != nil || len(got) == 0 || got[0] != a.HTTPAddr() {
		t.Fatalf("Agent().Servers() = %v, %v; want the dev agent %s first", got, err, a.HTTPAddr())
	}
	want := []string{a.HTTPAddr(), "10.213.255.1:4646"}
	if err := c.Agent().SetServers([]string{a.HTTPAddr(), "10.213.255.1"}); err != nil {
		t.Fatalf("Agent().SetServers: %v", err)
	}
	got, err = c.Agent().Servers()
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("after SetServers, Agent().Servers() = %v, %v; want %v", got, err, want)
	}
	err = c.Agent().SetServers([]string{"10.0.0.1:notaport"})
	if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "10.0.0.1:notaport") {
		t.Fatalf("SetServers with a bad port: got %v, want a 400 naming the address", err)
	}
	req, err := http.NewRequest(http.MethodPut, "http://"+a.HTTPAddr()+"/v1/agent/servers", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("PUT /v1/agent/servers without an address: status %d, want 400", resp.StatusCode)
	}
}
