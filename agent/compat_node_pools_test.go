package agent

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// poolNames are the names of pools, in order.
func poolNames(pools []*nomad.NodePool) []string {
	out := make([]string, len(pools))
	for i, p := range pools {
		out[i] = p.Name
	}
	return out
}

// TestCompatNodePools drives node pools through the official client as
// `nomad node pool list|apply|info|nodes|jobs|delete` does: the built-in
// pools, a pool created by a registering node, one applied by a user, the
// jobs and nodes of each, and the refusals (built-in pools, pools in use,
// jobs in a pool that does not exist).
func TestCompatNodePools(t *testing.T) {
	_, c, nodeID := compatAgent(t, func(cfg *Config) { cfg.Client.NodePool = "edge" })
	pools := c.NodePools()

	list, meta, err := pools.List(nil)
	if err != nil {
		t.Fatalf("NodePools().List: %v", err)
	}
	if got, want := poolNames(list), []string{"all", "default", "edge"}; !slices.Equal(got, want) {
		t.Fatalf("NodePools().List = %v, want %v (the built-in pools and the one the node created)", got, want)
	}
	if meta.LastIndex == 0 {
		t.Errorf("NodePools().List: index 0")
	}
	if list[0].Description != "Node pool with all nodes in the cluster." || list[1].Description != "Default node pool." {
		t.Errorf("built-in descriptions = %q, %q", list[0].Description, list[1].Description)
	}

	gpu := &nomad.NodePool{Name: "gpu", Description: "GPU nodes", Meta: map[string]string{"owner": "ml"},
		SchedulerConfiguration: &nomad.NodePoolSchedulerConfiguration{SchedulerAlgorithm: nomad.SchedulerAlgorithmSpread}}
	if _, err := pools.Register(gpu, nil); err != nil {
		t.Fatalf("NodePools().Register(gpu): %v", err)
	}
	info, _, err := pools.Info("gpu", nil)
	if err != nil || info.Description != "GPU nodes" || info.Meta["owner"] != "ml" || info.CreateIndex == 0 ||
		info.SchedulerConfiguration == nil || info.SchedulerConfiguration.SchedulerAlgorithm != nomad.SchedulerAlgorithmSpread {
		t.Fatalf("NodePools().Info(gpu) = %+v, %v", info, err)
	}
	gpu.Description = "GPU nodes (A100)"
	if _, err := pools.Register(gpu, nil); err != nil {
		t.Fatalf("NodePools().Register(gpu) again: %v", err)
	}
	if again, _, err := pools.Info("gpu", nil); err != nil || again.Description != "GPU nodes (A100)" || again.CreateIndex != info.CreateIndex || again.ModifyIndex <= info.ModifyIndex {
		t.Errorf("updated pool = %+v, %v; want the new description, the same CreateIndex and a later ModifyIndex", again, err)
	}
	if _, _, err := pools.Info("nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Info of an unknown pool: %v, want a 404", err)
	}
	if got, _, err := pools.PrefixList("g", nil); err != nil || !slices.Equal(poolNames(got), []string{"gpu"}) {
		t.Errorf("PrefixList(g) = %v, %v", poolNames(got), err)
	}
	if got, _, err := pools.List(&nomad.QueryOptions{Filter: `Meta.owner == "ml"`}); err != nil || !slices.Equal(poolNames(got), []string{"gpu"}) {
		t.Errorf("List with a filter = %v, %v", poolNames(got), err)
	}
	if got, qm, err := pools.List(&nomad.QueryOptions{PerPage: 2}); err != nil || !slices.Equal(poolNames(got), []string{"all", "default"}) || qm.NextToken != "edge" {
		t.Errorf("List per_page=2 = %v (next %q), %v", poolNames(got), qm.NextToken, err)
	}

	// Refusals: the built-in pools, bad names, unsupported fields.
	for _, p := range []*nomad.NodePool{{Name: "all", Description: "x"}, {Name: "default", Description: "x"}, {Name: "bad name"},
		{Name: "oom", SchedulerConfiguration: &nomad.NodePoolSchedulerConfiguration{MemoryOversubscriptionEnabled: ptr(true)}}} {
		if _, err := pools.Register(p, nil); err == nil || !strings.Contains(err.Error(), "400") {
			t.Errorf("Register(%q) = %v, want a 400", p.Name, err)
		}
	}
	for _, name := range []string{"all", "default"} {
		if _, err := pools.Delete(name, nil); err == nil || !strings.Contains(err.Error(), "built in") {
			t.Errorf("Delete(%q) = %v, want a refusal naming the built-in pool", name, err)
		}
	}

	// Nodes of each pool.
	for pool, want := range map[string][]string{"edge": {nodeID}, "all": {nodeID}, "default": {}, "gpu": {}} {
		nodes, _, err := pools.ListNodes(pool, nil)
		var got []string
		for _, n := range nodes {
			got = append(got, n.ID)
		}
		if err != nil || len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Errorf("ListNodes(%q) = %v, %v; want %v", pool, got, err, want)
		}
	}
	if nodes, _, err := c.Nodes().List(nil); err != nil || nodes[0].NodePool != "edge" {
		t.Errorf("the node's pool: %+v, %v", nodes, err)
	}
	if _, err := pools.Delete("edge", nil); err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), nodeID[:8]) {
		t.Errorf("Delete(edge) with a node in it = %v, want a 409 naming the node", err)
	}

	// Jobs: a pool must exist; the pool's jobs; a pool with a live job stays.
	missing := nomad.NewServiceJob("lost", "lost", "global", 50)
	missing.NodePool = ptr("nowhere")
	missing.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "sleep 300")))
	if _, _, err := c.Jobs().Register(missing, nil); err == nil || !strings.Contains(err.Error(), `nonexistent node pool "nowhere"`) {
		t.Errorf("Register of a job in a missing pool = %v, want a 400 naming the pool", err)
	}
	job := nomad.NewServiceJob("on-gpu", "on-gpu", "global", 50)
	job.NodePool = ptr("gpu")
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "sleep 300")))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Register(on-gpu): %v", err)
	}
	for pool, want := range map[string]int{"gpu": 1, "all": 1, "default": 0} {
		jobs, _, err := pools.ListJobs(pool, nil)
		if err != nil || len(jobs) != want || (want == 1 && jobs[0].ID != "on-gpu") {
			t.Errorf("ListJobs(%q) = %+v, %v; want %d job(s)", pool, jobs, err, want)
		}
	}
	if _, _, err := pools.ListJobs("nope", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("ListJobs of an unknown pool = %v, want a 404", err)
	}
	if _, err := pools.Delete("gpu", nil); err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), `"on-gpu"`) {
		t.Errorf("Delete(gpu) with a live job = %v, want a 409 naming the job", err)
	}
	if _, _, err := c.Jobs().Deregister("on-gpu", true, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := pools.Delete("gpu", nil); err != nil {
		t.Fatalf("Delete(gpu) after the job's purge: %v", err)
	}
	if _, err := pools.Delete("gpu", nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("Delete(gpu) again = %v, want a 404", err)
	}
}

// TestCompatNodePoolsACL checks the node_pool policy rules through the
// official client: read lists and shows only the pools granted, write
// creates, delete deletes (policy "write" grants all three, as Nomad's),
// and a pool's nodes also need node:read.
func TestCompatNodePoolsACL(t *testing.T) {
	a, anon, mgmt := aclDevAgent(t)
	for _, p := range []*nomad.ACLPolicy{
		{Name: "pools-dev", Rules: `node_pool "dev-*" { capabilities = ["read", "write"] }
node_pool "default" { policy = "read" }`},
		{Name: "pools-delete", Rules: `node_pool "dev-*" { capabilities = ["delete"] }`},
	} {
		if _, err := mgmt.ACLPolicies().Upsert(p, nil); err != nil {
			t.Fatalf("upsert policy %s: %v", p.Name, err)
		}
	}
	tok, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: "dev", Type: "client", Policies: []string{"pools-dev"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dev := aclClient(t, a.HTTPAddr(), tok.SecretID)
	if _, err := dev.NodePools().Register(&nomad.NodePool{Name: "dev-a"}, nil); err != nil {
		t.Fatalf("Register(dev-a) with node_pool write: %v", err)
	}
	_, err = dev.NodePools().Register(&nomad.NodePool{Name: "prod"}, nil)
	wantStatus(t, "Register(prod) without a rule on it", err, 403)
	list, _, err := dev.NodePools().List(nil)
	if err != nil || !slices.Equal(poolNames(list), []string{"default", "dev-a"}) {
		t.Errorf("List with the dev token = %v, %v; want default and dev-a", poolNames(list), err)
	}
	_, _, err = dev.NodePools().Info("all", nil)
	wantStatus(t, "Info(all) without read on it", err, 403)
	_, _, err = dev.NodePools().ListNodes("default", nil)
	wantStatus(t, "ListNodes(default) without node:read", err, 403)
	_, err = dev.NodePools().Delete("dev-a", nil)
	wantStatus(t, "Delete(dev-a) with write but not delete", err, 403)
	_, _, err = anon.NodePools().List(nil)
	if err != nil {
		t.Errorf("anonymous List: %v (want an empty list)", err)
	}
	del, _, err := mgmt.ACLTokens().Create(&nomad.ACLToken{Name: "del", Type: "client", Policies: []string{"pools-delete"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := aclClient(t, a.HTTPAddr(), del.SecretID).NodePools().Delete("dev-a", nil); err != nil {
		t.Errorf("Delete(dev-a) with the delete capability: %v", err)
	}
}

// TestCompatNodePoolEvents: the event stream's NodePool topic, read with
// the official client, carries a pool written and a pool deleted.
func TestCompatNodePoolEvents(t *testing.T) {
	_, c, _ := compatAgent(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := c.EventStream().Stream(ctx, map[nomad.Topic][]string{nomad.TopicNodePool: {"*"}}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NodePools().Register(&nomad.NodePool{Name: "evented", Description: "d"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.NodePools().Delete("evented", nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) < 2 {
		select {
		case <-ctx.Done():
			t.Fatalf("events so far %v; want the upsert and the delete", got)
		case evs := <-stream:
			if evs.Err != nil {
				t.Fatal(evs.Err)
			}
			for _, e := range evs.Events {
				p, err := e.NodePool()
				if err != nil || p == nil || p.Name != "evented" {
					t.Fatalf("event %+v: pool %+v, %v", e, p, err)
				}
				got = append(got, e.Type)
			}
		}
	}
	if want := []string{"NodePoolUpserted", "NodePoolDeleted"}; !slices.Equal(got, want) {
		t.Errorf("event types %v, want %v", got, want)
	}
}
