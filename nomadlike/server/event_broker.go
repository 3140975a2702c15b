package server

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const (
	// eventBufferSize bounds the events kept for replay (?index=).
	eventBufferSize = 4096
	// eventQueueSize bounds the frames queued for one subscriber beyond its
	// replay; a subscriber that falls further behind is closed.
	eventQueueSize = 512
)

// ErrEventSubscriberTooSlow ends a subscription whose consumer fell behind:
// its queue overflowed. The consumer may reconnect with a later index.
var ErrEventSubscriberTooSlow = errors.New("event stream subscriber fell behind")

// EventSubscribeRequest selects events. Topics maps a topic to the keys
// wanted ("*" for all); topic "*" matches every topic. Namespace "*" means
// all namespaces; events outside namespaces (nodes) match any namespace.
// Index > 0 replays buffered events at that index or later (from the oldest
// kept when it is older); Index 0 replays the whole buffer, as Nomad does.
type EventSubscribeRequest struct {
	Topics    map[structs.Topic][]string
	Namespace string
	Index     uint64
}

// eventBroker fans the events of applied Raft entries out to subscribers
// and keeps the last eventBufferSize of them for replay. publish is called
// from the FSM goroutine and never blocks on a subscriber; subscribe and
// the subscriptions' methods are safe for concurrent use.
type eventBroker struct {
	mu       sync.Mutex
	size     int // bound on buffered events
	queue    int // per-subscriber queue bound
	frames   []structs.Events
	buffered int
	subs     map[*EventSubscription]struct{}
}

func newEventBroker(size, queue int) *eventBroker {
	return &eventBroker{size: size, queue: queue, subs: make(map[*EventSubscription]struct{})}
}

// publish buffers a frame and queues its matching events for every
// subscriber, closing the subscribers whose queues are full.
func (b *eventBroker) publish(ev structs.Events) {
	if len(ev.Events) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.frames = append(b.frames, ev)
	b.buffered += len(ev.Events)
	for b.buffered > b.size && len(b.frames) > 1 {
		b.buffered -= len(b.frames[0].Events)
		b.frames[0] = structs.Events{}
		b.frames = b.frames[1:]
	}
	for sub := range b.subs {
		if !sub.push(ev) {
			delete(b.subs, sub)
		}
	}
}

// subscribe starts a subscription, queueing the buffered events it asks to
// replay. The caller must Close it.
func (b *eventBroker) subscribe(req EventSubscribeRequest) *EventSubscription {
	b.mu.Lock()
	defer b.mu.Unlock()
	sub := &EventSubscription{
		filter: newEventFilter(req),
		notify: make(chan struct{}, 1),
		done:   make(chan struct{}),
		broker: b,
	}
	for _, f := range b.frames {
		if f.Index < req.Index {
			continue
		}
		if m, ok := sub.filter.match(f); ok {
			sub.queue = append(sub.queue, m)
		}
	}
	sub.limit = len(sub.queue) + b.queue
	if len(sub.queue) > 0 {
		sub.notify <- struct{}{}
	}
	b.subs[sub] = struct{}{}
	return sub
}

func (b *eventBroker) unsubscribe(sub *EventSubscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.subs, sub)
}

// subscribers returns the number of open subscriptions.
func (b *eventBroker) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// EventSubscription is one consumer's stream of event frames. Next is
// called from one goroutine; Close from any.
type EventSubscription struct {
	filter eventFilter
	broker *eventBroker
	notify chan struct{} // size 1: the queue changed or the subscription ended

	mu     sync.Mutex
	queue  []structs.Events
	limit  int
	err    error
	done   chan struct{}
	closed bool
}

// push queues the part of ev the subscriber wants. It reports false when
// the subscription is (now) closed: its queue was full or it was closed.
func (s *EventSubscription) push(ev structs.Events) bool {
	m, ok := s.filter.match(ev)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if !ok {
		return true
	}
	if len(s.queue) >= s.limit {
		// Next still returns the queued frames: ev is the first one lost.
		s.closeLocked(fmt.Errorf("%w: its queue of %d frames was full; reconnect with index=%d to resume from the server's buffer of the last %d events",
			ErrEventSubscriberTooSlow, s.limit, ev.Index, s.broker.size))
		return false
	}
	s.queue = append(s.queue, m)
	select {
	case s.notify <- struct{}{}:
	default:
	}
	return true
}

func (s *EventSubscription) closeLocked(err error) {
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	close(s.done)
}

// Next returns the next frame, waiting for one until ctx ends. After the
// subscription ends it returns the frames still queued, then the reason:
// ErrEventSubscriberTooSlow (wrapped) or an error for Close.
func (s *EventSubscription) Next(ctx context.Context) (structs.Events, error) {
	for {
		s.mu.Lock()
		if len(s.queue) > 0 {
			ev := s.queue[0]
			s.queue[0] = structs.Events{}
			s.queue = s.queue[1:]
			s.mu.Unlock()
			return ev, nil
		}
		if s.closed {
			err := s.err
			s.mu.Unlock()
			return structs.Events{}, err
		}
		s.mu.Unlock()
		select {
		case <-s.notify:
		case <-s.done:
		case <-ctx.Done():
			return structs.Events{}, ctx.Err()
		}
	}
}

// Close ends the subscription and frees its queue.
func (s *EventSubscription) Close() {
	s.broker.unsubscribe(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked(errors.New("event subscription closed"))
	s.queue = nil
}
