package server

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// testLogger logs to stderr when NOMADLIKE_TEST_LOG is set.
func testLogger() *slog.Logger {
	if os.Getenv("NOMADLIKE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return discardLogger()
}

// newTestServer starts an in-memory server, waits for it to lead and shuts
// it down when the test ends.
func newTestServer(t testing.TB, mutate func(*Config)) *Server {
	t.Helper()
	cfg := Config{NodeName: "test-server", NumSchedulers: 2, Logger: testLogger(), BootstrapExpect: 1}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := NewServer(cfg)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	waitLeader(t, s)
	return s
}

func waitLeader(t testing.TB, s *Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.WaitForLeader(ctx); err != nil {
		t.Fatalf("WaitForLeader: %v", err)
	}
	waitFor(t, 10*time.Second, "leader duties started", func() (bool, string) {
		return s.IsLeader() && s.broker.isEnabled(), "not leader yet"
	})
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, why := cond()
		if ok {
			return
		}
		last = why
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", timeout, what, last)
		}
		<-tick.C
	}
}

// mockNode returns a ready-to-register node with the raw_exec driver.
func mockNode(name string) *structs.Node {
	return &structs.Node{
		ID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(), Datacenter: "dc1", Name: name,
		Attributes: map[string]string{"kernel.name": "linux", "driver.raw_exec": "1", "unique.hostname": name},
		NodeResources: &structs.NodeResources{
			Cpu:            structs.NodeCpuResources{CpuShares: 4000, TotalCpuCores: 4},
			Memory:         structs.NodeMemoryResources{MemoryMB: 8192},
			Disk:           structs.NodeDiskResources{DiskMB: 100 * 1024},
			MinDynamicPort: structs.MinDynamicPort, MaxDynamicPort: structs.MaxDynamicPort,
		},
		Drivers:  map[string]*structs.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
		NodePool: structs.DefaultNodePool, SchedulingEligibility: structs.NodeSchedulingEligible,
	}
}

// mockJob returns a service job with one group of count raw_exec tasks.
func mockJob(id string, count, cpu, memMB int) *structs.Job {
	return &structs.Job{
		ID: id, Type: structs.JobTypeService, Datacenters: []string{"dc1"},
		TaskGroups: []*structs.TaskGroup{{
			Name: "web", Count: count,
			EphemeralDisk: &structs.EphemeralDisk{SizeMB: 10},
			Tasks: []*structs.Task{{
				Name: "server", Driver: "raw_exec",
				Config:    map[string]any{"command": "/bin/sleep", "args": []any{"1000"}},
				Resources: &structs.Resources{CPU: cpu, MemoryMB: memMB},
			}},
		}},
	}
}

func registerNode(t testing.TB, s *Server, n *structs.Node) {
	t.Helper()
	if _, err := s.RegisterNode(context.Background(), n); err != nil {
		t.Fatalf("RegisterNode(%s): %v", n.Name, err)
	}
}

func registerJob(t testing.TB, s *Server, j *structs.Job) *structs.JobRegisterResponse {
	t.Helper()
	resp, err := s.RegisterJob(context.Background(), &structs.JobRegisterRequest{Job: j})
	if err != nil {
		t.Fatalf("RegisterJob(%s): %v", j.ID, err)
	}
	return resp
}

// liveAllocs returns the job's non-terminal allocations.
func liveAllocs(t testing.TB, s *Server, jobID string) []*structs.Allocation {
	t.Helper()
	allocs, err := s.state.AllocsByJob(nil, structs.DefaultNamespace, jobID, true)
	if err != nil {
		t.Fatalf("AllocsByJob: %v", err)
	}
	var out []*structs.Allocation
	for _, a := range allocs {
		if !a.TerminalStatus() {
			out = append(out, a)
		}
	}
	return out
}

func waitLiveAllocs(t testing.TB, s *Server, jobID string, want int) []*structs.Allocation {
	t.Helper()
	var got []*structs.Allocation
	waitFor(t, 10*time.Second, fmt.Sprintf("%d live allocs of job %s", want, jobID), func() (bool, string) {
		got = liveAllocs(t, s, jobID)
		return len(got) == want, fmt.Sprintf("got %d", len(got))
	})
	return got
}
