package agent

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// raftStat reads one of a running server's Raft statistics as a number.
func raftStat(t *testing.T, s *clusterServer, key string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s.agent.server.Stats()[key], 10, 64)
	if err != nil {
		t.Fatalf("%s: raft stat %s = %q: %v", s.name, key, s.agent.server.Stats()[key], err)
	}
	return v
}

// TestLaggingFollowerCatchesUpFromSnapshot stops a follower, writes enough
// for the leader to snapshot and compact its log past the follower's last
// entry, and restarts the follower from its data dir: it can no longer be
// sent the entries it missed, so it must install the leader's snapshot,
// and it ends with every job.
func TestLaggingFollowerCatchesUpFromSnapshot(t *testing.T) {
	servers := startCluster(t, 3, func(c *Config) {
		c.Server.RaftSnapshotThreshold = 16
		c.Server.RaftSnapshotInterval = 200 * time.Millisecond
		c.Server.RaftTrailingLogs = 8
		c.Server.CleanupDeadServers = false // the stopped follower stays a voter
	})
	leader := waitLeader(t, servers, 3)
	lag := follower(servers, leader)
	lagIndex := raftStat(t, lag, "last_log_index")
	lag.stop(t)

	c := leader.api(t)
	var written []string
	for i := range 60 {
		id := fmt.Sprintf("catchup-%02d", i)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		_, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: clusterJob(id)})
		cancel()
		if err != nil {
			t.Fatalf("register %s while a follower is down: %v", id, err)
		}
		written = append(written, id)
	}
	// The leader's log no longer holds the entry after the follower's last.
	waitFor(t, "the leader to snapshot and compact past the stopped follower", 30*time.Second, func() (bool, string) {
		snap := raftStat(t, leader, "last_snapshot_index")
		return snap > lagIndex+8+1, fmt.Sprintf("leader snapshot at index %d, follower stopped at %d", snap, lagIndex)
	})

	a, err := New(lag.cfg, testLogger(t).With("agent", lag.name+"-restarted"))
	if err != nil {
		t.Fatalf("New(%s) again: %v", lag.name, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	err = a.Start(ctx)
	cancel()
	if err != nil {
		t.Fatalf("restart %s: %v", lag.name, err)
	}
	lag.agent, lag.stopped = a, false
	t.Cleanup(func() { lag.stop(t) })

	waitFor(t, "the restarted follower to hold every job", 60*time.Second, func() (bool, string) {
		lc, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
		if err != nil {
			return false, err.Error()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		jobs, _, err := lc.ListJobs(ctx, &api.QueryOptions{AllowStale: true})
		if err != nil {
			return false, err.Error()
		}
		got := 0
		for _, j := range jobs {
			if strings.HasPrefix(j.ID, "catchup-") {
				got++
			}
		}
		if got != len(written) {
			return false, fmt.Sprintf("%d of %d jobs", got, len(written))
		}
		// It got there by installing a snapshot newer than anything it
		// had (Raft records it just after the FSM is restored).
		snap := raftStat(t, lag, "last_snapshot_index")
		return snap > lagIndex, fmt.Sprintf("every job is there, but its newest snapshot is at index %d, not past its last entry %d before it stopped: it did not install the leader's snapshot", snap, lagIndex)
	})
	waitLeader(t, servers, 3)
}
