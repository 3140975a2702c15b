package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestRestartedLeaderServesNothingBeforeReplay: a durable server restarted
// with jobs in its Raft log claims leadership (IsLeader, Ready) and accepts a
// create-only check-and-set only once its FSM has applied the whole log; a
// restart must never show an empty or partial state as the current one.
func TestRestartedLeaderServesNothingBeforeReplay(t *testing.T) {
	const jobs = 300
	dir := t.TempDir()
	cfg := func(c *Config) { c.DataDir = dir; c.RaftBindAddr = "127.0.0.1:0"; c.NumSchedulers = 0 }
	s1, err := NewServer(withTestDefaults(cfg))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	waitLeader(t, s1)
	for i := 0; i < jobs; i++ {
		registerJob(t, s1, mockJob(fmt.Sprintf("job-%03d", i), 1, 100, 64))
	}
	if err := s1.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	s2, err := NewServer(withTestDefaults(cfg))
	if err != nil {
		t.Fatalf("NewServer on the same data dir: %v", err)
	}
	t.Cleanup(func() { _ = s2.Shutdown() })
	// A create-only registration of an existing job: refused by a server
	// that has its state, accepted by one that serves before its replay.
	cas := mockJob("job-000", 1, 100, 64)
	deadline := time.Now().Add(20 * time.Second)
	checks, casTries := 0, 0
	for time.Now().Before(deadline) {
		leader := s2.IsLeader()
		ready, why := s2.Ready()
		n := countJobs(t, s2)
		if leader || ready {
			checks++
			if n != jobs {
				t.Fatalf("IsLeader=%v Ready=%v (%s) with %d of %d jobs applied: the server serves before replaying its log", leader, ready, why, n, jobs)
			}
		}
		if casTries < 50 {
			casTries++
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			_, err := s2.RegisterJob(ctx, &structs.JobRegisterRequest{Job: cas.Copy(), EnforceIndex: true, JobModifyIndex: 0})
			cancel()
			if err == nil {
				t.Fatalf("a create-only check-and-set for existing job job-000 was accepted during the restart (%d of %d jobs applied)", n, jobs)
			}
		}
		if leader && ready && n == jobs && checks > 10 {
			return
		}
	}
	t.Fatalf("the restarted server did not become a ready leader within 20s")
}

func countJobs(t *testing.T, s *Server) int {
	t.Helper()
	js, err := s.state.Jobs(nil, "*")
	if err != nil {
		t.Fatalf("Jobs: %v", err)
	}
	return len(js)
}
