package server

import (
	"crypto/tls"
	"log/slog"
	"math/rand"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Config configures a Server. The zero value of every field but Logger has a
// usable default (see withDefaults).
type Config struct {
	NodeName, Region, Datacenter string
	// DataDir holds durable Raft storage (DataDir/server/raft). Empty means
	// in-memory Raft, as `agent -dev` uses: nothing survives a restart.
	DataDir string
	// RaftBindAddr is the TCP address Raft listens on ("127.0.0.1:4647").
	// Ignored in memory mode, which uses an in-memory transport.
	RaftBindAddr string
	// RaftAdvertise is the address other servers use to reach this one;
	// empty means the bound address.
	RaftAdvertise string
	// BootstrapExpect is the number of servers to wait for before electing a
	// leader; 1 bootstraps a single server.
	BootstrapExpect int
	// NumSchedulers is the number of scheduler workers; 0 means
	// DefaultNumSchedulers().
	NumSchedulers int
	// MinHeartbeatTTL is the shortest TTL handed to clients (default 10s).
	MinHeartbeatTTL time.Duration
	// HeartbeatGrace is added to a TTL before a node is marked down (default 10s).
	HeartbeatGrace time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger
	// ACLBootstrapResetFile is where an operator writes the reset index to
	// allow one more ACL bootstrap (Nomad's <data_dir>/server/acl-bootstrap-reset);
	// empty disables the reset procedure.
	ACLBootstrapResetFile string

	// Cluster settings (cluster.go). They matter when DataDir is set:
	// in-memory servers (-dev) form no cluster.

	// SerfBindAddr is the host:port the serf LAN pool binds ("127.0.0.1:4648").
	// Empty means no serf: a single server (BootstrapExpect must be 1).
	SerfBindAddr string
	// SerfAdvertise is the serf address other servers use; empty means bound.
	SerfAdvertise string
	// HTTPAddr is this agent's advertised HTTP address (host:port), gossiped
	// so followers can forward requests and clients can learn the servers.
	HTTPAddr string
	// StartJoin are serf addresses joined once at start (a failure is an error).
	StartJoin []string
	// RetryJoin are serf addresses joined in the background until one join
	// succeeds, every RetryInterval, at most RetryMaxAttempts times (0: forever).
	RetryJoin        []string
	RetryInterval    time.Duration
	RetryMaxAttempts int
	// EncryptKey is the gossip encryption key (16, 24 or 32 bytes); nil means
	// no encryption unless a keyring file from an earlier run exists.
	EncryptKey []byte
	// Build is the version gossiped in the "build" tag.
	Build string
	// RaftSnapshotThreshold and RaftSnapshotInterval control how often Raft
	// snapshots the FSM and compacts its log; RaftTrailingLogs is how many
	// entries stay behind a snapshot for slow followers. 0 means Raft's default.
	RaftSnapshotThreshold uint64
	RaftSnapshotInterval  time.Duration
	RaftTrailingLogs      uint64
	// RaftSegmentSize is the size in bytes of a Raft log (raft-wal) segment
	// file, preallocated when the segment is created; 0 is raft-wal's 64 MiB.
	// A small data_dir filesystem needs a smaller one.
	RaftSegmentSize int
	// Clock is this server's wall clock for write forwarding (nil:
	// time.Now). Tests inject a skewed one: servers never assume their
	// clocks agree (forward.go).
	Clock func() time.Time
	// RaftMultiplier scales Raft's timeouts (1 is fastest, the default).
	RaftMultiplier int
	// FailoverHeartbeatTTL is how long a new leader waits for every node's
	// first heartbeat before marking it down (default 5m, as Nomad).
	FailoverHeartbeatTTL time.Duration
	// CleanupDeadServers removes servers from Raft that serf reports left,
	// or failed for longer than DeadServerThreshold (default 30s).
	CleanupDeadServers  bool
	DeadServerThreshold time.Duration
	// Backup configures automatic snapshots written by the leader.
	Backup BackupConfig
	// GC configures the leader's garbage collection (gc_config.go).
	GC GCConfig

	// TLS (the agent's tls block; raft_tls.go). Nil fields mean plain TCP.

	// RaftTLSListen and RaftTLSDial carry Raft traffic over mutual TLS:
	// the first serves incoming connections, the second dials other servers
	// (both must be set, or neither).
	RaftTLSListen, RaftTLSDial *tls.Config
	// PeerHTTPTLS, when set, is how this server dials other servers' HTTP
	// API (https://: leader forwarding, peer checks); nil means http://.
	PeerHTTPTLS *tls.Config

	// Metrics is the registry the server's instruments join (the agent's,
	// shared with its client and HTTP API); nil keeps them private.
	Metrics prometheus.Registerer

	// newScheduler replaces scheduler.NewScheduler (tests only).
	newScheduler schedulerFactory
	// newRand seeds random sources (tests only).
	newRand func() *rand.Rand
	// planApplyHook runs in the plan applier after a plan's evaluation
	// was found still outstanding and before the plan is checked and
	// committed (tests only: it stands for a slow commit).
	planApplyHook func(*structs.Plan)
	// planCommitHook runs when a checked plan is about to be handed to
	// Raft, while the applier checks the next plan; an error stands for a
	// failed Raft apply (tests only: a slow or failing commit).
	planCommitHook func(*structs.Plan) error
}

// BackupConfig is server { snapshot { ... } }: the leader writes a snapshot
// archive every Interval into Path and keeps the newest Retain of them.
type BackupConfig struct {
	Interval time.Duration
	Retain   int
	Path     string
}

// Tunables that are not user-facing.
const (
	defaultHeartbeatTTL   = 10 * time.Second
	defaultHeartbeatGrace = 10 * time.Second
	// maxHeartbeatsPerSecond bounds the heartbeat rate the leader accepts;
	// TTLs grow with the number of nodes to respect it.
	maxHeartbeatsPerSecond = 50.0
	// raftApplyTimeout bounds how long a write waits to enter the Raft log.
	raftApplyTimeout = 30 * time.Second
	// evalNackTimeout is how long a worker may hold an eval before it is redelivered.
	evalNackTimeout = 60 * time.Second
	// evalDeliveryLimit is how many times an eval is delivered before it is failed.
	evalDeliveryLimit = 3
	// evalNackDelay delays the redelivery of a nacked evaluation.
	evalNackDelay = 1 * time.Second
	// maxMemoryMB, maxCPU and maxDiskMB are sanity bounds on a single ask.
	maxMemoryMB = 1 << 30 // 1 PB
	maxCPU      = 1 << 30 // MHz
	maxDiskMB   = 1 << 30
	maxCount    = 1 << 20
	// defaultFailoverHeartbeatTTL is Nomad's failover_heartbeat_ttl.
	defaultFailoverHeartbeatTTL = 5 * time.Minute
	// defaultDeadServerThreshold is how long a failed server stays a voter.
	defaultDeadServerThreshold = 30 * time.Second
	// defaultRetryInterval is retry_join's default interval, as Nomad's.
	defaultRetryInterval = 30 * time.Second
	// reconcileInterval is how often the leader reconciles serf and Raft.
	reconcileInterval = 5 * time.Second
)

// DefaultNumSchedulers is the number of scheduler workers a server runs
// unless configured: one per core (Nomad's default), and at least 8. A
// worker spends most of an evaluation waiting for Raft (its plan's commit,
// a round of fsyncs on a quorum of servers), not on a core, and the plan
// applier commits the plans of all waiting workers in one entry: on 2
// cores, 8 workers scheduled 412 job registrations a second against 177
// with 2 (BenchmarkClusterRegister's sched-regs/s).
func DefaultNumSchedulers() int {
	return max(8, runtime.NumCPU())
}
