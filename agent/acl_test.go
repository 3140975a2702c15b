package agent

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/mux"
	nomad "github.com/hashicorp/nomad/api"
)

// TestEveryRouteHasARule walks the route table: every route and method
// must have an entry in routeRules (a missing one is refused with ACLs on).
func TestEveryRouteHasARule(t *testing.T) {
	s := NewHTTPServer(HTTPConfig{Server: newFakeServer(t)})
	seen := map[string]bool{}
	err := s.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tmpl, err := route.GetPathTemplate()
		if err != nil {
			return nil // PathPrefix("/ui/") and similar
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil
		}
		for _, m := range methods {
			key := routeKey(m, tmpl)
			seen[key] = true
			if _, ok := routeRules[key]; !ok {
				t.Errorf("route %s has no ACL rule in routeRules", key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key := range routeRules {
		if !seen[key] && key != "GET /ui/" {
			t.Errorf("routeRules has %s, which is no route (remove it)", key)
		}
	}
}

func aclClient(t *testing.T, addr, token string) *nomad.Client {
	t.Helper()
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + addr, SecretID: token})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// aclDevAgent starts a dev agent with ACLs enabled and bootstraps them; it
// returns the agent with an anonymous and a management official client.
func aclDevAgent(t *testing.T) (a *Agent, anon, mgmt *nomad.Client) {
	t.Helper()
	a = startDevAgentWith(t, func(c *Config) { c.ACL.Enabled = true })
	anon = aclClient(t, a.HTTPAddr(), "")
	boot, _, err := anon.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("ACLTokens().Bootstrap: %v", err)
	}
	return a, anon, aclClient(t, a.HTTPAddr(), boot.SecretID)
}

func wantStatus(t *testing.T, what string, err error, code int) {
	t.Helper()
	var ue nomad.UnexpectedResponseError
	if err == nil || !errors.As(err, &ue) || ue.StatusCode() != code {
		t.Fatalf("%s: got error %v, want HTTP %d", what, err, code)
	}
}

// TestCompatACLOfficialClient bootstraps ACLs, applies a policy limited to
// one namespace, creates a token with it and registers a job with the
// official client; the token is refused elsewhere, anonymous everywhere.
func TestCompatACLOfficialClient(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) { c.ACL.Enabled = true })
	anon := aclClient(t, a.HTTPAddr(), "")

	boot, _, err := anon.ACLTokens().Bootstrap(nil)
	if err != nil {
		t.Fatalf("ACLTokens().Bootstrap: %v", err)
	}
	if boot.SecretID == "" || boot.AccessorID == "" || boot.Type != "management" {
		t.Fatalf("bootstrap token = %+v, want a management token with a secret", boot)
	}
	_, _, err = anon.ACLTokens().Bootstrap(nil)
	if err == nil || !strings.Contains(err.Error(), "ACL bootstrap already done (reset index: ") {
		t.Fatalf("second bootstrap: got %v, want the reset-index refusal", err)
	}
	mgmt := aclClient(t, a.HTTPAddr(), boot.SecretID)

	// The dev agent's own client registered with the in-process key.
	waitFor(t, "the dev node to register", 30*time.Second, func() (bool, string) {
		nodes, _, err := mgmt.Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		return len(nodes) == 1 && nodes[0].Status == "ready", "no ready node"
	})

	if _, err := mgmt.Namespaces().Register(&nomad.Namespace{Name: "web", Description: "web team"}, nil); err != nil {
		t.Fatalf("Namespaces().Register: %v", err)
	}
	_, err = mgmt.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "web-dev", Description: "submit in web", Rules: `namespace "web" {
  policy = "write"
}`}, nil)
	if err != nil {
		t.Fatalf("ACLPolicies().Upsert: %v", err)
	}
	_, err = mgmt.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "broken", Rules: `namespace "web" { policy = "root" }`}, nil)
	wantStatus(t, "upsert of an invalid policy", err, http.StatusBadRequest)

	tok, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: "dev", Type: "client", Policies: []string{"web-dev"}, ExpirationTTL: time.Hour}, nil)
	if err != nil {
		t.Fatalf("ACLTokens().Create: %v", err)
	}
	if tok.SecretID == "" || tok.ExpirationTime == nil {
		t.Fatalf("created token = %+v, want a secret and an expiry", tok)
	}
	info, _, err := mgmt.ACLTokens().Info(tok.AccessorID, nil)
	if err != nil || info.SecretID != "" || info.Name != "dev" {
		t.Fatalf("ACLTokens().Info = %+v, %v; want the token without its secret", info, err)
	}
	dev := aclClient(t, a.HTTPAddr(), tok.SecretID)
	self, _, err := dev.ACLTokens().Self(nil)
	if err != nil || self.AccessorID != tok.AccessorID {
		t.Fatalf("ACLTokens().Self = %+v, %v", self, err)
	}

	job := nomad.NewBatchJob("acl-job", "acl-job", "global", 50)
	job.Namespace = ptr("web")
	job.Datacenters = []string{"dc1"}
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sh").SetConfig("args", []string{"-c", "echo ok"})))
	if _, _, err := dev.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register with the namespace token: %v", err)
	}
	if _, _, err := dev.Jobs().Info("acl-job", &nomad.QueryOptions{Namespace: "web"}); err != nil {
		t.Fatalf("Jobs().Info in web: %v", err)
	}

	other := nomad.NewBatchJob("other", "other", "global", 50)
	other.Datacenters = []string{"dc1"}
	other.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
	_, _, err = dev.Jobs().Register(other, nil)
	wantStatus(t, "register in the default namespace with the web token", err, http.StatusForbidden)
	_, _, err = dev.Jobs().List(nil)
	wantStatus(t, "list the default namespace with the web token", err, http.StatusForbidden)
	_, _, err = dev.Nodes().List(nil)
	wantStatus(t, "list nodes with the web token", err, http.StatusForbidden)
	_, _, err = anon.Jobs().List(&nomad.QueryOptions{Namespace: "web"})
	wantStatus(t, "anonymous job list", err, http.StatusForbidden)

	all, _, err := dev.Jobs().List(&nomad.QueryOptions{Namespace: "*"})
	if err != nil || len(all) != 1 || all[0].ID != "acl-job" {
		t.Fatalf("Jobs().List(*) with the web token = %v, %v; want only acl-job", all, err)
	}
	nss, _, err := dev.Namespaces().List(nil)
	if err != nil || len(nss) != 1 || nss[0].Name != "web" {
		t.Fatalf("Namespaces().List with the web token = %v, %v; want only web", nss, err)
	}

	// A job in a namespace that does not exist is refused by name.
	ghost := nomad.NewBatchJob("ghost", "ghost", "global", 50)
	ghost.Namespace = ptr("nowhere")
	ghost.Datacenters = []string{"dc1"}
	ghost.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
	_, _, err = mgmt.Jobs().Register(ghost, nil)
	if err == nil || !strings.Contains(err.Error(), `namespace "nowhere" does not exist`) {
		t.Fatalf("register in an unknown namespace: got %v", err)
	}
	// A namespace with jobs cannot be deleted; default never.
	if _, err := mgmt.Namespaces().Delete("web", nil); err == nil || !strings.Contains(err.Error(), "still has 1 job") {
		t.Fatalf("delete namespace with a job: got %v", err)
	}
	if _, err := mgmt.Namespaces().Delete("default", nil); err == nil || !strings.Contains(err.Error(), "cannot be deleted") {
		t.Fatalf("delete default namespace: got %v", err)
	}

	// The anonymous policy opens what it says, nothing more.
	if _, err := mgmt.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "anonymous", Rules: `namespace "web" { policy = "read" }`}, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon.Jobs().List(&nomad.QueryOptions{Namespace: "web"}); err != nil {
		t.Fatalf("anonymous list in web with the anonymous policy: %v", err)
	}
	_, _, err = anon.Jobs().Register(other, nil)
	wantStatus(t, "anonymous register", err, http.StatusForbidden)

	// Roles: a token linked to a role gets the role's policies.
	role, _, err := mgmt.ACLRoles().Create(&nomad.ACLRole{Name: "ops", Policies: []*nomad.ACLRolePolicyLink{{Name: "web-dev"}}}, nil)
	if err != nil {
		t.Fatalf("ACLRoles().Create: %v", err)
	}
	rtok, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: "by-role", Type: "client", Roles: []*nomad.ACLTokenRoleLink{{Name: "ops"}}}, nil)
	if err != nil || len(rtok.Roles) != 1 || rtok.Roles[0].ID != role.ID {
		t.Fatalf("token with a role: %+v, %v", rtok, err)
	}
	if _, _, err := aclClient(t, a.HTTPAddr(), rtok.SecretID).Jobs().Info("acl-job", &nomad.QueryOptions{Namespace: "web"}); err != nil {
		t.Fatalf("read with a role's policy: %v", err)
	}

	// Deleting the token revokes it at once.
	if _, err := mgmt.ACLTokens().Delete(tok.AccessorID, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = dev.Jobs().Info("acl-job", &nomad.QueryOptions{Namespace: "web"})
	wantStatus(t, "read with a deleted token", err, http.StatusForbidden)
}

func ptr[T any](v T) *T { return &v }
