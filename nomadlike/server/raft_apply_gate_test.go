package server

import (
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// gateFuture is a raft.ApplyFuture the test answers.
type gateFuture struct {
	done  chan struct{}
	err   error
	index uint64
}

func (f *gateFuture) Error() error   { <-f.done; return f.err }
func (f *gateFuture) Index() uint64  { return f.index }
func (f *gateFuture) Response() any  { return f.index * 10 }
func (f *gateFuture) finish(e error) { f.err = e; close(f.done) }

// gateRaft records the entries handed to it, in order.
type gateRaft struct {
	mu      sync.Mutex
	cmds    []string
	futures []*gateFuture
	handed  chan struct{}
}

func (r *gateRaft) apply(cmd []byte, _ time.Duration) raft.ApplyFuture {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := &gateFuture{done: make(chan struct{}), index: uint64(len(r.cmds) + 1)}
	r.cmds = append(r.cmds, string(cmd))
	r.futures = append(r.futures, f)
	r.handed <- struct{}{}
	return f
}

func (r *gateRaft) handedOver() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cmds...)
}

func (r *gateRaft) future(i int) *gateFuture {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.futures[i]
}

// waitHanded waits until n entries in all were handed to Raft.
func (r *gateRaft) waitHanded(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for len(r.handedOver()) < n {
		select {
		case <-r.handed:
		case <-deadline:
			t.Fatalf("handed to raft: %v, want %d entries", r.handedOver(), n)
		}
	}
}

func TestApplyGateHoldsWritesWhileARoundIsInFlight(t *testing.T) {
	r := &gateRaft{handed: make(chan struct{}, 100)}
	g := newApplyGate(r.apply, 1)

	// Nothing in flight: the first write goes to Raft at once.
	a := g.Apply([]byte("a"), time.Second)
	if got := r.handedOver(); len(got) != 1 || got[0] != "a" {
		t.Fatalf("after the first write Raft has %v, want [a]", got)
	}
	// A round is in flight: the next writes wait for it.
	b := g.Apply([]byte("b"), time.Second)
	c := g.Apply([]byte("c"), time.Second)
	if got := r.handedOver(); len(got) != 1 {
		t.Fatalf("writes handed to Raft while a round was in flight: %v", got)
	}
	// The round is applied: both go to Raft together, in order.
	r.future(0).finish(nil)
	if err := a.Error(); err != nil || a.Index() != 1 {
		t.Fatalf("first write: err %v index %d", err, a.Index())
	}
	r.waitHanded(t, 3)
	if got := r.handedOver(); got[1] != "b" || got[2] != "c" {
		t.Fatalf("Raft has %v, want [a b c]", got)
	}
	// And while that round is in flight, d waits for it: a round is
	// over when its last entry is applied.
	d := g.Apply([]byte("d"), time.Second)
	r.future(1).finish(errors.New("leadership lost"))
	if err := b.Error(); err == nil || err.Error() != "leadership lost" {
		t.Fatalf("held write's error: %v, want Raft's", err)
	}
	if got := r.handedOver(); len(got) != 3 {
		t.Fatalf("d handed to Raft before its round's last entry was applied: %v", got)
	}
	r.future(2).finish(nil)
	if err := c.Error(); err != nil || c.Index() != 3 || c.Response() != uint64(30) {
		t.Fatalf("held write: err %v index %d response %v, want Raft's", err, c.Index(), c.Response())
	}
	r.waitHanded(t, 4)
	r.future(3).finish(nil)
	if err := d.Error(); err != nil || d.Index() != 4 {
		t.Fatalf("d: err %v index %d", err, d.Index())
	}
	// Nothing held when the last round ended: the gate is open again.
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		open := g.entries == 0 && len(g.held) == 0
		g.mu.Unlock()
		if open {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the gate stayed shut after every round was applied")
		}
		time.Sleep(time.Millisecond) // polling interval of a condition wait
	}
	g.Apply([]byte("e"), time.Second)
	if got := r.handedOver(); len(got) != 5 || got[4] != "e" {
		t.Fatalf("with nothing in flight Raft has %v, want e handed at once", got)
	}
}

// TestApplyGateHoldsOnlyPastMinHold: with fewer than minHold entries in
// flight writes go to Raft at once, each a round of its own.
func TestApplyGateHoldsOnlyPastMinHold(t *testing.T) {
	r := &gateRaft{handed: make(chan struct{}, 100)}
	g := newApplyGate(r.apply, 3)
	a := g.Apply([]byte("a"), time.Second)
	g.Apply([]byte("b"), time.Second)
	g.Apply([]byte("c"), time.Second)
	if got := r.handedOver(); len(got) != 3 {
		t.Fatalf("with fewer than 3 entries in flight Raft has %v, want [a b c]", got)
	}
	// Three in flight: d is held until a round (here a's) is applied.
	d := g.Apply([]byte("d"), time.Second)
	if got := r.handedOver(); len(got) != 3 {
		t.Fatalf("d handed to Raft with 3 entries in flight: %v", got)
	}
	r.future(0).finish(nil)
	if err := a.Error(); err != nil {
		t.Fatal(err)
	}
	r.waitHanded(t, 4)
	r.future(3).finish(nil)
	if err := d.Error(); err != nil || d.Index() != 4 {
		t.Fatalf("d: err %v index %d", err, d.Index())
	}
}

// TestApplyGateOnRaft runs concurrent writers through the gate on a real
// (in-memory) Raft: every write is applied once, each writer's in order.
func TestApplyGateOnRaft(t *testing.T) {
	conf := raft.DefaultConfig()
	conf.LocalID = "gate"
	conf.BatchApplyCh = true
	conf.HeartbeatTimeout = 50 * time.Millisecond
	conf.ElectionTimeout = 50 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	store := raft.NewInmemStore()
	snaps := raft.NewInmemSnapshotStore()
	addr, trans := raft.NewInmemTransport("")
	fsm := &orderFSM{}
	if err := raft.BootstrapCluster(conf, store, store, snaps, trans, raft.Configuration{Servers: []raft.Server{{ID: conf.LocalID, Address: addr}}}); err != nil {
		t.Fatal(err)
	}
	r, err := raft.NewRaft(conf, fsm, store, store, snaps, trans)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Shutdown()
	select {
	case <-r.LeaderCh():
	case <-time.After(10 * time.Second):
		t.Fatal("no leader")
	}
	g := newApplyGate(r.Apply, applyGateMinHold)
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				f := g.Apply([]byte{byte(w), byte(i)}, 5*time.Second)
				if i%3 == 0 { // some writers wait, some go on
					if err := f.Error(); err != nil {
						t.Errorf("writer %d entry %d: %v", w, i, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if err := r.Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}
	fsm.mu.Lock()
	defer fsm.mu.Unlock()
	next := make([]int, writers)
	for _, e := range fsm.applied {
		w, i := int(e[0]), int(e[1])
		if i != next[w] {
			t.Fatalf("writer %d: entry %d applied when %d was next", w, i, next[w])
		}
		next[w]++
	}
	for w, n := range next {
		if n != each {
			t.Fatalf("writer %d: %d entries applied, want %d", w, n, each)
		}
	}
}

// orderFSM records the entries it applies.
type orderFSM struct {
	mu      sync.Mutex
	applied [][]byte
}

func (f *orderFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	f.applied = append(f.applied, l.Data)
	f.mu.Unlock()
	return nil
}

func (f *orderFSM) Snapshot() (raft.FSMSnapshot, error) { return nil, errors.New("no snapshots") }

func (f *orderFSM) Restore(rc io.ReadCloser) error { return rc.Close() }
