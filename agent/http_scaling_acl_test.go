package agent

import (
	"net/http"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestScalingPolicyInfoHidesOtherNamespaces (attack): a token that may
// read policies in one namespace asks for the ID of a policy in another.
// It gets the 404 of a missing ID, not a 403 that would tell the ID
// exists there; a token that may read policies nowhere gets a 403 for
// both; a token of the policy's namespace reads it.
func TestScalingPolicyInfoHidesOtherNamespaces(t *testing.T) {
	a, anon, mgmt := aclDevAgent(t)
	if _, err := mgmt.Namespaces().Register(&nomad.Namespace{Name: "web"}, nil); err != nil {
		t.Fatal(err)
	}
	job := nomad.NewServiceJob("scaled", "scaled", "global", 50)
	job.Namespace = ptr("web")
	g := nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/sleep").SetConfig("args", []string{"300"}))
	g.Scaling = &nomad.ScalingPolicy{Min: ptr(int64(1)), Max: ptr(int64(3))}
	job.AddTaskGroup(g)
	if _, _, err := mgmt.Jobs().Register(job, nil); err != nil {
		t.Fatal(err)
	}
	stubs, _, err := mgmt.Scaling().ListPolicies(&nomad.QueryOptions{Namespace: "web"})
	if err != nil || len(stubs) != 1 {
		t.Fatalf("ListPolicies(web): %v %v", stubs, err)
	}
	id := stubs[0].ID
	token := func(name, rules string) *nomad.Client {
		if _, err := mgmt.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: name, Rules: rules}, nil); err != nil {
			t.Fatal(err)
		}
		tok, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: name, Type: "client", Policies: []string{name}, ExpirationTTL: time.Hour}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return aclClient(t, a.HTTPAddr(), tok.SecretID)
	}
	dflt := token("default-reader", `namespace "default" { policy = "read" }`)
	web := token("web-reader", `namespace "web" { policy = "read" }`)

	_, _, err = dflt.Scaling().GetPolicy(id, nil)
	wantStatus(t, "a policy of another namespace", err, http.StatusNotFound)
	_, _, err = dflt.Scaling().GetPolicy("no-such-policy", nil)
	wantStatus(t, "a missing policy", err, http.StatusNotFound)
	for what, id := range map[string]string{"anonymous, existing ID": id, "anonymous, missing ID": "no-such-policy"} {
		_, _, err = anon.Scaling().GetPolicy(id, nil)
		wantStatus(t, what, err, http.StatusForbidden)
	}
	if p, _, err := web.Scaling().GetPolicy(id, &nomad.QueryOptions{Namespace: "web"}); err != nil || p.ID != id {
		t.Fatalf("the policy's namespace token: %+v, %v", p, err)
	}
	if p, _, err := mgmt.Scaling().GetPolicy(id, nil); err != nil || p.ID != id {
		t.Fatalf("management token: %+v, %v", p, err)
	}
}
