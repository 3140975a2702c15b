package server

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestEndpointErrors(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	n := mockNode("node-1")
	registerNode(t, s, n)
	resp := registerJob(t, s, mockJob("web", 1, 100, 64))

	podman := mockJob("d", 1, 100, 64)
	podman.TaskGroups[0].Tasks[0].Driver = "podman"
	huge := mockJob("huge", 1, 100, 2<<30)
	invalid := mockJob("", 1, 100, 64)
	wrongSecret := n.Copy()
	wrongSecret.SecretID = "wrong"

	cases := []struct {
		name     string
		call     func() error
		wantCode int
		wantMsg  string
	}{
		{"memory beyond 1 PB", func() error {
			_, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: huge})
			return err
		}, http.StatusBadRequest, `Resources.MemoryMB: 2147483648 MB is more than any node could have`},
		{"invalid job lists the field", func() error {
			_, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: invalid})
			return err
		}, http.StatusBadRequest, "ID: job needs an ID"},
		{"no job", func() error {
			_, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{})
			return err
		}, http.StatusBadRequest, "has no Job"},
		{"enforce index mismatch", func() error {
			_, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: mockJob("web", 2, 100, 64), EnforceIndex: true, JobModifyIndex: resp.JobModifyIndex + 100})
			return err
		}, http.StatusConflict, "was modified since it was read"},
		{"enforce index create of existing", func() error {
			_, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: mockJob("web", 2, 100, 64), EnforceIndex: true})
			return err
		}, http.StatusConflict, "already exists"},
		{"re-register with another secret", func() error {
			_, err := s.RegisterNode(ctx, wrongSecret)
			return err
		}, http.StatusForbidden, "secret does not match"},
		{"heartbeat of unknown node", func() error {
			_, err := s.NodeHeartbeat(ctx, "unknown", "x")
			return err
		}, http.StatusNotFound, "register it again"},
		{"heartbeat with wrong secret", func() error {
			_, err := s.NodeHeartbeat(ctx, n.ID, "wrong")
			return err
		}, http.StatusForbidden, "secret does not match"},
		{"invalid node", func() error {
			_, err := s.RegisterNode(ctx, &structs.Node{ID: "x"})
			return err
		}, http.StatusBadRequest, "SecretID"},
		{"stop unknown alloc", func() error {
			_, _, err := s.StopAlloc(ctx, "nope")
			return err
		}, http.StatusNotFound, "allocation nope not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var coded *structs.CodedError
			if !errors.As(err, &coded) {
				t.Fatalf("got error %v, want a *structs.CodedError", err)
			}
			if coded.Code != c.wantCode {
				t.Errorf("code: got %d, want %d (%v)", coded.Code, c.wantCode, err)
			}
			if !strings.Contains(err.Error(), c.wantMsg) {
				t.Errorf("message: got %q, want it to contain %q", err.Error(), c.wantMsg)
			}
		})
	}
	t.Run("missing driver is a warning, as in Nomad", func(t *testing.T) {
		resp, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: podman})
		if err != nil {
			t.Fatalf("RegisterJob of a podman job: %v, want it accepted", err)
		}
		if !strings.Contains(resp.Warnings, `driver "podman" is not available in nomadlike, so no node will run it: use driver = "container"`) {
			t.Errorf("Warnings = %q, want the missing driver named", resp.Warnings)
		}
	})
	t.Run("deregister unknown job is a no-op", func(t *testing.T) {
		resp, err := s.DeregisterJob(ctx, "", "nope", false)
		if err != nil || resp.EvalID != "" {
			t.Errorf("DeregisterJob(nope) = %+v, %v; want no eval and no error", resp, err)
		}
	})
	t.Run("enforce index match", func(t *testing.T) {
		if _, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: mockJob("web", 2, 100, 64), EnforceIndex: true, JobModifyIndex: resp.JobModifyIndex}); err != nil {
			t.Errorf("RegisterJob with the current index: got %v, want nil", err)
		}
	})
}

func TestAllocLifecycleEndpoints(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	n, other := mockNode("node-1"), mockNode("node-2")
	registerNode(t, s, n)
	job := mockJob("web", 1, 100, 64)
	// A short delay, so the delayed follow-up eval runs during the test.
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Delay: 100 * time.Millisecond, DelayFunction: "constant", Unlimited: true}
	registerJob(t, s, job)
	first := waitLiveAllocs(t, s, "web", 1)[0]
	registerNode(t, s, other)

	t.Run("alloc of another node is refused", func(t *testing.T) {
		_, err := s.UpdateAllocsFromClient(ctx, other.ID, other.SecretID, []*structs.Allocation{{ID: first.ID, ClientStatus: "running"}})
		var coded *structs.CodedError
		if !errors.As(err, &coded) || coded.Code != http.StatusForbidden {
			t.Errorf("got %v, want a 403", err)
		}
	})
	t.Run("failed alloc is rescheduled", func(t *testing.T) {
		if _, err := s.UpdateAllocsFromClient(ctx, n.ID, n.SecretID, []*structs.Allocation{{ID: first.ID, ClientStatus: structs.AllocClientStatusFailed}}); err != nil {
			t.Fatalf("UpdateAllocsFromClient: %v", err)
		}
		evals, _ := s.state.EvalsByJob(nil, structs.DefaultNamespace, "web")
		found := false
		for _, e := range evals {
			found = found || e.TriggeredBy == structs.EvalTriggerRetryFailedAlloc
		}
		if !found {
			t.Errorf("no %q eval among %d evals", structs.EvalTriggerRetryFailedAlloc, len(evals))
		}
		waitFor(t, 10e9, "a replacement alloc", func() (bool, string) {
			live := liveAllocs(t, s, "web")
			return len(live) == 1 && live[0].ID != first.ID, "no replacement yet"
		})
	})
	t.Run("stop alloc replaces it", func(t *testing.T) {
		cur := liveAllocs(t, s, "web")[0]
		evalID, index, err := s.StopAlloc(ctx, cur.ID)
		if err != nil || evalID == "" || index == 0 {
			t.Fatalf("StopAlloc: got %q, %d, %v", evalID, index, err)
		}
		waitFor(t, 10e9, "a replacement of the stopped alloc", func() (bool, string) {
			live := liveAllocs(t, s, "web")
			return len(live) == 1 && live[0].ID != cur.ID, "no replacement yet"
		})
	})
	t.Run("deregister stops every alloc", func(t *testing.T) {
		if _, err := s.DeregisterJob(ctx, "", "web", false); err != nil {
			t.Fatalf("DeregisterJob: %v", err)
		}
		waitLiveAllocs(t, s, "web", 0)
		j, _ := s.state.JobByID(nil, structs.DefaultNamespace, "web")
		if j == nil || !j.Stop {
			t.Errorf("job after deregister: got %+v, want Stop=true", j)
		}
	})
}

func TestDurableRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := func(c *Config) { c.DataDir = dir; c.RaftBindAddr = "127.0.0.1:0" }
	s1, err := NewServer(withTestDefaults(cfg))
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	waitLeader(t, s1)
	registerNode(t, s1, mockNode("node-1"))
	registerJob(t, s1, mockJob("web", 2, 100, 64))
	want := waitLiveAllocs(t, s1, "web", 2)
	// Force a snapshot so restart exercises both restore and log replay.
	if err := s1.raft.Snapshot().Error(); err != nil {
		t.Fatalf("raft snapshot: %v", err)
	}
	registerJob(t, s1, mockJob("after-snapshot", 1, 100, 64))
	waitLiveAllocs(t, s1, "after-snapshot", 1)
	if err := s1.Shutdown(); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}

	s2, err := NewServer(withTestDefaults(cfg))
	if err != nil {
		t.Fatalf("NewServer on the same data dir: %v", err)
	}
	t.Cleanup(func() {
		if err := s2.Shutdown(); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	waitLeader(t, s2)
	for _, id := range []string{"web", "after-snapshot"} {
		if j, _ := s2.state.JobByID(nil, structs.DefaultNamespace, id); j == nil {
			t.Errorf("job %s missing after restart", id)
		}
	}
	got := liveAllocs(t, s2, "web")
	if len(got) != len(want) {
		t.Errorf("allocs after restart: got %d, want %d", len(got), len(want))
	}
	if peers := s2.Peers(); len(peers) != 1 {
		t.Errorf("peers after restart: got %v, want one (no second bootstrap)", peers)
	}
}

// withTestDefaults returns a test config changed by mutate.
func withTestDefaults(mutate func(*Config)) Config {
	cfg := Config{NodeName: "test-server", NumSchedulers: 2, Logger: testLogger(), BootstrapExpect: 1}
	mutate(&cfg)
	return cfg
}
