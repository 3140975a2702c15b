package logship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
)

// Target is one task whose logs are shipped.
type Target struct {
	AllocID, JobID, Namespace, Group, Task, NodeName string
	// Dir is the allocation's directory.
	Dir *allocdir.AllocDir
	// Done reports whether nothing more will be written (the allocation
	// is terminal); shipping then ends once the files are read.
	Done func() bool
}

// maxLine caps a line; a longer one is shipped in pieces.
const maxLine = 64 << 10

// batchLines is the most lines one delivery carries.
const batchLines = 512

// Shipper ships tasks' logs to the configured sinks.
type Shipper struct {
	cfg      Config
	stateDir string
	logger   *slog.Logger
	dropped  *prometheus.CounterVec
	shipped  *prometheus.CounterVec
}

// New returns a shipper for cfg (cfg.Enabled() must hold) that keeps its
// positions below stateDir and counts on reg (nil: a private registry).
func New(cfg Config, stateDir string, reg prometheus.Registerer, logger *slog.Logger) (*Shipper, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.QueueLines == 0 {
		cfg.QueueLines = DefaultQueueLines
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 250 * time.Millisecond
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	s := &Shipper{cfg: cfg, stateDir: stateDir, logger: logger,
		dropped: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nomadlike_client_log_ship_dropped_lines_total",
			Help: "Task log lines not shipped because the sink was slower than the task (the oldest queued are dropped) or refused them, by sink.",
		}, []string{"sink"})),
		shipped: register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nomadlike_client_log_ship_lines_total",
			Help: "Task log lines delivered to a log sink, by sink.",
		}, []string{"sink"})),
	}
	// Present at 0 from the start, so an alert on the rate sees the series.
	for _, sk := range s.sinks() {
		s.dropped.WithLabelValues(sk.name())
		s.shipped.WithLabelValues(sk.name())
	}
	return s, nil
}

// register registers c on reg, or returns the one already registered.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
	}
	return c
}

func (s *Shipper) sinks() []sink {
	var out []sink
	if s.cfg.Syslog != nil {
		out = append(out, newSyslogSink(*s.cfg.Syslog))
	}
	if s.cfg.OTLP != nil {
		out = append(out, newOTLPSink(*s.cfg.OTLP))
	}
	return out
}

// Run ships t's stdout and stderr to every sink until ctx ends, or t is
// done and everything written has been delivered.
func (s *Shipper) Run(ctx context.Context, t Target) {
	var wg sync.WaitGroup
	for _, sk := range s.sinks() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.runSink(ctx, &t, sk)
		}()
	}
	wg.Wait()
}

// runSink runs one sink's tailers (one per stream) and its sender.
func (s *Shipper) runSink(ctx context.Context, t *Target, sk sink) {
	defer sk.close()
	st := s.loadState(t, sk.name())
	q := newQueue(s.cfg.QueueLines, s.dropped.WithLabelValues(sk.name()))
	var tails sync.WaitGroup
	for _, stream := range []string{"stdout", "stderr"} {
		tails.Add(1)
		go func() {
			defer tails.Done()
			s.tail(ctx, t, stream, st[stream], q)
		}()
	}
	go func() { tails.Wait(); q.close() }()
	backoff := time.Second
	for {
		batch, ok := q.take(ctx, batchLines)
		if !ok {
			return
		}
		for {
			err := sk.send(ctx, t, batch)
			if err == nil {
				s.shipped.WithLabelValues(sk.name()).Add(float64(len(batch)))
				for _, l := range batch {
					st[l.Stream] = l.pos
				}
				s.saveState(t, sk.name(), st)
				q.setHealthy(true)
				backoff = time.Second
				break
			}
			var perm permanentError
			if errors.As(err, &perm) {
				s.logger.Error("log shipping: the sink refused lines; they are dropped", "alloc_id", t.AllocID, "task", t.Task, "sink", sk.name(), "lines", len(batch), "error", err)
				s.dropped.WithLabelValues(sk.name()).Add(float64(len(batch)))
				break
			}
			q.setHealthy(false)
			s.logger.Warn("log shipping: delivery failed; retrying (lines queue meanwhile, the oldest are dropped when the queue is full)",
				"alloc_id", t.AllocID, "task", t.Task, "sink", sk.name(), "retry_in", backoff, "error", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 30*time.Second)
		}
	}
}

// tail reads <task>.<stream>.N from pos on, queueing each line, until ctx
// ends or the target is done and the files are read.
func (s *Shipper) tail(ctx context.Context, t *Target, stream string, pos Position, q *queue) {
	base := t.Task + "." + stream
	var partial []byte
	buf := make([]byte, 32<<10)
	emit := func(text []byte, at Position) {
		q.push(ctx, Line{Time: time.Now(), Stream: stream, Text: string(text), pos: at})
	}
	for {
		// Looked at before the read: a file with a successor, or any file
		// once the target is done, is complete when read after this.
		done := t.Done != nil && t.Done()
		idxs := logIndexes(t.Dir, base)
		if len(idxs) > 0 && !slices.Contains(idxs, pos.Index) && pos.Index < idxs[0] {
			// Rotated away (or a fresh start): continue at the oldest file.
			pos = Position{Index: idxs[0]}
		}
		next := nextIndex(idxs, pos.Index)
		// Read what is in the current file.
		if f, err := t.Dir.OpenLog(base + "." + strconv.Itoa(pos.Index)); err == nil {
			for {
				n, rerr := f.ReadAt(buf, pos.Offset)
				for _, b := range buf[:n] {
					pos.Offset++
					if b == '\n' {
						emit(partial, pos)
						partial = partial[:0]
						continue
					}
					partial = append(partial, b)
					if len(partial) >= maxLine {
						emit(partial, pos)
						partial = partial[:0]
					}
				}
				if rerr != nil || n == 0 {
					if rerr != nil && !errors.Is(rerr, io.EOF) {
						s.logger.Warn("log shipping: read failed", "file", base, "error", rerr)
					}
					break
				}
			}
			f.Close()
		}
		if next >= 0 {
			pos = Position{Index: next}
			continue
		}
		if done {
			if len(partial) > 0 {
				emit(partial, pos)
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(s.cfg.PollInterval):
		}
	}
}

// logIndexes lists the indexes of base.N in alloc/logs, ascending.
func logIndexes(d *allocdir.AllocDir, base string) []int {
	out, _ := d.LogIndexes(base)
	return out
}

func nextIndex(idxs []int, idx int) int {
	for _, i := range idxs {
		if i > idx {
			return i
		}
	}
	return -1
}

// statePath is where a (task, sink)'s positions are saved.
func (s *Shipper) statePath(t *Target, sinkName string) string {
	return filepath.Join(s.stateDir, t.AllocID, t.Task+"."+sinkName+".json")
}

func (s *Shipper) loadState(t *Target, sinkName string) map[string]Position {
	st := map[string]Position{}
	if b, err := os.ReadFile(s.statePath(t, sinkName)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func (s *Shipper) saveState(t *Target, sinkName string, st map[string]Position) {
	p := s.statePath(t, sinkName)
	b, _ := json.Marshal(st)
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err == nil {
		tmp := p + ".tmp"
		if err = os.WriteFile(tmp, b, 0o600); err == nil {
			err = os.Rename(tmp, p)
		}
		if err == nil {
			return
		}
	}
	s.logger.Warn("log shipping: cannot save the position reached; a restarted agent may ship some lines again", "path", p)
}

// Forget removes an allocation's saved positions (when it is collected).
func (s *Shipper) Forget(allocID string) error {
	if err := allocdir.CheckTaskName(allocID); err != nil {
		return fmt.Errorf("log shipping state of allocation %q: %w", allocID, err)
	}
	return os.RemoveAll(filepath.Join(s.stateDir, allocID))
}

// queue is a bounded FIFO of lines. While the sink delivers, a full queue
// makes the tailer wait (the task's log files hold the backlog, and the
// task never waits for the shipper); while the sink fails, a full queue
// drops its oldest line for each new one and counts it, so the newest
// lines go first when the sink is back.
type queue struct {
	mu      sync.Mutex
	lines   []Line
	max     int
	closed  bool
	healthy bool
	ready   chan struct{} // signalled on push and close
	space   chan struct{} // signalled on take and on a change of health
	dropped prometheus.Counter
}

func newQueue(max int, dropped prometheus.Counter) *queue {
	return &queue{max: max, healthy: true, ready: make(chan struct{}, 1), space: make(chan struct{}, 1), dropped: dropped}
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// push queues l (see queue); it returns early, dropping l, when ctx ends.
func (q *queue) push(ctx context.Context, l Line) {
	for {
		q.mu.Lock()
		if len(q.lines) < q.max || !q.healthy {
			if len(q.lines) >= q.max {
				q.lines = q.lines[1:]
				q.dropped.Inc()
			}
			q.lines = append(q.lines, l)
			q.mu.Unlock()
			signal(q.ready)
			return
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-q.space:
		}
	}
}

// setHealthy records whether the last delivery succeeded.
func (q *queue) setHealthy(ok bool) {
	q.mu.Lock()
	q.healthy = ok
	q.mu.Unlock()
	signal(q.space)
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	signal(q.ready)
}

// take waits for lines and returns up to n; ok is false when the queue is
// closed and empty, or ctx ended.
func (q *queue) take(ctx context.Context, n int) ([]Line, bool) {
	for {
		q.mu.Lock()
		if len(q.lines) > 0 {
			k := min(n, len(q.lines))
			out := slices.Clone(q.lines[:k])
			q.lines = q.lines[k:]
			q.mu.Unlock()
			signal(q.space)
			return out, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		select {
		case <-ctx.Done():
			return nil, false
		case <-q.ready:
		}
	}
}
