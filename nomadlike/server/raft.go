package server

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// raftStores holds what Raft persists to, so Shutdown can close it.
type raftStores struct {
	logs   raft.LogStore
	stable raft.StableStore
	snaps  raft.SnapshotStore
	trans  raft.Transport
	closer []io.Closer
}

func (r *raftStores) close() error {
	var err error
	for _, c := range r.closer {
		err = errors.Join(err, c.Close())
	}
	return err
}

// raftLogCacheSize is how many of the newest Raft log entries stay in memory
// (Nomad keeps 512), and raftLogCacheBytes the most entry data they hold
// (512 plan results of a hundred placements would be hundreds of MB).
const (
	raftLogCacheSize  = 512
	raftLogCacheBytes = 32 << 20
)

// setupRaft creates the Raft stores (in memory, or raft-wal and file
// snapshots under DataDir/server/raft), the transport, and the Raft node,
// bootstrapping a single-server cluster when there is no existing state.
func (s *Server) setupRaft(leaderCh chan bool) error {
	hl := newHclog(s.cfg.Logger, "raft")
	id, err := loadServerID(s.cfg.DataDir, s.cfg.NodeName)
	if err != nil {
		return err
	}
	s.raftID = id
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(id)
	conf.Logger = hl
	conf.NotifyCh = leaderCh
	// Concurrent writes queue in a buffered apply channel (up to
	// MaxAppendEntries) and the leader commits them as one batch: one log
	// write and fsync, one AppendEntries per follower.
	conf.BatchApplyCh = true
	setRaftTimeouts(conf, s.cfg.BootstrapExpect, s.cfg.RaftMultiplier)
	if s.cfg.RaftSnapshotThreshold > 0 {
		conf.SnapshotThreshold = s.cfg.RaftSnapshotThreshold
	}
	if s.cfg.RaftSnapshotInterval > 0 {
		conf.SnapshotInterval = s.cfg.RaftSnapshotInterval
	}
	if s.cfg.RaftTrailingLogs > 0 {
		conf.TrailingLogs = s.cfg.RaftTrailingLogs
	}

	stores := &raftStores{}
	if s.cfg.DataDir == "" {
		stores.logs = raft.NewInmemStore()
		stores.stable = stores.logs.(raft.StableStore)
		stores.snaps = raft.NewInmemSnapshotStore()
		// The in-memory transport is named by the RPC address, which is
		// what /v1/status/leader and `server members` show, as in Nomad.
		_, trans := raft.NewInmemTransport(raft.ServerAddress(cmp.Or(s.cfg.RaftAdvertise, s.cfg.RaftBindAddr)))
		stores.trans = trans
		stores.closer = append(stores.closer, trans)
	} else {
		dir := filepath.Join(s.cfg.DataDir, "server", "raft")
		// raft-wal does not create its own directory.
		if err := os.MkdirAll(filepath.Join(dir, "wal"), 0o700); err != nil {
			return fmt.Errorf("create raft directory %s: %w", dir, err)
		}
		// raft-wal checks only the last batch when it opens: verify every
		// batch so a damaged log is refused, naming what it lost, instead of
		// starting without acknowledged writes.
		if err := verifyWAL(filepath.Join(dir, "wal")); err != nil {
			return err
		}
		w, err := newHealingLog(filepath.Join(dir, "wal"), s.cfg.RaftSegmentSize, hl.Named("wal"), s.logger.With("component", "raft-log"))
		if err != nil {
			return err
		}
		// The cache keeps the newest entries in memory as they are
		// stored (after raft-wal's fsync), so the leader replicating an
		// entry to each follower and every server applying it read it
		// from memory instead of decoding it from the log file again.
		cache, err := newLogCache(w, raftLogCacheSize, raftLogCacheBytes)
		if err != nil {
			_ = w.Close()
			return fmt.Errorf("raft log cache: %w", err)
		}
		stores.logs, stores.stable = cache, w
		stores.closer = append(stores.closer, w)
		snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hl.Named("snapshots"))
		if err != nil {
			_ = stores.close()
			return fmt.Errorf("open raft snapshots in %s: %w", dir, err)
		}
		stores.snaps = snaps
		var advertise net.Addr
		if s.cfg.RaftAdvertise != "" {
			advertise, err = net.ResolveTCPAddr("tcp", s.cfg.RaftAdvertise)
			if err != nil {
				_ = stores.close()
				return fmt.Errorf("raft advertise address %q: %w", s.cfg.RaftAdvertise, err)
			}
		}
		trans, err := s.raftTransport(advertise, hl)
		if err != nil {
			_ = stores.close()
			return fmt.Errorf("listen for raft on %s (set a free address with the server's raft bind address): %w", s.cfg.RaftBindAddr, err)
		}
		stores.trans = trans
		stores.closer = append([]io.Closer{trans}, stores.closer...)
	}
	s.raftStore = stores

	existing, err := raft.HasExistingState(stores.logs, stores.stable, stores.snaps)
	if err != nil {
		_ = stores.close()
		return fmt.Errorf("read raft state: %w", err)
	}
	s.hadRaftState = existing
	if !existing && s.cfg.BootstrapExpect == 1 {
		boot := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter, ID: conf.LocalID, Address: stores.trans.LocalAddr(),
		}}}
		if err := raft.BootstrapCluster(conf, stores.logs, stores.stable, stores.snaps, stores.trans, boot); err != nil {
			_ = stores.close()
			return fmt.Errorf("bootstrap raft cluster: %w", err)
		}
		s.logger.Info("bootstrapped a single-server cluster", "raft_addr", stores.trans.LocalAddr())
	}
	r, err := newRaft(conf, s.fsm, stores)
	if err != nil {
		_ = stores.close()
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	s.applyGate = newApplyGate(r.Apply, applyGateMinHold)
	return nil
}

// setRaftTimeouts sets conf's heartbeat, election and lease timeouts for
// a server expecting bootstrapExpect servers, scaled by raft_multiplier.
func setRaftTimeouts(conf *raft.Config, bootstrapExpect, multiplier int) {
	if bootstrapExpect == 1 {
		// A lone voter has nobody to wait for: elect quickly.
		conf.HeartbeatTimeout = 200 * time.Millisecond
		conf.ElectionTimeout = 200 * time.Millisecond
		conf.LeaderLeaseTimeout = 100 * time.Millisecond
	} else {
		// The leader steps down when it has not heard from a quorum
		// within its lease. Raft's default lease is half the followers'
		// heartbeat timeout, so a leader starved of CPU for 500 ms (its
		// own clients' requests, GC, a busy host) abdicates although no
		// follower would have started an election yet, and the cluster
		// stops accepting writes until a new leader is elected and has
		// caught up. A lease as long as the heartbeat timeout (Raft's
		// upper bound) still ends a partitioned leader's term about when
		// the other side could first elect a new one (1-2 heartbeat
		// timeouts plus an election), and tolerates twice the stall.
		conf.LeaderLeaseTimeout = conf.HeartbeatTimeout
	}
	mult := time.Duration(multiplier)
	conf.HeartbeatTimeout *= mult
	conf.ElectionTimeout *= mult
	conf.LeaderLeaseTimeout *= mult
}

// newRaft is raft.NewRaft, which panics when it cannot read the log it
// was given (a damaged raft-wal directory): that becomes an error saying
// what to do instead of a stack trace.
func newRaft(conf *raft.Config, fsm raft.FSM, stores *raftStores) (r *raft.Raft, err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("the Raft log is damaged and cannot be read (%v): restore the server from a snapshot (nomadlike operator snapshot restore), or remove its data_dir's server directory so it rejoins the cluster as a new server and catches up", p)
		}
	}()
	return raft.NewRaft(conf, fsm, stores.logs, stores.stable, stores.snaps, stores.trans)
}

// raftTransport is Raft's TCP transport, over mutual TLS when the agent's
// tls block sets rpc = true.
func (s *Server) raftTransport(advertise net.Addr, hl hclog.Logger) (*raft.NetworkTransport, error) {
	if s.cfg.RaftTLSListen == nil || s.cfg.RaftTLSDial == nil {
		return raft.NewTCPTransportWithLogger(s.cfg.RaftBindAddr, advertise, 3, 10*time.Second, hl.Named("transport"))
	}
	stream, err := newTLSStreamLayer(s.cfg.RaftBindAddr, advertise, s.cfg.RaftTLSListen, s.cfg.RaftTLSDial)
	if err != nil {
		return nil, err
	}
	return raft.NewNetworkTransportWithLogger(stream, 3, 10*time.Second, hl.Named("transport")), nil
}
