package agent

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestDevAgentStopsTasksOnShutdown: a -dev agent's state is temporary, so
// the tasks it started could never be re-attached: its shutdown stops them
// (as Nomad's -dev does) instead of leaving them running forever.
func TestDevAgentStopsTasksOnShutdown(t *testing.T) {
	cfg := DevConfig()
	cfg.Name = "dev-shutdown"
	cfg.Ports.HTTP = 0
	cfg.DataDir = t.TempDir()
	a, err := New(cfg, testLogger(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := a.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	shutdown := func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		if err := a.Shutdown(sctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	defer shutdown() // idempotent: a no-op once the test shut it down

	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	marker := "DEV_SHUTDOWN_TEST=" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	job := nomad.NewServiceJob("devstop", "devstop", "global", 50)
	task := nomad.NewTask("t", "raw_exec").
		SetConfig("command", "/bin/sleep").
		SetConfig("args", []string{"300"})
	task.Env = map[string]string{"DEV_SHUTDOWN_TEST": marker[len("DEV_SHUTDOWN_TEST="):]}
	job.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(task))
	waitFor(t, "the job to register", 30*time.Second, func() (bool, string) {
		_, _, err := c.Jobs().Register(job, nil)
		return err == nil, errString(err)
	})
	var pids []int
	waitFor(t, "the task to run", 60*time.Second, func() (bool, string) {
		pids = procsWithEnvKV(marker)
		return len(pids) > 0, "no process with " + marker
	})
	shutdown()
	waitFor(t, "the task to stop after the dev agent's shutdown", 30*time.Second, func() (bool, string) {
		left := procsWithEnvKV(marker)
		return len(left) == 0, "still running: " + strconv.Itoa(len(left)) + " process(es)"
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// procsWithEnvKV returns the live processes whose environment holds kv.
func procsWithEnvKV(kv string) []int {
	want := []byte(kv)
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		stat, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		for _, v := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(v, want) {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}
