package iradix

import "sync/atomic"

// lazyCh is a node's or leaf's mutation channel, made only when someone
// watches it (nomadlike's change to go-immutable-radix v1.3.1: a go-memdb
// index entry had two 96-byte channels that almost nobody watched, about
// a third of the memory of a large state store).
//
// get returns the channel, making it on first use; close closes it if it
// was made and leaves the closed sentinel, so a watcher that asks after
// the mutation gets an already closed channel (it wakes at once and reads
// the new tree). Both are safe to call concurrently.
type lazyCh struct {
	p atomic.Pointer[chan struct{}]
}

// closedCh is the sentinel left by close: a closed channel.
var closedCh = func() *chan struct{} {
	c := make(chan struct{})
	close(c)
	return &c
}()

func (l *lazyCh) get() chan struct{} {
	if p := l.p.Load(); p != nil {
		return *p
	}
	c := make(chan struct{})
	if l.p.CompareAndSwap(nil, &c) {
		return c
	}
	return *l.p.Load()
}

func (l *lazyCh) close() {
	if old := l.p.Swap(closedCh); old != nil && old != closedCh {
		close(*old)
	}
}

// isClosed reports whether close was called (for tests).
func (l *lazyCh) isClosed() bool {
	return l.p.Load() == closedCh
}
