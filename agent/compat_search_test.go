package agent

import (
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
