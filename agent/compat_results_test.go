package agent

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// compatAgent starts a dev agent (edit, if not nil, changes its config) and
// returns it with an official client and the ID of its ready node.
func compatAgent(t *testing.T, edit func(*Config)) (*Agent, *nomad.Client, string) {
	t.Helper()
	a := startDevAgentWith(t, edit)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	var nodeID string
	waitFor(t, "the dev node to be ready", 30*time.Second, func() (bool, string) {
		nodes, _, err := c.Nodes().List(nil)
		if err != nil {
			return false, err.Error()
		}
		if len(nodes) == 1 && nodes[0].Status == "ready" {
			nodeID = nodes[0].ID
			return true, ""
		}
		return false, fmt.Sprintf("%d nodes", len(nodes))
	})
	return a, c, nodeID
}

// shTask is a raw_exec task running script with /bin/sh.
func shTask(name, script string) *nomad.Task {
	return nomad.NewTask(name, "raw_exec").SetConfig("command", "/bin/sh").SetConfig("args", []string{"-c", script})
}

// waitAllocs waits until job has allocations for which ok holds for at
// least n of them, and returns them all.
func waitAllocs(t *testing.T, c *nomad.Client, job string, n int, ok func(*nomad.AllocationListStub) bool) []*nomad.AllocationListStub {
	t.Helper()
	var out []*nomad.AllocationListStub
	waitFor(t, fmt.Sprintf("%d allocations of %s", n, job), 30*time.Second, func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations(job, true, nil)
		if err != nil {
			return false, err.Error()
		}
		got := 0
		var states []string
		for _, s := range stubs {
			states = append(states, s.ClientStatus)
			if ok(s) {
				got++
			}
		}
		out = stubs
		return got >= n, strings.Join(states, ",")
	})
	return out
}

// TestCompatWrongResults covers the "wrong results users hit first" of
// issue 14 through the official client, with the requests the stock CLI
// sends (nulls where the CLI leaves fields unset).
func TestCompatWrongResults(t *testing.T) {
	// advertise { rpc = "127.0.0.1" } without a port: the port comes from ports {}.
	a, c, nodeID := compatAgent(t, func(cfg *Config) { cfg.Advertise.RPC = "127.0.0.1" })
	base := "http://" + a.HTTPAddr()

	t.Run("leader is the RPC address", func(t *testing.T) {
		leader, err := c.Status().Leader()
		if want := fmt.Sprintf("127.0.0.1:%d", DefaultRPCPort); err != nil || leader != want {
			t.Errorf("Status().Leader() = %q, %v; want %q", leader, err, want)
		}
	})

	t.Run("periodic Enabled null means enabled", func(t *testing.T) {
		job := nomad.NewBatchJob("cronnull", "cronnull", "global", 50)
		job.Periodic = &nomad.PeriodicConfig{Spec: new("0 0 1 1 *")} // Enabled: null, as the CLI sends
		job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "true")))
		if _, _, err := c.Jobs().Register(job, nil); err != nil {
			t.Fatalf("Register: %v", err)
		}
		got, _, err := c.Jobs().Info("cronnull", nil)
		if err != nil || got.Periodic == nil || got.Periodic.Enabled == nil || !*got.Periodic.Enabled {
			t.Fatalf("Info: periodic %+v, %v; want Enabled true", got.Periodic, err)
		}
		list, _, err := c.Jobs().PrefixList("cronnull")
		if err != nil || len(list) != 1 || !list[0].Periodic {
			t.Errorf("List stub: %+v, %v; want Periodic true", list, err)
		}
	})

	t.Run("service defaults: update strategy, deployment on the eval", func(t *testing.T) {
		job := nomad.NewServiceJob("svc", "svc", "global", 50)
		tg := nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "sleep 300"))
		tg.Update = &nomad.UpdateStrategy{MaxParallel: new(2)} // partial block
		job.AddTaskGroup(tg)
		job.AddTaskGroup(nomad.NewTaskGroup("plain", 1).AddTask(shTask("t", "sleep 300")))
		reg, _, err := c.Jobs().Register(job, nil)
		if err != nil {
			t.Fatalf("Register: %v", err)
		}
		got, _, err := c.Jobs().Info("svc", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range got.TaskGroups {
			u := g.Update
			if u == nil || *u.MinHealthyTime != 10*time.Second || *u.ProgressDeadline != 10*time.Minute || *u.HealthyDeadline != 5*time.Minute {
				t.Errorf("group %s update %+v, want Nomad's defaults (10s, 5m, 10m)", *g.Name, u)
			}
		}
		if mp := *got.TaskGroups[0].Update.MaxParallel; mp != 2 {
			t.Errorf("group g max_parallel %d, want 2", mp)
		}
		if mp := *got.TaskGroups[1].Update.MaxParallel; mp != 1 {
			t.Errorf("group plain max_parallel %d, want the default 1", mp)
		}
		waitFor(t, "the registration eval to complete", 30*time.Second, func() (bool, string) {
			ev, _, err := c.Evaluations().Info(reg.EvalID, nil)
			if err != nil {
				return false, err.Error()
			}
			return ev.Status == "complete" && ev.DeploymentID != "", fmt.Sprintf("status %s deployment %q", ev.Status, ev.DeploymentID)
		})
	})

	t.Run("legacy resources in node allocations", func(t *testing.T) {
		waitAllocs(t, c, "svc", 2, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "running" })
		allocs, _, err := c.Nodes().Allocations(nodeID, nil)
		if err != nil || len(allocs) == 0 {
			t.Fatalf("Nodes().Allocations: %d, %v", len(allocs), err)
		}
		for _, al := range allocs {
			if al.Resources == nil || al.Resources.CPU == nil || *al.Resources.CPU == 0 || al.TaskResources["t"] == nil || *al.TaskResources["t"].MemoryMB == 0 {
				t.Errorf("alloc %s: Resources %+v TaskResources %+v, want them filled", al.ID, al.Resources, al.TaskResources)
			}
		}
	})

	t.Run("alloc stop links the replacement", func(t *testing.T) {
		stubs := waitAllocs(t, c, "svc", 2, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "running" })
		var victim *nomad.Allocation
		for _, s := range stubs {
			if s.TaskGroup == "plain" && s.ClientStatus == "running" {
				victim, _, _ = c.Allocations().Info(s.ID, nil)
			}
		}
		if victim == nil {
			t.Fatal("no running allocation of group plain")
		}
		if _, err := c.Allocations().Stop(victim, nil); err != nil {
			t.Fatalf("Allocations().Stop: %v", err)
		}
		waitFor(t, "the stopped allocation to name its replacement", 30*time.Second, func() (bool, string) {
			a, _, err := c.Allocations().Info(victim.ID, nil)
			if err != nil {
				return false, err.Error()
			}
			if a.NextAllocation == "" {
				return false, "no NextAllocation"
			}
			next, _, err := c.Allocations().Info(a.NextAllocation, nil)
			if err != nil {
				return false, err.Error()
			}
			return next.PreviousAllocation == victim.ID, "replacement's PreviousAllocation " + next.PreviousAllocation
		})
	})

	t.Run("unknown IDs answer empty lists", func(t *testing.T) {
		if allocs, _, err := c.Nodes().Allocations("00000000-0000-0000-0000-000000000000", nil); err != nil || len(allocs) != 0 {
			t.Errorf("Nodes().Allocations(unknown) = %d, %v; want [] and no error", len(allocs), err)
		}
		if evals, _, err := c.Jobs().Evaluations("nope", nil); err != nil || len(evals) != 0 {
			t.Errorf("Jobs().Evaluations(unknown) = %d, %v; want [] and no error", len(evals), err)
		}
		if _, _, err := c.Jobs().Deregister("nope", false, nil); err != nil {
			t.Errorf("Jobs().Deregister(unknown) = %v, want no error", err)
		}
	})

	t.Run("job IDs with slash and colon, raw slash in the path", func(t *testing.T) {
		job := nomad.NewBatchJob("team/app:v1", "x", "global", 50)
		job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "true")))
		if _, _, err := c.Jobs().Register(job, nil); err != nil {
			t.Fatalf("Register %q: %v", *job.ID, err)
		}
		if got, _, err := c.Jobs().Info("team/app:v1", nil); err != nil || *got.ID != "team/app:v1" {
			t.Fatalf("Info: %v", err)
		}
		for _, p := range []string{"/v1/job/team/app:v1", "/v1/job/team/app:v1/allocations", "/v1/job/team/app:v1/summary"} {
			resp, err := http.Get(base + p)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("GET %s = %d %s", p, resp.StatusCode, body)
			}
		}
	})

	t.Run("missing driver is a warning", func(t *testing.T) {
		job := nomad.NewServiceJob("pod", "pod", "global", 50)
		job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "podman").SetConfig("image", "redis")))
		val, _, err := c.Jobs().Validate(job, nil)
		if err != nil || !val.DriverConfigValidated || len(val.ValidationErrors) != 0 || !strings.Contains(val.Warnings, `"podman"`) {
			t.Errorf("Validate = %+v, %v; want valid, DriverConfigValidated, a podman warning", val, err)
		}
		reg, _, err := c.Jobs().Register(job, nil)
		if err != nil || !strings.Contains(reg.Warnings, `driver "podman" is not available`) {
			t.Fatalf("Register = %+v, %v; want accepted with a warning", reg, err)
		}
	})

	t.Run("purge then run places again", func(t *testing.T) {
		job := nomad.NewBatchJob("again", "again", "global", 50)
		job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(shTask("t", "true")))
		if _, _, err := c.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		waitAllocs(t, c, "again", 1, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "complete" })
		if _, _, err := c.Jobs().Deregister("again", true, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.Jobs().Register(job, nil); err != nil {
			t.Fatal(err)
		}
		waitAllocs(t, c, "again", 2, func(s *nomad.AllocationListStub) bool { return s.ClientStatus == "complete" })
	})
}
