package server

import (
	"log/slog"
	"math/rand"
	"time"
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
	// NumSchedulers is the number of scheduler workers; 0 means runtime.NumCPU().
	NumSchedulers int
	// MinHeartbeatTTL is the shortest TTL handed to clients (default 10s).
	MinHeartbeatTTL time.Duration
	// HeartbeatGrace is added to a TTL before a node is marked down (default 10s).
	HeartbeatGrace time.Duration
	// Logger receives the server's logs; nil discards them.
	Logger *slog.Logger

	// newScheduler replaces scheduler.NewScheduler (tests only).
	newScheduler schedulerFactory
	// newRand seeds random sources (tests only).
	newRand func() *rand.Rand
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
)
