package server

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// applyGateMinHold is how many entries must be on their way through Raft
// before the apply gate holds writes: with fewer (one writer and the
// scheduler's few writes) rounds are small anyway, and holding would only
// add latency.
const applyGateMinHold = 4

// applyGate is the leader's group commit in front of raft.Apply. While a
// round of writes is on its way (handed to Raft and not yet applied by
// this server's FSM) and at least minHold entries are, the writes handed
// in are held; when a round is applied they all go to Raft at once, as the
// next round. Raft's leader loop dispatches what waits in its apply
// channel together (one log write and fsync on the leader, one
// AppendEntries and fsync on each follower, one FSM batch on every
// server), so each round costs those once.
//
// Without it, Raft dispatched every write as soon as its leader loop woke:
// 16 concurrent registrations made rounds of ~5 entries, and each round
// cost three fsyncs (~100 µs of CPU each on the benchmark's disk), two
// AppendEntries and three FSM batches. Held writes wait for at most the
// replication of the round before them: a write is answered only after
// the FSM has applied every entry before it, so the time the round in
// flight spends in the FSM was waited for anyway. A write handed in while
// fewer than minHold entries are in flight goes to Raft at once, as a
// round of its own.
//
// The gate holds writes only in memory and hands them to Raft in the order
// they were handed in; Raft's durability is unchanged (a write is answered
// only after Raft committed it).
type applyGate struct {
	// apply hands one entry to Raft (raft.Raft.Apply).
	apply func(cmd []byte, timeout time.Duration) raft.ApplyFuture

	// minHold is how many entries must be in flight before writes are held.
	minHold int

	mu      sync.Mutex
	held    []*gatedFuture // writes waiting for a round to end, in order
	entries int            // entries handed to Raft and not yet applied
}

// newApplyGate returns a gate handing entries to apply, holding writes
// while at least minHold entries are in flight.
func newApplyGate(apply func(cmd []byte, timeout time.Duration) raft.ApplyFuture, minHold int) *applyGate {
	return &applyGate{apply: apply, minHold: max(minHold, 1)}
}

// Apply hands cmd to Raft now if fewer than minHold entries are in flight
// and none is held, else holds it for the next round. Either way it
// returns at once; the future's methods wait until the entry was handed to
// Raft, then for Raft's future.
// timeout is raft.Apply's: how long Raft may take to accept the entry once
// it is handed over.
func (g *applyGate) Apply(cmd []byte, timeout time.Duration) raft.ApplyFuture {
	gf := &gatedFuture{cmd: cmd, timeout: timeout, ready: make(chan struct{})}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.held) > 0 || g.entries >= g.minHold {
		g.held = append(g.held, gf)
		return gf
	}
	go g.rounds(g.handOver([]*gatedFuture{gf}))
	return gf
}

// handOver hands a round to Raft, in order, and returns its last entry,
// which the gate waits for. g.mu must be held: rounds keep their order.
func (g *applyGate) handOver(round []*gatedFuture) *gatedFuture {
	g.entries += len(round)
	last := round[len(round)-1]
	last.round = len(round)
	last.watched, last.done = true, make(chan struct{})
	for _, gf := range round {
		gf.f = g.apply(gf.cmd, gf.timeout)
		gf.cmd = nil
		close(gf.ready)
	}
	return last
}

// rounds waits for the round ending with last, then hands every held
// write to Raft as the next round, until a round ends with none held.
func (g *applyGate) rounds(last *gatedFuture) {
	for {
		// Raft answers every future: applied, failed, not leader, shut
		// down. Raft's futures must not be waited for by two goroutines
		// at once (the second can see nil for an error), so the gate
		// keeps what it saw for the writer.
		last.err = last.f.Error()
		close(last.done)
		g.mu.Lock()
		g.entries -= last.round
		round := g.held
		if len(round) == 0 {
			g.mu.Unlock()
			return
		}
		g.held = nil
		last = g.handOver(round)
		g.mu.Unlock()
	}
}

// gatedFuture is the raft.ApplyFuture of a write through the gate: it
// waits until the write was handed to Raft, then is Raft's future.
type gatedFuture struct {
	cmd     []byte
	timeout time.Duration
	ready   chan struct{} // closed once f (and watched, done) are set
	f       raft.ApplyFuture
	// watched is set on the last entry of a round: the gate waits for f,
	// and err is what it saw, set when done is closed.
	watched bool
	round   int // entries of the round, when watched
	done    chan struct{}
	err     error
}

// Error waits until Raft has applied the entry (or failed it) and returns
// Raft's error.
func (g *gatedFuture) Error() error {
	<-g.ready
	if g.watched {
		<-g.done
		return g.err
	}
	return g.f.Error()
}

// Index is the entry's Raft index; call it after Error.
func (g *gatedFuture) Index() uint64 {
	<-g.ready
	return g.f.Index()
}

// Response is what the FSM returned for the entry; call it after Error.
func (g *gatedFuture) Response() any {
	<-g.ready
	return g.f.Response()
}
