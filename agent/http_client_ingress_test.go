package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fakeIngressClient is a local client whose ingress has a fixed table.
type fakeIngressClient struct{ rt *structs.IngressRoutes }

func (f *fakeIngressClient) NodeID() string { return "node-1" }
func (f *fakeIngressClient) StreamLogs(context.Context, string, string, string, string, int64, bool, func(*api.StreamFrame) error) error {
	return errors.New("no logs here")
}
func (f *fakeIngressClient) IngressRoutes() *structs.IngressRoutes { return f.rt }

// tokenACLs authenticates a token by looking up its ACL (DenyAll if unknown).
type tokenACLs map[string]*acl.ACL

func (m tokenACLs) Authenticate(r *http.Request) (*Identity, error) {
	a := m[RequestToken(r)]
	if a == nil {
		a = acl.DenyAll
	}
	return &Identity{Token: RequestToken(r), ACL: a}, nil
}

func compileACL(t *testing.T, rules string) *acl.ACL {
	t.Helper()
	p, err := acl.Parse("p", rules)
	if err != nil {
		t.Fatal(err)
	}
	return acl.Compile([]*acl.Policy{p})
}

// TestClientIngressRoutes: the node's route table with node:read, only the
// instances of namespaces the token reads (a route of only hidden
// instances is left out), 403 without node:read, 404 for another node
// unknown to the servers.
func TestClientIngressRoutes(t *testing.T) {
	table := &structs.IngressRoutes{NodeID: "node-1", Enabled: true, HTTPAddr: "127.0.0.1:9999", Balance: "round_robin",
		Routes: []*structs.IngressRouteStatus{
			{Route: "/app", IngressRoute: structs.IngressRoute{Path: "/app", Strip: "/app"}, Services: []string{"secret-web", "web"},
				Instances: []*structs.IngressInstanceStatus{
					{AllocID: "a1", Namespace: "default", ServiceName: "web", Address: "10.0.0.1:8080", State: structs.IngressHealthy, Requests: 7, InFlight: 1},
					{AllocID: "a2", Namespace: "secret", ServiceName: "secret-web", Address: "10.0.0.2:8080", State: structs.IngressDraining}}},
			{Route: ":7000", IngressRoute: structs.IngressRoute{TCPPort: 7000}, Services: []string{"db"},
				Instances: []*structs.IngressInstanceStatus{{AllocID: "a3", Namespace: "secret", ServiceName: "db", Address: "10.0.0.3:5432", State: structs.IngressFailing}}},
		}}
	fake := newFakeServer(t)
	auth := tokenACLs{
		"default-reader": compileACL(t, `node { policy = "read" }
namespace "default" { policy = "read" }`),
		"node-only": compileACL(t, `node { policy = "read" }`),
		"ns-only":   compileACL(t, `namespace "*" { policy = "read" }`),
		"all-readers": compileACL(t, `node { policy = "read" }
namespace "*" { policy = "read" }`),
	}
	ts := testAPI(t, fake, func(c *HTTPConfig) {
		c.Client = &fakeIngressClient{rt: table}
		c.Auth = auth
		c.Agent.ACL.Enabled = true
	})
	read := func(token string) (int, *structs.IngressRoutes, string) {
		t.Helper()
		code, _, body := do(t, "GET", ts.URL+"/v1/client/ingress/routes", "", "X-Nomad-Token", token)
		var got structs.IngressRoutes
		if code == 200 {
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatalf("decode %s: %v", body, err)
			}
		}
		return code, &got, body
	}

	code, got, body := read("all-readers")
	if code != 200 || got.NodeID != "node-1" || !got.Enabled || len(got.Routes) != 2 || len(got.Routes[0].Instances) != 2 ||
		got.Routes[0].Instances[0].Requests != 7 || got.Routes[1].TCPPort != 7000 || got.Routes[1].Instances[0].State != "failing" {
		t.Fatalf("all namespaces: %d %s", code, body)
	}
	code, got, body = read("default-reader")
	if code != 200 || len(got.Routes) != 1 || len(got.Routes[0].Instances) != 1 || got.Routes[0].Instances[0].AllocID != "a1" ||
		strings.Join(got.Routes[0].Services, ",") != "web" {
		t.Fatalf("default namespace only: %d %s", code, body)
	}
	if strings.Contains(body, "secret") || strings.Contains(body, "10.0.0.2") {
		t.Fatalf("instances of a namespace the token cannot read leaked: %s", body)
	}
	if code, got, body = read("node-only"); code != 200 || len(got.Routes) != 0 {
		t.Fatalf("node:read without namespaces: %d %s", code, body)
	}
	for _, tok := range []string{"ns-only", ""} {
		if code, _, body := read(tok); code != 403 {
			t.Fatalf("token %q without node:read: %d %s", tok, code, body)
		}
	}
	if code, _, body := do(t, "GET", ts.URL+"/v1/client/ingress/routes?node_id=n9", "", "X-Nomad-Token", "all-readers"); code != 404 || !strings.Contains(body, `node "n9" not found`) {
		t.Fatalf("unknown node: %d %s", code, body)
	}
	if len(table.Routes[0].Instances) != 2 {
		t.Fatal("the handler changed the client's table")
	}
}
