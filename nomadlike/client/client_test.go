package client

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const waitTimeout = 20 * time.Second

func newClient(t *testing.T, srv *clienttest.Server, dataDir string, d drivers.Driver) *Client {
	t.Helper()
	c, err := New(Config{
		DataDir: dataDir, NodeName: "test-node", Servers: []string{srv.URL()}, HTTPAddr: "127.0.0.1:4646",
		Drivers: []drivers.Driver{d}, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return c
}

func shutdown(t *testing.T, c *Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func testAlloc(nodeID, jobType, driver string, cfg map[string]any, policy *structs.RestartPolicy) *structs.Allocation {
	task := &structs.Task{Name: "web", Driver: driver, Config: cfg, KillTimeout: 2 * time.Second,
		Env: map[string]string{"GREETING": "hello from ${NOMAD_TASK_NAME}"}}
	job := &structs.Job{ID: "example", Name: "example", Type: jobType,
		TaskGroups: []*structs.TaskGroup{{Name: "g", Count: 1, RestartPolicy: policy, Tasks: []*structs.Task{task}}}}
	job.Canonicalize()
	return &structs.Allocation{ID: structs.GenerateUUID(), Name: "example.g[0]", Namespace: "default", NodeID: nodeID,
		JobID: job.ID, Job: job, TaskGroup: "g"}
}

func sh(script string) map[string]any {
	return map[string]any{"command": "/bin/sh", "args": []any{"-c", script}}
}

func taskState(srv *clienttest.Server, allocID string) *structs.TaskState {
	a := srv.Alloc(allocID)
	if a == nil || a.TaskStates == nil {
		return nil
	}
	return a.TaskStates["web"]
}

func eventTypes(ts *structs.TaskState) []string {
	var out []string
	for _, e := range ts.Events {
		out = append(out, e.Type)
	}
	return out
}

func findEvent(ts *structs.TaskState, typ string) *structs.TaskEvent {
	for _, e := range ts.Events {
		if e.Type == typ {
			return e
		}
	}
	return nil
}

func TestRegisterHeartbeatAndFailingTask(t *testing.T) {
	srv := clienttest.NewServer(t, 200*time.Millisecond)
	c := newClient(t, srv, t.TempDir(), clienttest.NewDriver())
	defer shutdown(t, c)

	clienttest.WaitFor(t, waitTimeout, "registration and two heartbeats", func() bool {
		return srv.Node(c.NodeID()) != nil && srv.Heartbeats(c.NodeID()) >= 2
	})
	n := srv.Node(c.NodeID())
	for _, k := range []string{"cpu.numcores", "memory.totalbytes", "kernel.name", "os.name", "unique.hostname", "driver.test_exec", "nomad.version"} {
		if n.Attributes[k] == "" {
			t.Errorf("registered node lacks attribute %s; got %v", k, n.Attributes)
		}
	}
	if got := n.Attributes["unique.network.ip-address"]; got != "127.0.0.1" {
		t.Errorf("unique.network.ip-address: got %q, want 127.0.0.1", got)
	}
	if n.NodeResources.Cpu.CpuShares <= 0 || n.NodeResources.Memory.MemoryMB <= 0 {
		t.Errorf("node resources: got %+v, want positive cpu and memory", n.NodeResources)
	}

	policy := &structs.RestartPolicy{Attempts: 1, Interval: time.Minute, Delay: 50 * time.Millisecond, Mode: structs.RestartModeFail}
	a := testAlloc(c.NodeID(), structs.JobTypeService, clienttest.DriverName, sh(`echo "$GREETING"; exit 3`), policy)
	srv.AddAlloc(a)
	clienttest.WaitFor(t, waitTimeout, "the allocation to fail", func() bool {
		s := srv.Alloc(a.ID)
		ts := taskState(srv, a.ID)
		return s.ClientStatus == structs.AllocClientStatusFailed && ts != nil && ts.State == structs.TaskStateDead
	})
	ts := taskState(srv, a.ID)
	if !ts.Failed || ts.Restarts != 1 {
		t.Errorf("task state: got failed=%v restarts=%d, want failed=true restarts=1; events %v", ts.Failed, ts.Restarts, eventTypes(ts))
	}
	wantTypes := []string{structs.TaskReceived, structs.TaskSetup, structs.TaskStarted, structs.TaskTerminated, structs.TaskRestarting,
		structs.TaskSetup, structs.TaskStarted, structs.TaskTerminated, structs.TaskNotRestarting}
	if got := eventTypes(ts); strings.Join(got, ",") != strings.Join(wantTypes, ",") {
		t.Errorf("events: got %v, want %v", got, wantTypes)
	}
	if e := findEvent(ts, structs.TaskTerminated); e == nil || e.ExitCode != 3 || e.DisplayMessage != "Exit Code: 3" {
		t.Errorf("terminated event: got %+v, want exit code 3 and \"Exit Code: 3\"", e)
	}
	if e := findEvent(ts, structs.TaskRestarting); e == nil || e.RestartReason != "Restart within policy" || e.StartDelay != int64(50*time.Millisecond) {
		t.Errorf("restarting event: got %+v, want \"Restart within policy\" with a 50ms delay", e)
	}
	wantNR := `Exceeded allowed attempts 1 in interval 1m0s and mode is "fail"`
	if e := findEvent(ts, structs.TaskNotRestarting); e == nil || e.DisplayMessage != wantNR || !e.FailsTask {
		t.Errorf("not restarting event: got %+v, want %q failing the task", e, wantNR)
	}

	var out bytes.Buffer
	err := c.StreamLogs(context.Background(), a.ID, "web", "stdout", "start", 0, false, func(f *api.StreamFrame) error {
		out.Write(f.Data)
		return nil
	})
	if err != nil || out.String() != "hello from web\nhello from web\n" {
		t.Errorf("StreamLogs: got %q, %v; want the interpolated greeting twice", out.String(), err)
	}

	// A server that lost the node answers heartbeats with 404: the client registers again.
	srv.ForgetNode(c.NodeID())
	clienttest.WaitFor(t, waitTimeout, "re-registration after a 404 heartbeat", func() bool {
		return srv.Registrations(c.NodeID()) >= 2 && srv.Node(c.NodeID()) != nil
	})
}

func TestStreamLogsErrors(t *testing.T) {
	srv := clienttest.NewServer(t, time.Second)
	c := newClient(t, srv, t.TempDir(), clienttest.NewDriver())
	defer shutdown(t, c)
	a := testAlloc(c.NodeID(), structs.JobTypeBatch, clienttest.DriverName, sh("echo hi"), nil)
	srv.AddAlloc(a)
	clienttest.WaitFor(t, waitTimeout, "the batch allocation to complete", func() bool {
		return srv.Alloc(a.ID).ClientStatus == structs.AllocClientStatusComplete
	})
	if ts := taskState(srv, a.ID); ts.Failed || ts.Restarts != 0 {
		t.Errorf("batch exit 0: got failed=%v restarts=%d, want neither", ts.Failed, ts.Restarts)
	}
	noop := func(*api.StreamFrame) error { return nil }
	cases := []struct {
		name, alloc, task, typ string
		code                   int
	}{
		{"unknown alloc", "nope", "web", "stdout", http.StatusNotFound},
		{"unknown task", a.ID, "db", "stdout", http.StatusNotFound},
		{"bad type", a.ID, "web", "stdin", http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.StreamLogs(context.Background(), tc.alloc, tc.task, tc.typ, "start", 0, false, noop)
			var ce *structs.CodedError
			if !errors.As(err, &ce) || ce.Code != tc.code {
				t.Errorf("got %v, want a %d CodedError", err, tc.code)
			}
		})
	}
	// Following a terminal allocation ends once everything is read.
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	err := c.StreamLogs(ctx, a.ID, "web", "stdout", "start", 0, true, func(f *api.StreamFrame) error { out.Write(f.Data); return nil })
	if err != nil || ctx.Err() != nil || out.String() != "hi\n" {
		t.Errorf("follow on a complete alloc: got %q, %v (ctx %v); want \"hi\\n\" and an end before the deadline", out.String(), err, ctx.Err())
	}
}

func TestDriverAndValidationFailures(t *testing.T) {
	srv := clienttest.NewServer(t, time.Second)
	c := newClient(t, srv, t.TempDir(), clienttest.NewDriver())
	defer shutdown(t, c)
	cases := []struct {
		name, driver string
		cfg          map[string]any
		event, want  string
	}{
		{"unknown driver", "docker", sh("true"), structs.TaskDriverFailure, `driver "docker" is not available on this node (node has: [test_exec])`},
		{"bad config", clienttest.DriverName, map[string]any{"command": "/bin/true", "bogus": 1}, structs.TaskFailedValidation, `config key "bogus" is not supported`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := testAlloc(c.NodeID(), structs.JobTypeService, tc.driver, tc.cfg, nil)
			srv.AddAlloc(a)
			clienttest.WaitFor(t, waitTimeout, "the allocation to fail", func() bool {
				return srv.Alloc(a.ID).ClientStatus == structs.AllocClientStatusFailed
			})
			e := findEvent(taskState(srv, a.ID), tc.event)
			if e == nil || !strings.Contains(e.DisplayMessage, tc.want) {
				t.Errorf("%s event: got %+v, want a message containing %q", tc.event, e, tc.want)
			}
		})
	}
}

func readPID(t *testing.T, c *Client, allocID string) int {
	t.Helper()
	var dir string
	clienttest.WaitFor(t, waitTimeout, "the allocation to reach the client", func() bool {
		d, err := c.AllocFiles(allocID)
		if err == nil {
			dir = d.Dir
		}
		return err == nil
	})
	var pid int
	clienttest.WaitFor(t, waitTimeout, "the task to write its pid", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "alloc", "data", "pid"))
		if err != nil {
			return false
		}
		pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil
	})
	return pid
}

func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	i := strings.LastIndexByte(string(b), ')')
	return i >= 0 && i+2 < len(b) && b[i+2] == 'Z'
}

const longRunning = `echo $$ > "$NOMAD_ALLOC_DIR/data/pid"; exec sleep 300`

func TestStopKillsTasks(t *testing.T) {
	srv := clienttest.NewServer(t, time.Second)
	c := newClient(t, srv, t.TempDir(), clienttest.NewDriver())
	defer shutdown(t, c)
	a := testAlloc(c.NodeID(), structs.JobTypeService, clienttest.DriverName, sh(longRunning), nil)
	srv.AddAlloc(a)
	pid := readPID(t, c, a.ID)
	clienttest.WaitFor(t, waitTimeout, "the allocation to run", func() bool {
		return srv.Alloc(a.ID).ClientStatus == structs.AllocClientStatusRunning
	})
	srv.StopAlloc(a.ID)
	clienttest.WaitFor(t, waitTimeout, "the stopped allocation to complete", func() bool {
		return srv.Alloc(a.ID).ClientStatus == structs.AllocClientStatusComplete
	})
	ts := taskState(srv, a.ID)
	if findEvent(ts, structs.TaskKilling) == nil || findEvent(ts, structs.TaskKilled) == nil || ts.Failed {
		t.Errorf("events: got %v failed=%v, want Killing and Killed, not failed", eventTypes(ts), ts.Failed)
	}
	clienttest.WaitFor(t, waitTimeout, "the task's process to exit", func() bool { return processGone(pid) })
}

func TestRestartedClientReattaches(t *testing.T) {
	srv := clienttest.NewServer(t, time.Second)
	dataDir := t.TempDir()
	c1 := newClient(t, srv, dataDir, clienttest.NewDriver())
	a := testAlloc(c1.NodeID(), structs.JobTypeService, clienttest.DriverName, sh(longRunning), nil)
	srv.AddAlloc(a)
	pid := readPID(t, c1, a.ID)
	t.Cleanup(func() { _ = syscallKill(pid) })
	clienttest.WaitFor(t, waitTimeout, "the allocation to run", func() bool {
		return srv.Alloc(a.ID).ClientStatus == structs.AllocClientStatusRunning
	})
	shutdown(t, c1)
	if processGone(pid) {
		t.Fatalf("task process %d exited with the client; tasks must outlive the agent", pid)
	}

	d2 := clienttest.NewDriver()
	c2 := newClient(t, srv, dataDir, d2)
	defer shutdown(t, c2)
	if c2.NodeID() != c1.NodeID() {
		t.Errorf("node ID after restart: got %s, want %s", c2.NodeID(), c1.NodeID())
	}
	var st *drivers.TaskStatus
	clienttest.WaitFor(t, waitTimeout, "the new client to re-attach", func() bool {
		var err error
		st, err = d2.InspectTask(a.ID + "/web")
		return err == nil
	})
	if st.PID != pid || st.State != drivers.TaskStateRunning {
		t.Errorf("re-attached task: got pid %d state %s, want pid %d running", st.PID, st.State, pid)
	}
	ts := taskState(srv, a.ID)
	if ts.Restarts != 0 || ts.State != structs.TaskStateRunning {
		t.Errorf("task state after re-attach: got %s restarts=%d events %v, want running with no restart", ts.State, ts.Restarts, eventTypes(ts))
	}
	started := 0
	for _, e := range ts.Events {
		if e.Type == structs.TaskStarted {
			started++
		}
	}
	if started != 1 {
		t.Errorf("Started events: got %d, want 1 (no restart)", started)
	}
	// The re-attached task can still be stopped.
	srv.StopAlloc(a.ID)
	clienttest.WaitFor(t, waitTimeout, "the re-attached task to be killed", func() bool {
		return srv.Alloc(a.ID).ClientStatus == structs.AllocClientStatusComplete && processGone(pid)
	})
}
