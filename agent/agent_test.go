package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// startDevAgent runs an in-process dev agent on a free HTTP port.
func startDevAgent(t *testing.T) *Agent {
	t.Helper()
	return startDevAgentWith(t, nil)
}

// startDevAgentWith is startDevAgent with edit (if not nil) applied to the
// configuration before the agent starts.
func startDevAgentWith(t *testing.T, edit func(*Config)) *Agent {
	t.Helper()
	return startDevAgentLogging(t, edit, nil)
}

// startDevAgentLogging is startDevAgentWith with the agent's log also
// written to log (if not nil).
func startDevAgentLogging(t *testing.T, edit func(*Config), log io.Writer) *Agent {
	t.Helper()
	cfg := DevConfig()
	cfg.Name = "dev-test"
	cfg.Ports.HTTP = 0
	cfg.DataDir = t.TempDir()
	if edit != nil {
		edit(cfg)
	}
	logger := testLogger(t)
	if log != nil {
		logger = slog.New(slog.NewTextHandler(io.MultiWriter(log, testWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(cfg, logger)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := a.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	if strings.HasSuffix(a.HTTPAddr(), ":0") {
		t.Fatalf("HTTPAddr() = %q, want the port picked", a.HTTPAddr())
	}
	return a
}

// waitFor polls cond until it returns true or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		time.Sleep(50 * time.Millisecond) // polling interval under a deadline
	}
	t.Fatalf("timed out after %v waiting for %s; last state: %s", timeout, what, last)
}

func TestAgentDevRunsRawExecJob(t *testing.T) {
	a := startDevAgent(t)
	ctx := context.Background()
	c, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	// The client registers itself with this agent's server.
	waitFor(t, "the dev node to be ready", 30*time.Second, func() (bool, string) {
		nodes, _, err := c.ListNodes(ctx, nil)
		if err != nil {
			return false, err.Error()
		}
		if len(nodes) == 1 && nodes[0].Status == structs.NodeStatusReady {
			return true, ""
		}
		return false, mustJSON(t, nodes)
	})

	marker := filepath.Join(t.TempDir(), "ran")
	job := &structs.Job{ID: "hello", Type: structs.JobTypeBatch, Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec", Config: map[string]any{
			"command": "/bin/sh", "args": []any{"-c", "echo hello from nomadlike; touch " + marker},
		}}},
	}}}
	reg, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: job})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	if reg.EvalID == "" {
		t.Fatalf("register: got no eval ID")
	}
	var allocID string
	waitFor(t, "the allocation to complete", 60*time.Second, func() (bool, string) {
		allocs, _, err := c.JobAllocations(ctx, "hello", nil)
		if err != nil || len(allocs) == 0 {
			ev, _, eerr := c.Evaluation(ctx, reg.EvalID, nil)
			return false, fmt.Sprintf("no allocations yet (%v); eval %s (%v)", err, mustJSON(t, ev), eerr)
		}
		allocID = allocs[0].ID
		return allocs[0].ClientStatus == structs.AllocClientStatusComplete, mustJSON(t, allocs[0].TaskStates)
	})
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the task did not run: %v", err)
	}
	var logs bytes.Buffer
	if err := c.Logs(ctx, allocID, api.LogsOptions{Task: "t", Type: "stdout"}, &logs); err != nil {
		t.Fatalf("logs: %v", err)
	}
	if got := logs.String(); got != "hello from nomadlike\n" {
		t.Errorf("got stdout %q, want %q", got, "hello from nomadlike\n")
	}
	// Plain logs stream raw bytes.
	resp, err := http.Get("http://" + a.HTTPAddr() + "/v1/client/fs/logs/" + allocID + "?task=t&type=stdout&plain=true")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var plain bytes.Buffer
	if _, err := plain.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || plain.String() != "hello from nomadlike\n" {
		t.Errorf("plain logs: got %d %q", resp.StatusCode, plain.String())
	}
	eval, _, err := c.Evaluation(ctx, reg.EvalID, nil)
	if err != nil || eval.Status != structs.EvalStatusComplete {
		t.Errorf("eval: got %+v, %v; want complete", eval, err)
	}
	self, err := c.AgentSelf(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(self["stats"]); !strings.Contains(string(b), "node_id") {
		t.Errorf("agent self stats %s: want the client's node_id", b)
	}
	if !strings.Contains(a.Banner(), "HTTP: "+a.HTTPAddr()) {
		t.Errorf("banner %q does not name the HTTP address %s", a.Banner(), a.HTTPAddr())
	}
}

func TestAgentTempDataDirRemoved(t *testing.T) {
	cfg := DevConfig()
	cfg.Ports.HTTP = 0
	cfg.Client.Enabled = false
	a, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := cfg.DataDir
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("dev data dir %q not created: %v", dir, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := a.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("got stat error %v for %q after shutdown, want it removed", err, dir)
	}
}

func TestAgentPortInUse(t *testing.T) {
	a := startDevAgent(t)
	cfg := DevConfig()
	cfg.Client.Enabled = false
	cfg.DataDir = t.TempDir()
	_, port := splitHostPort(a.HTTPAddr(), 0)
	cfg.Ports.HTTP = int(port)
	b, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = b.Start(ctx)
	if err == nil || !strings.Contains(err.Error(), "HTTP listener on") || !strings.Contains(err.Error(), "another port") {
		t.Errorf("got %v, want an error naming the listener and what to do", err)
	}
}

// TestDevWithDataDirSaysStateIsNotKept: -dev with a data_dir keeps Raft in
// memory; the banner says so instead of letting a restart lose everything
// without a word.
func TestDevWithDataDirSaysStateIsNotKept(t *testing.T) {
	cfg := DevConfig()
	cfg.DataDir = t.TempDir()
	a, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if b := a.Banner(); !strings.Contains(b, "WARNING: -dev keeps the cluster state") || !strings.Contains(b, "lost when this agent stops") {
		t.Errorf("banner of -dev with data_dir %s does not warn that state is not kept:\n%s", cfg.DataDir, b)
	}
	tmp := DevConfig()
	b, err := New(tmp, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp.DataDir)
	if strings.Contains(b.Banner(), "WARNING") {
		t.Errorf("a plain -dev agent (temporary data dir) warns:\n%s", b.Banner())
	}
}
