package agent

import (
	"net/http"
	"strings"
	"testing"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/api/contexts"
)

// TestCompatSearch runs the prefix and fuzzy searches of `nomad status
// <prefix>` and `nomad ui <id>` through the official client.
func TestCompatSearch(t *testing.T) {
	_, c, nodeID := compatAgent(t, nil)
	job := nomad.NewBatchJob("search-web", "search-web", "global", 50)
	job.AddTaskGroup(nomad.NewTaskGroup("frontend", 1).AddTask(shTask("webtask", "true")))
	reg, _, err := c.Jobs().Register(job, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("prefix all", func(t *testing.T) {
		resp, meta, err := c.Search().PrefixSearch("search-", contexts.All, nil)
		if err != nil {
			t.Fatalf("PrefixSearch: %v", err)
		}
		if got := resp.Matches[contexts.Jobs]; len(got) != 1 || got[0] != "search-web" {
			t.Errorf("jobs matches %v, want [search-web]", got)
		}
		if _, ok := resp.Matches[contexts.Allocs]; !ok || meta.LastIndex == 0 {
			t.Errorf("all context lacks allocs or an index: %+v %d", resp.Matches, meta.LastIndex)
		}
	})
	t.Run("prefix of UUIDs", func(t *testing.T) {
		resp, _, err := c.Search().PrefixSearch(reg.EvalID[:4], contexts.Evals, nil)
		if err != nil || len(resp.Matches[contexts.Evals]) == 0 || resp.Matches[contexts.Evals][0] != reg.EvalID && !strings.HasPrefix(resp.Matches[contexts.Evals][0], reg.EvalID[:4]) {
			t.Errorf("evals: %+v, %v", resp, err)
		}
		resp, _, err = c.Search().PrefixSearch(nodeID[:6], contexts.Nodes, nil)
		if err != nil || len(resp.Matches[contexts.Nodes]) != 1 || resp.Matches[contexts.Nodes][0] != nodeID {
			t.Errorf("nodes: %+v, %v", resp, err)
		}
	})
	t.Run("fuzzy", func(t *testing.T) {
		resp, _, err := c.Search().FuzzySearch("WEB", contexts.All, nil)
		if err != nil {
			t.Fatalf("FuzzySearch: %v", err)
		}
		jobs, tasks := resp.Matches[contexts.Jobs], resp.Matches[contexts.Tasks]
		if len(jobs) != 1 || jobs[0].ID != "search-web" || len(jobs[0].Scope) != 2 || jobs[0].Scope[0] != "default" {
			t.Errorf("fuzzy jobs %+v", jobs)
		}
		if len(tasks) != 1 || tasks[0].ID != "webtask" || strings.Join(tasks[0].Scope, "/") != "default/search-web/frontend" {
			t.Errorf("fuzzy tasks %+v", tasks)
		}
		if _, _, err := c.Search().FuzzySearch("w", contexts.All, nil); err == nil || !strings.Contains(err.Error(), "at least 2 characters") {
			t.Errorf("one-character fuzzy search: %v, want a 400", err)
		}
		if _, _, err := c.Search().FuzzySearch("abc", contexts.Allocs, nil); err == nil || !strings.Contains(err.Error(), "400") {
			t.Errorf("fuzzy search of allocs: %v, want a 400", err)
		}
	})
}

// TestSearchACL: with ACLs on, a search shows only what the token may read
// (jobs of namespaces with read-job, nodes with node:read), and is refused
// only when the token may read none of the contexts asked.
func TestSearchACL(t *testing.T) {
	a, anon, mgmt := aclDevAgent(t)
	if _, err := mgmt.Namespaces().Register(&nomad.Namespace{Name: "web"}, nil); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"web", "default"} {
		job := nomad.NewBatchJob("find-"+ns, "find-"+ns, "global", 50)
		job.Namespace = ptr(ns)
		job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "true")))
		if _, _, err := mgmt.Jobs().Register(job, nil); err != nil {
			t.Fatalf("register in %s: %v", ns, err)
		}
	}
	if _, err := mgmt.ACLPolicies().Upsert(&nomad.ACLPolicy{Name: "web-read", Rules: `namespace "web" { policy = "read" }`}, nil); err != nil {
		t.Fatal(err)
	}
	tok, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: "web", Type: "client", Policies: []string{"web-read"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	web := aclClient(t, a.HTTPAddr(), tok.SecretID)
	jobsOf := func(c *nomad.Client, ns string) ([]string, []string) {
		t.Helper()
		q := &nomad.QueryOptions{Namespace: ns}
		p, _, err := c.Search().PrefixSearch("find-", contexts.All, q)
		if err != nil {
			t.Fatalf("PrefixSearch in %q: %v", ns, err)
		}
		f, _, err := c.Search().FuzzySearch("find", contexts.All, q)
		if err != nil {
			t.Fatalf("FuzzySearch in %q: %v", ns, err)
		}
		var fuzzy []string
		for _, m := range f.Matches[contexts.Jobs] {
			fuzzy = append(fuzzy, m.ID)
		}
		return p.Matches[contexts.Jobs], fuzzy
	}
	want := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: jobs %v, want %v", what, got, want)
		}
	}

	p, f := jobsOf(web, "web")
	want("web token, prefix, web", p, "find-web")
	want("web token, fuzzy, web", f, "find-web")
	p, f = jobsOf(web, "*")
	want("web token, prefix, *", p, "find-web")
	want("web token, fuzzy, *", f, "find-web")
	p, f = jobsOf(mgmt, "*")
	want("management, prefix, *", p, "find-default", "find-web")
	want("management, fuzzy, *", f, "find-default", "find-web")
	resp, _, err := web.Search().PrefixSearch("", contexts.Nodes, &nomad.QueryOptions{Namespace: "web"})
	wantStatus(t, "web token searching nodes", err, http.StatusForbidden)
	if resp != nil {
		t.Errorf("nodes answered %+v", resp)
	}
	_, _, err = web.Search().PrefixSearch("find-", contexts.Jobs, nil)
	wantStatus(t, "web token searching the default namespace", err, http.StatusForbidden)
	_, _, err = anon.Search().PrefixSearch("find-", contexts.All, &nomad.QueryOptions{Namespace: "*"})
	wantStatus(t, "anonymous prefix search", err, http.StatusForbidden)
	_, _, err = anon.Search().FuzzySearch("find", contexts.All, &nomad.QueryOptions{Namespace: "*"})
	wantStatus(t, "anonymous fuzzy search", err, http.StatusForbidden)
}
