package agent

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/server"
)

// TestAdmissionBoundsRequestsAtWork: a server works on at most its slots'
// worth of requests at once; the others wait, and one that waited too long
// is a 429 with Retry-After. Heartbeats need no slot, a blocking query
// that answers at once needs one, and a slot comes back when its request
// ends.
func TestAdmissionBoundsRequestsAtWork(t *testing.T) {
	s := &HTTPServer{admission: newAdmission(2, 200*time.Millisecond), metrics: newHTTPMetrics(nil),
		logger: slog.New(slog.DiscardHandler)}
	release := make(chan struct{})
	var inside, most atomic.Int32
	work := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inside.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		if r.URL.Query().Get("block") != "" {
			<-release
		}
		inside.Add(-1)
	})
	h := s.admit(work, false)
	serve := func(h http.Handler, target string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		return rec
	}

	// Two requests hold both slots.
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { serve(h, "/v1/jobs?block=1") })
	}
	deadline := time.Now().Add(10 * time.Second)
	for inside.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests at work, want 2", inside.Load())
		}
		time.Sleep(time.Millisecond) // polling interval
	}
	// A third waits its turn, then is refused.
	start := time.Now()
	rec := serve(h, "/v1/jobs")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != admissionRetryAfter {
		t.Fatalf("third request: %d, Retry-After %q; want 429 with Retry-After %s", rec.Code, rec.Header().Get("Retry-After"), admissionRetryAfter)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("refused after %s; it must wait for a slot first", waited)
	}
	// Exempt routes are served while the slots are full; a blocking query
	// that answers without waiting (this handler never waits) is a read
	// like another.
	if rec := serve(s.admit(work, true), "/v1/node/x/heartbeat"); rec.Code != http.StatusOK {
		t.Errorf("heartbeat while the slots are full: %d", rec.Code)
	}
	if rec := serve(h, "/v1/jobs?index=1"); rec.Code != http.StatusTooManyRequests {
		t.Errorf("blocking query that answers at once while the slots are full: %d, want 429", rec.Code)
	}
	// A waiting request whose client leaves gets no answer and takes no slot.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/jobs", nil).WithContext(ctx))
	if rec.Body.Len() != 0 {
		t.Errorf("a request whose client left was answered: %d %s", rec.Code, rec.Body)
	}
	// A request that waits less than the limit gets the slot freed for it.
	done := make(chan int)
	go func() { done <- serve(h, "/v1/jobs").Code }()
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Errorf("queued request after a slot was freed: %d", code)
	}
	wg.Wait()
	if m := most.Load(); m > 3 { // 2 slots + the exempt one
		t.Errorf("%d requests at work at once", m)
	}
	noSlotsHeld(t, s)
}

// TestAdmissionSlotFreedWhileWaitingForRaft: a request that reaches its
// Raft wait (server.WithWaitNotice) gives its slot to the next one, and
// the slot is given back only once however often it is noticed.
func TestAdmissionSlotFreedWhileWaitingForRaft(t *testing.T) {
	s := &HTTPServer{admission: newAdmission(1, 10*time.Second), metrics: newHTTPMetrics(nil),
		logger: slog.New(slog.DiscardHandler)}
	committed := make(chan struct{})
	waiting := make(chan struct{})
	h := s.admit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("write") == "" {
			return
		}
		// What raftApply does before it waits for the commit.
		server.NoticeWait(r.Context())
		server.NoticeWait(r.Context())
		close(waiting)
		<-committed
	}), false)
	var wg sync.WaitGroup
	wg.Go(func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/v1/jobs?write=1", nil))
	})
	<-waiting
	// The only slot is free again while the write waits: a read is served at once.
	servedAtOnce(t, h, "read while a write waits for Raft")
	close(committed)
	wg.Wait()
	noSlotsHeld(t, s)
}

// servedAtOnce serves GET /v1/jobs through h and fails unless it is a 200
// at once (well before admission's wait would refuse it).
func servedAtOnce(t *testing.T, h http.Handler, what string) {
	t.Helper()
	start := time.Now()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/jobs", nil))
	if rec.Code != http.StatusOK || time.Since(start) > 5*time.Second {
		t.Errorf("%s: %d after %s; want 200 at once", what, rec.Code, time.Since(start))
	}
}

// noSlotsHeld fails if s's admission holds a slot once every request ended.
func noSlotsHeld(t *testing.T, s *HTTPServer) {
	t.Helper()
	if got := len(s.admission.slots); got != 0 {
		t.Errorf("%d slots held after every request ended (released twice or never)", got)
	}
}

// TestAdmissionSlotFreedOnceReplyStarts: a request gives its slot back when
// its reply starts, so a client that reads a large reply slowly (or never)
// holds no slot while the server sends it.
func TestAdmissionSlotFreedOnceReplyStarts(t *testing.T) {
	s := &HTTPServer{admission: newAdmission(1, 10*time.Second), metrics: newHTTPMetrics(nil),
		logger: slog.New(slog.DiscardHandler)}
	sending := make(chan struct{})
	sent := make(chan struct{})
	h := s.admit(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("slow") == "" {
			return
		}
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("{"))
		close(sending)
		<-sent // the rest of the reply waits for the client to read
	}), false)
	var wg sync.WaitGroup
	wg.Go(func() {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/allocations?slow=1", nil))
	})
	<-sending
	servedAtOnce(t, h, "request while another's reply is being sent")
	close(sent)
	wg.Wait()
	noSlotsHeld(t, s)
}

// TestAdmissionExemptRoutes: heartbeats and the operator API (an operator
// removing a dead Raft peer from a saturated cluster) take no slot; the
// client protocol's other calls and the job API do.
func TestAdmissionExemptRoutes(t *testing.T) {
	for path, want := range map[string]bool{
		"/v1/node/{id}/heartbeat":              true,
		"/v1/operator/raft/peer":               true,
		"/v1/operator/snapshot":                true,
		"/v1/operator/scheduler/configuration": true,
		"/v1/node/{id}/allocations":            false,
		"/v1/jobs":                             false,
		"/v1/acl/token/self":                   false,
		"/v1/operatorx":                        false,
	} {
		if got := admissionExempt(path); got != want {
			t.Errorf("admissionExempt(%q) = %v, want %v", path, got, want)
		}
	}
}
