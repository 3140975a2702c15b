package agent

import (
	"context"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Admission of server API requests. A server saturated by its clients
// (thousands of nodes pulling allocations and reporting status) would
// otherwise run every request at once: with hundreds of request goroutines
// runnable, Raft's heartbeat and AppendEntries goroutines wait their turn
// behind them for longer than the leader lease (500 ms), the leader steps
// down, and the cluster spends its time electing instead of working. So a
// server works on at most admissionSlots requests at once; the others wait
// (blocked, not runnable) for a slot, and a request that waited
// admissionWait is answered 429 with Retry-After, which the client code
// (nomadlike/client) backs off on. Heartbeats and the operator API
// (admissionExempt) hold no slot: a heartbeat is cheap and refusing it
// would mark nodes down. A request gives its slot back once it no longer
// works: a write when it waits for its Raft entry to commit, a blocking
// query (a GET with ?index= above 0) when its pass found nothing newer than
// its index and it waits for a change (both through
// server.WithWaitNotice), and every request once its reply starts. So
// thousands of long polls that wait hold no slot, while a query that
// answers at once (?index=1, or any index already passed) is work like any
// read and is admitted as one: it cannot flood the server past its slots.
const (
	admissionSlotsPerCPU = 32
	admissionMinSlots    = 64
	admissionWait        = 5 * time.Second
	// admissionRetryAfter is the Retry-After of a 429 (seconds).
	admissionRetryAfter = "2"
)

// admissionExempt reports whether the requests of a server route template
// need no slot: heartbeats (refusing one would mark a node down) and the
// operator API (Raft peers, autopilot, snapshots, scheduler and keyring
// configuration), which an operator needs most when the cluster is
// saturated and which Nomad never refuses for load.
func admissionExempt(path string) bool {
	return path == "/v1/node/{id}/heartbeat" || strings.HasPrefix(path, "/v1/operator/")
}

// admission bounds the server API requests worked on at once.
type admission struct {
	slots chan struct{}
	wait  time.Duration
}

func newAdmission(slots int, wait time.Duration) *admission {
	if slots <= 0 {
		slots = max(admissionMinSlots, admissionSlotsPerCPU*runtime.GOMAXPROCS(0))
	}
	return &admission{slots: make(chan struct{}, slots), wait: wait}
}

// acquire takes a slot, waiting at most a.wait; it reports whether it got one.
func (a *admission) acquire(ctx context.Context) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (a *admission) release() { <-a.slots }

// admit serves h within a slot of the server's admission (see above).
// exempt routes (heartbeats, the operator API) are served at once.
func (s *HTTPServer) admit(h http.Handler, exempt bool) http.Handler {
	if exempt {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.admission.acquire(r.Context()) {
			if r.Context().Err() != nil {
				return // the client left while waiting
			}
			s.metrics.refused.Inc()
			w.Header().Set("Retry-After", admissionRetryAfter)
			s.writeError(w, r, &structs.CodedError{Code: http.StatusTooManyRequests,
				Msg: "server busy: it is working on as many requests as it takes at once and this one waited " + s.admission.wait.String() + " for its turn; retry after the Retry-After delay"})
			return
		}
		s.metrics.admitted.Inc()
		rw := &releaseOnReply{ResponseWriter: w, s: s}
		release := rw.release
		defer release()
		// A write gives its slot back while it waits for Raft to commit,
		// a blocking query while it waits for a change (blockingQuery),
		// and every request once its reply is ready: sending it goes at the
		// client's pace, and a client that reads slowly (or not at all)
		// must not hold a slot.
		h.ServeHTTP(rw, server.SetWaitNotice(r, release))
	})
}

// releaseOnReply holds a request's admission slot: it gives it back
// (release) when the reply starts, or before when told to.
type releaseOnReply struct {
	http.ResponseWriter
	s    *HTTPServer
	once sync.Once
}

// release gives the slot back, once.
func (w *releaseOnReply) release() {
	w.once.Do(func() {
		w.s.admission.release()
		w.s.metrics.admitted.Dec()
	})
}

func (w *releaseOnReply) WriteHeader(code int) {
	w.release()
	w.ResponseWriter.WriteHeader(code)
}

func (w *releaseOnReply) Write(b []byte) (int, error) {
	w.release()
	return w.ResponseWriter.Write(b)
}

// Flush implements http.Flusher for streaming endpoints.
func (w *releaseOnReply) Flush() {
	w.release()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the underlying writer (for http.ResponseController).
func (w *releaseOnReply) Unwrap() http.ResponseWriter { return w.ResponseWriter }
