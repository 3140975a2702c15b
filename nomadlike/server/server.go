package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/serf/serf"

	"github.com/nomadlike/nomadlike/nomadlike/scheduler"
	"github.com/nomadlike/nomadlike/nomadlike/state"
)

// Server is a nomadlike server: Raft, the FSM and state store, the write
// endpoints, and the leader's duties. Its methods are safe for concurrent use.
type Server struct {
	// gcMu serialises garbage collection passes (gc.go).
	gcMu    sync.Mutex
	cfg     Config
	logger  *slog.Logger
	state   *state.Store
	fsm     *fsm
	broker  *evalBroker
	blocked *blockedEvals
	planQ   *planQueue
	hb      *heartbeats
	// usage and autoscale are the autoscaler's (autoscaler.go).
	usage     usageTable
	autoscale autoscalerState
	metrics   *serverMetrics

	raft      *raft.Raft
	raftStore *raftStores
	// applyGate groups the writes handed to raft (raftApplyAsync) into
	// rounds, one in flight at a time (raft_apply_gate.go).
	applyGate *applyGate
	// hadRaftState is true when Raft storage held state at start.
	hadRaftState bool
	// raftID is this server's Raft ID (loadServerID), set before Raft starts.
	raftID string
	// leaderReady is true while this server leads and has applied every
	// entry committed before its term (establishLeadership's barrier) and
	// restored its leader state: only then does it serve and accept writes.
	leaderReady atomic.Bool
	// clocks measures the leaders' clocks for forwarded requests (forward.go).
	clocks leaderClocks

	// serf is the LAN gossip pool (nil without SerfBindAddr). bootstrapped
	// is set once this server has a Raft configuration or knows a cluster
	// exists, after which it never bootstraps. reconcileCh (size 1) nudges
	// the leader's reconciler. clusterCancel and clusterWG own the serf
	// goroutines.
	serf         *serf.Serf
	bootstrapped atomic.Bool
	reconcileCh  chan struct{}
	// reaped holds servers pruned from the serf pool (force-leave -prune)
	// that the leader's reconciler is still to remove from Raft.
	reaped        reapedServers
	clusterCancel context.CancelFunc
	clusterWG     sync.WaitGroup
	// reestablish (size 1) asks the leadership monitor to restart the
	// leader duties, after a snapshot restore replaced the state.
	reestablish chan struct{}

	// leaderLoop owns the leadership monitor goroutine.
	shutdownOnce sync.Once
	stopMonitor  context.CancelFunc
	monitorDone  chan struct{}

	rngMu sync.Mutex
	rng   *rand.Rand

	// peerHTTP dials other servers' HTTP API (raft_tls.go).
	peerHTTP *http.Client

	// keystore holds this server's key-encryption keys; enc unwraps and
	// uses the keyring's root keys (keystore.go, encrypter.go).
	keystore *keystore
	enc      *encrypter
	// varLocks tracks variable lock TTLs and lock delays on the leader.
	varLocks *varLockTimers
	// allocUpdates coalesces clients' allocation updates into batched
	// Raft entries (alloc_update_batch.go).
	allocUpdates allocUpdateBatcher
}

// withDefaults fills in the defaults of the zero-valued fields.
func (c Config) withDefaults() (Config, error) {
	if c.Logger == nil {
		c.Logger = discardLogger()
	}
	if c.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return c, fmt.Errorf("server config: NodeName is empty and the hostname is unknown: %w", err)
		}
		c.NodeName = h
	}
	if c.Region == "" {
		c.Region = "global"
	}
	if c.Datacenter == "" {
		c.Datacenter = "dc1"
	}
	if c.RaftBindAddr == "" {
		c.RaftBindAddr = "127.0.0.1:4647"
	}
	if c.BootstrapExpect == 0 {
		c.BootstrapExpect = 1
	}
	if c.BootstrapExpect < 0 {
		return c, fmt.Errorf("server config: bootstrap_expect = %d must be 1 or more", c.BootstrapExpect)
	}
	if c.BootstrapExpect > 1 && (c.SerfBindAddr == "" || c.DataDir == "") {
		return c, fmt.Errorf("server config: bootstrap_expect = %d needs durable storage and serf gossip (a data_dir, not -dev): servers find each other on the serf port", c.BootstrapExpect)
	}
	if c.SerfBindAddr != "" && c.DataDir == "" {
		return c, errors.New("server config: serf gossip needs a data_dir (an in-memory -dev server cannot join a cluster)")
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = defaultRetryInterval
	}
	if c.FailoverHeartbeatTTL <= 0 {
		c.FailoverHeartbeatTTL = defaultFailoverHeartbeatTTL
	}
	if c.DeadServerThreshold <= 0 {
		c.DeadServerThreshold = defaultDeadServerThreshold
	}
	if c.RaftMultiplier <= 0 {
		c.RaftMultiplier = 1
	}
	if c.RaftMultiplier > 10 {
		return c, fmt.Errorf("server config: raft_multiplier = %d must be between 1 and 10", c.RaftMultiplier)
	}
	if c.Build == "" {
		c.Build = "0.1.0"
	}
	if c.Backup.Interval > 0 {
		if c.Backup.Path == "" {
			return c, errors.New("server config: snapshot { interval } is set but path is empty: set path to the directory for automatic snapshots")
		}
		if c.Backup.Retain <= 0 {
			c.Backup.Retain = 24
		}
	}
	if c.NumSchedulers <= 0 {
		c.NumSchedulers = DefaultNumSchedulers()
	}
	if c.MinHeartbeatTTL <= 0 {
		c.MinHeartbeatTTL = defaultHeartbeatTTL
	}
	if c.HeartbeatGrace <= 0 {
		c.HeartbeatGrace = defaultHeartbeatGrace
	}
	if c.newScheduler == nil {
		c.newScheduler = scheduler.NewScheduler
	}
	if c.newRand == nil {
		c.newRand = func() *rand.Rand { return rand.New(rand.NewSource(time.Now().UnixNano())) }
	}
	return c, nil
}

// NewServer starts a server: it opens (or creates) Raft storage, replays the
// log into the state store, and with BootstrapExpect 1 and no existing state
// bootstraps a single-server cluster. Leadership duties start when this
// server becomes the leader.
func NewServer(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger.With("component", "server")
	st, err := state.NewStore()
	if err != nil {
		return nil, fmt.Errorf("create state store: %w", err)
	}
	s := &Server{cfg: cfg, logger: logger, state: st, rng: cfg.newRand(),
		reconcileCh: make(chan struct{}, 1), reestablish: make(chan struct{}, 1),
		peerHTTP: newPeerHTTP(cfg.PeerHTTPTLS)}
	ksDir := ""
	if cfg.DataDir != "" {
		ksDir = filepath.Join(cfg.DataDir, "server", "keystore")
	}
	if s.keystore, err = openKeystore(ksDir); err != nil {
		return nil, err
	}
	s.enc = newEncrypter(s.keystore, st)
	s.varLocks = newVarLockTimers()
	s.broker = newEvalBroker(logger.With("component", "eval_broker"), evalNackTimeout, evalNackDelay, evalDeliveryLimit)
	s.blocked = newBlockedEvals(logger.With("component", "blocked_evals"), s.broker)
	s.fsm = newFSM(logger.With("component", "fsm"), st, s.broker, s.blocked)
	s.planQ = newPlanQueue()
	s.hb = newHeartbeats(s)
	s.metrics = newServerMetrics(cfg.Metrics, s)
	s.fsm.applyTime = s.metrics.fsmApply
	s.planQ.queued = &s.metrics.planQueued
	s.planQ.wait = s.metrics.planQueueWait

	leaderCh := make(chan bool, 1)
	if err := s.setupRaft(leaderCh); err != nil {
		return nil, err
	}
	if err := s.startCluster(); err != nil {
		if f := s.raft.Shutdown(); f.Error() != nil {
			err = errors.Join(err, f.Error())
		}
		return nil, errors.Join(err, s.raftStore.close())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stopMonitor = cancel
	s.monitorDone = make(chan struct{})
	go func() {
		defer close(s.monitorDone)
		s.monitorLeadership(ctx, leaderCh)
	}()
	return s, nil
}

// Shutdown stops leader duties and Raft and closes the storage. It is safe
// to call more than once.
func (s *Server) Shutdown() error {
	var err error
	s.shutdownOnce.Do(func() {
		s.stopMonitor()
		<-s.monitorDone
		err = s.stopCluster()
		if f := s.raft.Shutdown(); f.Error() != nil {
			err = errors.Join(err, fmt.Errorf("shut down raft: %w", f.Error()))
		}
		if cerr := s.raftStore.close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	})
	return err
}

// State returns the read side of the state store: blocking queries and
// read-only snapshots (writes go through Raft).
func (s *Server) State() state.Reader { return s.state }

// IsLeader reports whether this server is the Raft leader and ready to lead:
// it has applied its log up to the last committed index and started its
// leader duties. Until then it neither serves reads nor accepts writes as
// the leader (the HTTP layer holds requests meanwhile).
func (s *Server) IsLeader() bool { return s.isRaftLeader() && s.leaderReady.Load() }

// isRaftLeader reports whether Raft has elected this server, ready or not.
func (s *Server) isRaftLeader() bool { return s.raft.State() == raft.Leader }

// Ready reports whether this server serves a consistent state: the leader
// once it is ready (IsLeader), a follower once it knows a leader and has
// applied everything committed it has heard of. When not, the reason says
// how far its log replay is.
func (s *Server) Ready() (bool, string) {
	applied, commit, last := s.fsm.appliedIndex(), s.raft.CommitIndex(), s.raft.LastIndex()
	if s.isRaftLeader() {
		if s.leaderReady.Load() {
			return true, "ok"
		}
		return false, fmt.Sprintf("this server was elected leader and is applying its Raft log before it serves (applied index %d of %d)", applied, last)
	}
	if s.Leader() == "" {
		return false, "no cluster leader: the server has not joined a cluster with a quorum (check bootstrap_expect and the other servers)"
	}
	if commit == 0 || applied < commit {
		return false, fmt.Sprintf("this follower is applying the Raft log (applied index %d of committed %d; %d entries behind)", applied, commit, commit-min(applied, commit))
	}
	return true, "ok"
}

// Leader returns the leader's Raft address, or "" when there is none.
func (s *Server) Leader() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// Peers returns the Raft addresses of the servers in the configuration.
func (s *Server) Peers() []string {
	f := s.raft.GetConfiguration()
	if f.Error() != nil {
		return nil
	}
	var out []string
	for _, srv := range f.Configuration().Servers {
		out = append(out, string(srv.Address))
	}
	return out
}

// WaitForLeader blocks until the cluster has a leader or ctx ends. When
// this server is the one elected, it also waits until it is ready to accept
// writes (IsLeader), so a write right after it is not refused.
func (s *Server) WaitForLeader(ctx context.Context) error {
	obs := make(chan raft.Observation, 1)
	observer := raft.NewObserver(obs, false, func(o *raft.Observation) bool {
		_, ok := o.Data.(raft.LeaderObservation)
		return ok
	})
	s.raft.RegisterObserver(observer)
	defer s.raft.DeregisterObserver(observer)
	// Readiness flips without a Raft observation: poll it too.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for s.Leader() == "" || (s.isRaftLeader() && !s.IsLeader()) {
		select {
		case <-obs:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("wait for a cluster leader: %w", ctx.Err())
		}
	}
	return nil
}

// Stats returns Raft and scheduling statistics for /v1/agent/self.
func (s *Server) Stats() map[string]string {
	out := s.raft.Stats()
	b := s.broker.stats()
	out["broker_ready"] = strconv.Itoa(b.Ready)
	out["broker_unacked"] = strconv.Itoa(b.Unacked)
	out["broker_pending"] = strconv.Itoa(b.Pending)
	out["broker_delayed"] = strconv.Itoa(b.Delayed)
	// The operator's PauseEvalBroker: evaluations stay pending while true.
	out["broker_paused"] = strconv.FormatBool(s.broker.isPaused())
	out["blocked_evals"] = strconv.Itoa(s.blocked.count())
	out["heartbeat_timers"] = strconv.Itoa(s.hb.count())
	out["leader"] = strconv.FormatBool(s.IsLeader())
	out["leader_addr"] = s.Leader()
	out["num_schedulers"] = strconv.Itoa(s.cfg.NumSchedulers)
	return out
}

// newRand returns a random source for one scheduler run, seeded from the
// server's source.
func (s *Server) newRand() *rand.Rand {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return rand.New(rand.NewSource(s.rng.Int63()))
}
