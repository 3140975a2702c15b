package client

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Timings of the registration and heartbeat loops.
const (
	minRetry = 500 * time.Millisecond
	maxRetry = 30 * time.Second
	// serverCallTimeout bounds a registration or heartbeat, so a server cut
	// off by a partition is given up on and the next one tried.
	serverCallTimeout = 10 * time.Second
)

// SessionConfig configures a Session.
type SessionConfig struct {
	// Node is the node to register, or nil until SetNode (before Run).
	Node *structs.Node
	// Servers are the servers' HTTP addresses (host:port or base URLs).
	Servers []string
	// IntroToken, when set, is sent with node registration instead of the
	// node's secret (client.intro_token).
	IntroToken string
	// TLS, when set, is how servers are dialled (https://).
	TLS *tls.Config
	// HTTPClient, when set, is shared by the session's server clients (the
	// node simulator shares one among thousands of sessions); nil means one
	// transport per server.
	HTTPClient *http.Client
	// SecretID is the node's secret, the token of every call (default:
	// Node.SecretID).
	SecretID string
	Logger   *slog.Logger
	// OnAllocs receives the node's allocations each time the blocking watch
	// returns a change. It runs on the watch goroutine: the next watch
	// starts when it returns.
	OnAllocs func(ctx context.Context, allocs []*structs.Allocation)
	// OnAllocChanges, set instead of OnAllocs, receives only what changed
	// each time the watch returns: the allocations new or with another
	// AllocModifyIndex since the last call (with their Job), and the IDs of
	// those gone. The session then keeps of each allocation only its
	// AllocModifyIndex and job version, not the allocation. It runs on the
	// watch goroutine, like OnAllocs.
	OnAllocChanges func(ctx context.Context, changed []*structs.Allocation, gone []string)
	// KeepJob, when set, is what the session keeps of each job version it
	// receives (key is its structs.JobVersionKey), e.g. a trimmed copy
	// shared by many sessions: the allocations handed to OnAllocs or
	// OnAllocChanges run the job it returns. decode decodes the job as
	// received; KeepJob need not call it when it holds that version
	// already (the reply's copy is then never decoded). By default the
	// job received.
	KeepJob func(key string, decode func() (*structs.Job, error)) (*structs.Job, error)
}

// Session is a node's protocol with the servers, without drivers or alloc
// runners: the server list with failover, registration and heartbeats at
// the TTL the server hands out, the blocking allocation watch and the
// batched allocation status updates. A Client runs one session; the node
// simulator (nomadlike/client/nodesim) runs thousands in one process over
// the same code.
//
// NewSession, then SetNode (unless the config has the node), then Run once.
// Enqueue and the accessors are safe from any goroutine.
type Session struct {
	cfg SessionConfig

	registered     chan struct{} // closed after the first successful registration
	registeredOnce sync.Once
	reregister     chan struct{} // size 1: the node changed and must register again

	mu        sync.Mutex
	node      *structs.Node
	servers   []*api.Client
	serverIdx int

	updates *updater
	stats   sessionCounters
}

// SessionStats counts a session's calls since it started.
type SessionStats struct {
	Registrations, Heartbeats, HeartbeatFailures, AllocWatches, AllocWatchFailures int64
	// AllocPulls counts fetches of changed allocations after a watch
	// return; StatusUpdates the allocation status reports sent (requests,
	// each with any number of allocations).
	AllocPulls, StatusUpdates int64
}

type sessionCounters struct {
	registrations, heartbeats, heartbeatFailures, allocWatches, allocWatchFailures atomic.Int64
	allocPulls, statusUpdates                                                      atomic.Int64
}

// NewSession validates the server addresses of cfg.
func NewSession(cfg SessionConfig) (*Session, error) {
	if len(cfg.Servers) == 0 {
		return nil, errors.New("client config: at least one server address is required (servers = [\"127.0.0.1:4646\"])")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SecretID == "" && cfg.Node != nil {
		cfg.SecretID = cfg.Node.SecretID
	}
	s := &Session{cfg: cfg, node: cfg.Node, registered: make(chan struct{}), reregister: make(chan struct{}, 1)}
	s.cfg.Node = nil
	if err := s.SetServers(cfg.Servers); err != nil {
		return nil, err
	}
	s.updates = newUpdater(s)
	return s, nil
}

// Run registers the node, then runs the heartbeat loop, the allocation
// watch and the status updater until ctx ends; it returns when they have
// stopped. Pending updates stay queued: call Flush to send them.
func (s *Session) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.registerLoop(ctx) })
	wg.Go(func() { s.watchAllocs(ctx) })
	wg.Go(func() { s.updates.run(ctx) })
	wg.Wait()
}

// Node returns a copy of the node to register.
func (s *Session) Node() *structs.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.node.Copy()
}

// NodeID returns the node's ID ("" before SetNode).
func (s *Session) NodeID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.node == nil {
		return ""
	}
	return s.node.ID
}

// SetNode replaces the node (which the session owns from now on); a
// running session registers it again.
func (s *Session) SetNode(n *structs.Node) {
	s.mu.Lock()
	s.node = n
	s.mu.Unlock()
	select {
	case s.reregister <- struct{}{}:
	default: // a re-registration is already pending
	}
}

// Registered is closed once the node has registered.
func (s *Session) Registered() <-chan struct{} { return s.registered }

// Enqueue records the latest client view of an allocation, sent with the
// next batch (about every 200 ms). The session owns a from then on: the
// caller must not change it (give a copy). It never blocks.
func (s *Session) Enqueue(a *structs.Allocation) { s.updates.enqueue(a) }

// Flush sends the pending allocation updates now.
func (s *Session) Flush(ctx context.Context) error { return s.updates.flush(ctx) }

// Stats returns the session's counters.
func (s *Session) Stats() SessionStats {
	return SessionStats{
		Registrations: s.stats.registrations.Load(), Heartbeats: s.stats.heartbeats.Load(),
		HeartbeatFailures: s.stats.heartbeatFailures.Load(),
		AllocWatches:      s.stats.allocWatches.Load(), AllocWatchFailures: s.stats.allocWatchFailures.Load(),
		AllocPulls: s.stats.allocPulls.Load(), StatusUpdates: s.stats.statusUpdates.Load(),
	}
}

// server returns the API client of the current server.
func (s *Session) server() *api.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.servers[s.serverIdx%len(s.servers)]
}

// serverFailed moves on to the next server after a failed call to srv.
func (s *Session) serverFailed(srv *api.Client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.servers[s.serverIdx%len(s.servers)] == srv {
		s.serverIdx++
	}
}

// backoff doubles d up to maxRetry.
func backoff(d time.Duration) time.Duration {
	if d < minRetry {
		return minRetry
	}
	return min(2*d, maxRetry)
}

// retryIn is the wait after a failed call, the previous one being d:
// backoff(d), and at least the server's Retry-After (a busy server's 429).
func retryIn(d time.Duration, err error) time.Duration {
	d = backoff(d)
	if after, ok := api.RetryAfter(err); ok && after > d {
		d = min(after, maxRetry)
	}
	return d
}

// jittered spreads d over [d, 1.5d), so that nodes refused together (a
// busy or leaderless server answers thousands at once) do not all come
// back at the same moment.
func jittered(d time.Duration) time.Duration {
	return d + rand.N(d/2+1)
}

// sleep waits d or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// heartbeatInterval is about half the TTL, less up to 10% jitter.
func heartbeatInterval(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = structs.DefaultHeartbeatTTL
	}
	half := ttl / 2
	return half - time.Duration(rand.Int64N(int64(half/10)+1))
}

// register registers the node until it succeeds or ctx ends, logging every
// failure with the server and the cause. It returns the heartbeat TTL.
func (s *Session) register(ctx context.Context) (time.Duration, bool) {
	var wait time.Duration
	for attempt := 1; ; attempt++ {
		srv := s.server()
		callCtx, cancel := context.WithTimeout(ctx, serverCallTimeout)
		reg := srv
		if s.cfg.IntroToken != "" {
			reg = srv.WithToken(s.cfg.IntroToken)
		}
		resp, err := reg.RegisterNode(callCtx, s.Node())
		cancel()
		if err == nil {
			s.stats.registrations.Add(1)
			s.cfg.Logger.Info("node registered", "server", srv.Address(), "heartbeat_ttl", resp.HeartbeatTTL)
			s.updateServers(resp.Servers)
			s.registeredOnce.Do(func() { close(s.registered) })
			return resp.HeartbeatTTL, true
		}
		if ctx.Err() != nil {
			return 0, false
		}
		wait = retryIn(wait, err)
		s.cfg.Logger.Error("node registration failed; the node cannot receive work until it registers",
			"server", srv.Address(), "attempt", attempt, "retry_in", wait, "error", err)
		s.serverFailed(srv)
		if !sleep(ctx, jittered(wait)) {
			return 0, false
		}
	}
}

// registerLoop registers, then heartbeats at about half the TTL; a 404 (the
// server lost the node) or SetNode makes it register again.
func (s *Session) registerLoop(ctx context.Context) {
	select { // the node given before Run is registered now
	case <-s.reregister:
	default:
	}
	ttl, ok := s.register(ctx)
	if !ok {
		return
	}
	var failWait time.Duration
	next := heartbeatInterval(ttl)
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.reregister:
			if ttl, ok = s.register(ctx); !ok {
				return
			}
			next = heartbeatInterval(ttl)
			continue
		case <-time.After(next):
		}
		srv := s.server()
		callCtx, cancel := context.WithTimeout(ctx, serverCallTimeout)
		resp, err := srv.Heartbeat(callCtx, s.NodeID())
		cancel()
		switch {
		case err == nil:
			s.stats.heartbeats.Add(1)
			failWait = 0
			ttl = resp.HeartbeatTTL
			s.updateServers(resp.Servers)
			next = heartbeatInterval(ttl)
		case ctx.Err() != nil:
			return
		case api.IsNotFound(err):
			s.stats.heartbeatFailures.Add(1)
			s.cfg.Logger.Warn("server does not know this node (404 on heartbeat); registering again", "server", srv.Address())
			if ttl, ok = s.register(ctx); !ok {
				return
			}
			next = heartbeatInterval(ttl)
		default:
			s.stats.heartbeatFailures.Add(1)
			failWait = retryIn(failWait, err)
			next = min(failWait, heartbeatInterval(ttl))
			s.cfg.Logger.Error("heartbeat failed; the node will be marked down if this persists past the TTL",
				"server", srv.Address(), "ttl", ttl, "retry_in", next, "error", err)
			s.serverFailed(srv)
		}
	}
}

// watchAllocs long-polls the node's allocations and hands each change to
// OnAllocs. It asks only for each allocation's AllocModifyIndex and then
// fetches the allocations that changed, without the job versions it
// already holds (allocwatch.go); against a server without that endpoint it
// falls back to Nomad's full list (GET /v1/node/{id}/allocations).
func (s *Session) watchAllocs(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-s.registered:
	}
	var index uint64
	var wait time.Duration
	cache := newAllocCache(s.cfg.OnAllocChanges == nil)
	cache.pulls, cache.keepJob = &s.stats.allocPulls, s.cfg.KeepJob
	full := false // the server lacks the client protocol's endpoint
	for {
		srv := s.server()
		// Bound the long poll, so a server cut off by a partition is left.
		callCtx, cancel := context.WithTimeout(ctx, allocWait+allocWait/16+serverCallTimeout)
		// Not ?stale (Nomad's clients watch stale): with the delta watch,
		// nodes watching followers left some new allocations pending
		// until the wait ran out (2 runs of 2: 8 and 12 of 20,000); the
		// leader answers every watch until that is understood.
		q := &api.QueryOptions{WaitIndex: index, WaitTime: allocWait}
		var meta *api.QueryMeta
		var err error
		if full {
			var allocs []*structs.Allocation
			if allocs, meta, err = srv.NodeAllocations(callCtx, s.NodeID(), q); err == nil {
				cache.putFull(allocs)
			}
		} else {
			meta, err = cache.sync(callCtx, srv, s.NodeID(), q)
		}
		cancel()
		if err != nil && !full && (api.IsNotFound(err) || isMethodNotAllowed(err)) {
			s.cfg.Logger.Warn("server has no client allocation endpoint (an older version); watching the full allocation list instead",
				"server", srv.Address(), "error", err)
			full = true
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			s.stats.allocWatchFailures.Add(1)
			wait = retryIn(wait, err)
			s.cfg.Logger.Error("watch allocations failed; new work will not start until it succeeds",
				"server", srv.Address(), "retry_in", wait, "error", err)
			s.serverFailed(srv)
			if !sleep(ctx, jittered(wait)) {
				return
			}
			continue
		}
		s.stats.allocWatches.Add(1)
		wait = 0
		if meta.LastIndex < index {
			index = 0 // the server's index went backwards (new cluster): start over
		} else {
			index = meta.LastIndex
		}
		switch {
		case s.cfg.OnAllocChanges != nil:
			if changed, gone := cache.takeChanges(); len(changed) > 0 || len(gone) > 0 {
				s.cfg.OnAllocChanges(ctx, changed, gone)
			}
		case s.cfg.OnAllocs != nil:
			s.cfg.OnAllocs(ctx, cache.list())
		}
	}
}
