package agent

import (
	"net"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/server"
)

// clusterConfig fills the server's cluster settings from the agent config:
// serf on the serf port, the gossip key, joins, Raft tuning, autopilot and
// automatic snapshots. A -dev agent (in-memory Raft) forms no cluster.
func (a *Agent) clusterConfig(sc *server.Config) error {
	c := a.cfg
	sc.HTTPAddr = a.httpAddr
	sc.Build = Version
	sc.RaftMultiplier = c.Server.RaftMultiplier
	sc.RaftSnapshotThreshold = uint64(c.Server.RaftSnapshotThreshold)
	sc.RaftSnapshotInterval = c.Server.RaftSnapshotInterval
	sc.RaftTrailingLogs = uint64(c.Server.RaftTrailingLogs)
	sc.RaftSegmentSize = c.Server.RaftSegmentSizeMB << 20
	sc.FailoverHeartbeatTTL = c.Server.FailoverHeartbeatTTL
	sc.CleanupDeadServers = c.Server.CleanupDeadServers
	sc.DeadServerThreshold = c.Server.deadServerThreshold
	sc.Backup = server.BackupConfig{Interval: c.Server.Snapshot.Interval, Retain: c.Server.Snapshot.Retain, Path: c.Server.Snapshot.Path}
	if c.DevMode {
		return nil
	}
	sc.SerfBindAddr = net.JoinHostPort(firstNonEmpty(c.Addresses.Serf, c.BindAddr), strconv.Itoa(c.Ports.Serf))
	sc.SerfAdvertise = c.Advertise.Serf
	sc.StartJoin = c.Server.StartJoin
	sc.RetryJoin = c.Server.RetryJoin
	sc.RetryInterval = c.Server.RetryInterval
	sc.RetryMaxAttempts = c.Server.RetryMax
	if c.Server.Encrypt != "" {
		key, err := GossipKey(c.Server.Encrypt)
		if err != nil {
			return err // Validate reported it; unreachable in practice
		}
		sc.EncryptKey = key
	}
	return nil
}
