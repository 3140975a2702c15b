package agent

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
)

// monitorBuffer is how many lines a monitor subscriber may lag behind
// before further lines are dropped (and counted) for it.
const monitorBuffer = 512

// logHub fans the agent's log records out to GET /v1/agent/monitor
// subscribers. Logging never waits for a subscriber: a full subscriber
// loses lines and is told how many.
type logHub struct {
	mu   sync.Mutex
	subs map[*logSub]struct{}
	// min is the lowest level any subscriber wants (MaxInt64: none), read
	// on every Enabled call without the lock.
	min atomic.Int64
	// fmtMu serialises formatting into cw (the formatters share it).
	fmtMu sync.Mutex
	cw    captureWriter
	text  slog.Handler
	json  slog.Handler
}

// logSub is one monitor subscriber.
type logSub struct {
	level   slog.Level
	json    bool
	ch      chan []byte
	dropped atomic.Int64
}

// captureWriter keeps the one write a slog built-in handler makes per record.
type captureWriter struct{ last []byte }

func (c *captureWriter) Write(p []byte) (int, error) {
	c.last = append(c.last[:0], p...)
	return len(p), nil
}

func newLogHub() *logHub {
	h := &logHub{subs: map[*logSub]struct{}{}}
	h.min.Store(math.MaxInt64)
	all := &slog.HandlerOptions{Level: slog.Level(math.MinInt)}
	h.text = slog.NewTextHandler(&h.cw, all)
	h.json = slog.NewJSONHandler(&h.cw, all)
	return h
}

// wrap returns a handler that logs to inner (at inner's own level) and
// copies records to the subscribers (at theirs).
func (h *logHub) wrap(inner slog.Handler) slog.Handler {
	return &teeHandler{inner: inner, hub: h, text: h.text, json: h.json}
}

// subscribe adds a subscriber for records at level or above; cancel removes it.
func (h *logHub) subscribe(level slog.Level, json bool) (s *logSub, cancel func()) {
	s = &logSub{level: level, json: json, ch: make(chan []byte, monitorBuffer)}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.resetMinLocked()
	h.mu.Unlock()
	return s, func() {
		h.mu.Lock()
		delete(h.subs, s)
		h.resetMinLocked()
		h.mu.Unlock()
	}
}

func (h *logHub) resetMinLocked() {
	m := int64(math.MaxInt64)
	for s := range h.subs {
		m = min(m, int64(s.level))
	}
	h.min.Store(m)
}

// publish formats r once per format wanted and offers it to every
// subscriber that wants its level, without waiting.
func (h *logHub) publish(ctx context.Context, t *teeHandler, r slog.Record) {
	h.mu.Lock()
	var subs []*logSub
	for s := range h.subs {
		if r.Level >= s.level {
			subs = append(subs, s)
		}
	}
	h.mu.Unlock()
	var text, json []byte
	format := func(f slog.Handler) []byte {
		h.fmtMu.Lock()
		defer h.fmtMu.Unlock()
		h.cw.last = h.cw.last[:0]
		if f.Handle(ctx, r.Clone()) != nil {
			return nil
		}
		return append([]byte(nil), h.cw.last...)
	}
	for _, s := range subs {
		line := &text
		f := t.text
		if s.json {
			line, f = &json, t.json
		}
		if *line == nil {
			*line = format(f)
		}
		select {
		case s.ch <- *line:
		default:
			s.dropped.Add(1)
		}
	}
}

// droppedNote returns "[N lines dropped]\n" for the lines lost since the
// last call, or nil.
func (s *logSub) droppedNote() []byte {
	if n := s.dropped.Swap(0); n > 0 {
		return fmt.Appendf(nil, "[%d lines dropped]\n", n)
	}
	return nil
}

// teeHandler is the agent's root slog.Handler: inner plus the subscribers.
type teeHandler struct {
	inner      slog.Handler
	hub        *logHub
	text, json slog.Handler // the hub's formatters with this handler's attrs and groups
}

// Enabled is true when the agent's own log or any subscriber wants level,
// so a monitor at debug sees debug records of an agent logging at info.
func (t *teeHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return int64(level) >= t.hub.min.Load() || t.inner.Enabled(ctx, level)
}

// Handle logs r to the agent's own handler if it wants it and copies it
// to the subscribers.
func (t *teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.inner.Enabled(ctx, r.Level) {
		err = t.inner.Handle(ctx, r)
	}
	if int64(r.Level) >= t.hub.min.Load() {
		t.hub.publish(ctx, t, r)
	}
	return err
}

// WithAttrs implements slog.Handler.
func (t *teeHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &teeHandler{inner: t.inner.WithAttrs(as), hub: t.hub, text: t.text.WithAttrs(as), json: t.json.WithAttrs(as)}
}

// WithGroup implements slog.Handler.
func (t *teeHandler) WithGroup(name string) slog.Handler {
	return &teeHandler{inner: t.inner.WithGroup(name), hub: t.hub, text: t.text.WithGroup(name), json: t.json.WithGroup(name)}
}
