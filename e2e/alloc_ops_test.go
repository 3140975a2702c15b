package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestAllocOps drives a running raw_exec allocation with the official Go
// client and the CLI: resource usage (alloc and host), exec, signal,
// restart and stop, and the 400s for a wrong task or signal.
func TestAllocOps(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	c, err := nomad.NewClient(&nomad.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}
	job := nomad.NewServiceJob("ops", "ops", "global", 50)
	job.Datacenters = []string{"*"}
	task := nomad.NewTask("web", "raw_exec").
		SetConfig("command", "/bin/sh").
		SetConfig("args", []string{"-c", "trap 'echo got-hup' HUP; echo started; while true; do sleep 0.1; done"}).
		Require(&nomad.Resources{CPU: new(100), MemoryMB: new(64)})
	task.Env = map[string]string{"E2E_RUN": runToken, "OPS_VAR": "from-task-env"}
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task))
	if _, _, err := c.Jobs().Register(job, nil); err != nil {
		t.Fatalf("Jobs().Register: %v", err)
	}
	var alloc *nomad.Allocation
	waitFor(t, 30*time.Second, "the allocation to run", func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations("ops", false, nil)
		if err != nil || len(stubs) != 1 || stubs[0].ClientStatus != "running" {
			return false, fmt.Sprintf("%d allocations, err %v", len(stubs), err)
		}
		alloc, _, err = c.Allocations().Info(stubs[0].ID, nil)
		return err == nil, fmt.Sprint(err)
	})
	events := func() []string {
		a, _, err := c.Allocations().Info(alloc.ID, nil)
		if err != nil || a.TaskStates["web"] == nil {
			return nil
		}
		var out []string
		for _, e := range a.TaskStates["web"].Events {
			out = append(out, e.Type+": "+e.DisplayMessage)
		}
		return out
	}
	hasEvent := func(prefix string) (bool, string) {
		evs := events()
		for _, e := range evs {
			if strings.HasPrefix(e, prefix) {
				return true, ""
			}
		}
		return false, strings.Join(evs, "; ")
	}

	t.Run("stats", func(t *testing.T) {
		u, err := c.Allocations().Stats(alloc, nil)
		if err != nil {
			t.Fatalf("Allocations().Stats: %v", err)
		}
		tu := u.Tasks["web"]
		if tu == nil || tu.ResourceUsage == nil || tu.ResourceUsage.MemoryStats == nil || tu.ResourceUsage.MemoryStats.RSS == 0 {
			t.Fatalf("Stats: no memory usage for task web: %+v", u)
		}
		if u.ResourceUsage.MemoryStats.RSS != tu.ResourceUsage.MemoryStats.RSS {
			t.Errorf("alloc RSS %d != its only task's %d", u.ResourceUsage.MemoryStats.RSS, tu.ResourceUsage.MemoryStats.RSS)
		}
		hs, err := c.Nodes().Stats(alloc.NodeID, nil)
		if err != nil {
			t.Fatalf("Nodes().Stats: %v", err)
		}
		if hs.Memory == nil || hs.Memory.Total == 0 || len(hs.CPU) == 0 || hs.Uptime == 0 {
			t.Errorf("host stats incomplete: %+v", hs)
		}
		if _, err := c.Allocations().Stats(&nomad.Allocation{ID: "00000000-0000-0000-0000-000000000000"}, nil); err == nil || !strings.Contains(err.Error(), "404") {
			t.Errorf("Stats of an unknown allocation = %v, want a 404", err)
		}
		out, code := a.cli(t.TempDir(), "alloc", "status", "-stats", alloc.ID[:8])
		if code != 0 || !strings.Contains(out, "Memory Stats") || !strings.Contains(out, "/100 MHz") {
			t.Errorf("alloc status -stats exited %d without the usage tables:\n%s", code, out)
		}
	})

	t.Run("exec", func(t *testing.T) {
		cases := []struct {
			name       string
			task       string
			cmd        []string
			tty        bool
			wantCode   int
			wantStdout string
			wantErr    string
		}{
			{name: "exit code", task: "web", cmd: []string{"/bin/sh", "-c", "echo hi; exit 3"}, wantCode: 3, wantStdout: "hi\n"},
			{name: "task env", task: "web", cmd: []string{"sh", "-c", "echo $OPS_VAR"}, wantStdout: "from-task-env\n"},
			{name: "tty", task: "web", cmd: []string{"sh", "-c", "test -t 1 && echo tty"}, tty: true, wantStdout: "tty\r\n"},
			{name: "unknown task", task: "nope", cmd: []string{"true"}, wantCode: -2, wantErr: "its tasks are: web"},
			{name: "unknown command", task: "web", cmd: []string{"no-such-cmd"}, wantCode: -2, wantErr: "not in the task's PATH"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				var stdout, stderr bytes.Buffer
				code, err := c.Allocations().Exec(ctx, alloc, tc.task, tc.tty, tc.cmd, strings.NewReader(""), &stdout, &stderr, nil, nil)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error()+stderr.String(), tc.wantErr) {
						t.Fatalf("Exec = %d, %v (stderr %q); want an error containing %q", code, err, stderr.String(), tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatalf("Exec: %v (stderr %q)", err, stderr.String())
				}
				if code != tc.wantCode || stdout.String() != tc.wantStdout {
					t.Errorf("Exec = %d, stdout %q; want %d, %q", code, stdout.String(), tc.wantCode, tc.wantStdout)
				}
			})
		}
		out, code := a.cli(t.TempDir(), "alloc", "exec", "-i=false", alloc.ID[:8], "sh", "-c", "echo via-cli; exit 5")
		if code != 5 || !strings.Contains(out, "via-cli") {
			t.Errorf("alloc exec exited %d, want 5 with the output:\n%s", code, out)
		}
	})

	t.Run("signal", func(t *testing.T) {
		if err := c.Allocations().Signal(alloc, nil, "web", "SIGHUP"); err != nil {
			t.Fatalf("Allocations().Signal: %v", err)
		}
		waitFor(t, 20*time.Second, "the Signaling event", func() (bool, string) { return hasEvent("Signaling") })
		waitFor(t, 20*time.Second, "the task to log the trapped SIGHUP", func() (bool, string) {
			out, _ := a.cli(t.TempDir(), "alloc", "logs", alloc.ID[:8])
			return strings.Contains(out, "got-hup"), out
		})
		for _, bad := range []struct{ task, sig, want string }{
			{"web", "SIGNOPE", "unknown signal"},
			{"nope", "SIGHUP", "its tasks are: web"},
		} {
			err := c.Allocations().Signal(alloc, nil, bad.task, bad.sig)
			if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("Signal(%q, %q) = %v, want a 400 containing %q", bad.task, bad.sig, err, bad.want)
			}
		}
		out, code := a.cli(t.TempDir(), "alloc", "signal", "-s", "SIGHUP", alloc.ID[:8], "web")
		if code != 0 || !strings.Contains(out, "Sent SIGHUP") {
			t.Errorf("alloc signal exited %d:\n%s", code, out)
		}
	})

	t.Run("restart", func(t *testing.T) {
		if err := c.Allocations().Restart(alloc, "nope", nil); err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "web") {
			t.Errorf("Restart of an unknown task = %v, want a 400 naming the tasks", err)
		}
		if err := c.Allocations().Restart(alloc, "web", nil); err != nil {
			t.Fatalf("Allocations().Restart: %v", err)
		}
		waitFor(t, 30*time.Second, "the task to run again after the restart", func() (bool, string) {
			a, _, err := c.Allocations().Info(alloc.ID, nil)
			if err != nil {
				return false, err.Error()
			}
			ts := a.TaskStates["web"]
			return ts.State == "running" && ts.Restarts == 1, fmt.Sprintf("state %s, restarts %d", ts.State, ts.Restarts)
		})
		if ok, evs := hasEvent("Restart Signaled: User requested restart"); !ok {
			t.Errorf("no \"Restart Signaled\" event with the user's reason: %s", evs)
		}
		out, code := a.cli(t.TempDir(), "alloc", "restart", alloc.ID[:8])
		if code != 0 || !strings.Contains(out, "Restarted all running tasks") {
			t.Errorf("alloc restart exited %d:\n%s", code, out)
		}
	})

	t.Run("stop", func(t *testing.T) {
		out, code := a.cli(t.TempDir(), "alloc", "stop", alloc.ID[:8])
		if code != 0 {
			t.Fatalf("alloc stop exited %d:\n%s", code, out)
		}
		waitFor(t, 30*time.Second, "a replacement allocation to run", func() (bool, string) {
			stubs, _, err := c.Jobs().Allocations("ops", false, nil)
			if err != nil {
				return false, err.Error()
			}
			var states []string
			ok := false
			for _, s := range stubs {
				states = append(states, s.ID[:8]+"="+s.ClientStatus)
				if s.ID != alloc.ID && s.ClientStatus == "running" {
					ok = true
				}
			}
			return ok, strings.Join(states, ", ")
		})
	})
}

// TestContainerAllocOps runs exec (with and without a TTY) and reads the
// cgroup stats of a container task through the official Go client.
func TestContainerAllocOps(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("NOMADLIKE_REQUIRE_ALL") == "1" {
			t.Fatal("the container driver needs root and NOMADLIKE_REQUIRE_ALL=1 is set")
		}
		t.Skip("the container driver needs root")
	}
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	jobFile := writeFile(t, dir, "box.nomad.hcl", fmt.Sprintf(containerJob, busyboxLayout(t), runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", jobFile); code != 0 {
		t.Fatalf("job run exited %d:\n%s", code, out)
	}
	c, err := nomad.NewClient(&nomad.Config{Address: a.addr})
	if err != nil {
		t.Fatal(err)
	}
	var alloc *nomad.Allocation
	waitFor(t, 30*time.Second, "the container allocation to run", func() (bool, string) {
		stubs, _, err := c.Jobs().Allocations("e2e-box", false, nil)
		if err != nil || len(stubs) != 1 || stubs[0].ClientStatus != "running" {
			return false, fmt.Sprintf("%d allocations, err %v", len(stubs), err)
		}
		alloc, _, err = c.Allocations().Info(stubs[0].ID, nil)
		return err == nil, fmt.Sprint(err)
	})
	cases := []struct {
		name       string
		cmd        []string
		tty        bool
		wantCode   int
		wantStdout string
	}{
		{"inside the container's namespaces", []string{"sh", "-c", "hostname; echo $E2E_RUN; exit 3"}, false, 3, "boxhost\n" + runToken + "\n"},
		{"tty", []string{"sh", "-c", "test -t 0 && echo tty"}, true, 0, "tty\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code, err := c.Allocations().Exec(ctx, alloc, "box", tc.tty, tc.cmd, strings.NewReader(""), &stdout, &stderr, nil, nil)
			if err != nil {
				t.Fatalf("Exec: %v (stderr %q)", err, stderr.String())
			}
			if code != tc.wantCode || stdout.String() != tc.wantStdout {
				t.Errorf("Exec = %d, stdout %q (stderr %q); want %d, %q", code, stdout.String(), stderr.String(), tc.wantCode, tc.wantStdout)
			}
		})
	}
	u, err := c.Allocations().Stats(alloc, nil)
	if err != nil {
		t.Fatalf("Allocations().Stats: %v", err)
	}
	ms := u.Tasks["box"].ResourceUsage.MemoryStats
	if ms == nil || ms.Usage == 0 || len(ms.Measured) == 0 {
		t.Errorf("container memory stats missing: %+v", ms)
	}
	if out, code := a.cli(dir, "job", "stop", "e2e-box"); code != 0 {
		t.Errorf("job stop exited %d:\n%s", code, out)
	}
}
