package server

import (
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// TestRaftTimeouts: a cluster's leader lease is the heartbeat timeout (not
// Raft's half of it), so a leader stalled for 0.5-1 s keeps its term; a
// lone server elects fast; raft_multiplier scales all three, and Raft
// accepts every combination.
func TestRaftTimeouts(t *testing.T) {
	for _, c := range []struct {
		expect, mult               int
		heartbeat, election, lease time.Duration
	}{
		{3, 1, time.Second, time.Second, time.Second},
		{3, 5, 5 * time.Second, 5 * time.Second, 5 * time.Second},
		{0, 1, time.Second, time.Second, time.Second}, // a server joining a cluster
		{1, 1, 200 * time.Millisecond, 200 * time.Millisecond, 100 * time.Millisecond},
		{1, 10, 2 * time.Second, 2 * time.Second, time.Second},
	} {
		conf := raft.DefaultConfig()
		conf.LocalID = "x"
		setRaftTimeouts(conf, c.expect, c.mult)
		if conf.HeartbeatTimeout != c.heartbeat || conf.ElectionTimeout != c.election || conf.LeaderLeaseTimeout != c.lease {
			t.Errorf("bootstrap_expect %d, raft_multiplier %d: heartbeat %s, election %s, lease %s; want %s, %s, %s",
				c.expect, c.mult, conf.HeartbeatTimeout, conf.ElectionTimeout, conf.LeaderLeaseTimeout, c.heartbeat, c.election, c.lease)
		}
		if err := raft.ValidateConfig(conf); err != nil {
			t.Errorf("bootstrap_expect %d, raft_multiplier %d: Raft refuses the config: %v", c.expect, c.mult, err)
		}
	}
}
