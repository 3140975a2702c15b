package agent

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// liftReadDeadline ends the http.Server's ReadTimeout once the request has
// been read: at once for a request without a body, else when its body has
// been read to the end. ReadTimeout then cuts off slow headers and bodies,
// while blocking queries (bound by their wait), event streams, log follows
// and exec websockets (bound by their client) keep running: the server's
// read deadline would otherwise cancel their context mid-reply.
func (s *HTTPServer) liftReadDeadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if r.Body == nil || r.Body == http.NoBody {
			_ = rc.SetReadDeadline(time.Time{})
		} else {
			r.Body = &liftOnEOF{ReadCloser: r.Body, rc: rc}
		}
		next.ServeHTTP(w, r)
	})
}

// liftOnEOF lifts the connection's read deadline when the body has been read.
type liftOnEOF struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *liftOnEOF) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted { //nolint:errorlint // io.EOF is returned unwrapped by Read
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// longPolls counts the long-lived requests (blocking queries and streams)
// each remote IP holds.
type longPolls struct {
	mu   sync.Mutex
	open map[string]int
	// total is the number open; peak the most since memory was last
	// returned to the OS; freeing is set while a return is scheduled, and
	// windowMax is then the most open since it was scheduled. lastFree is
	// when memory was last returned.
	total, peak, windowMax int
	freeing                bool
	lastFree               time.Time
	// after schedules the return (time.AfterFunc; tests replace it) and
	// free does it (collectAndFree when nil), given the heap when the
	// drop began (dropHeap).
	after    func(time.Duration, func())
	free     func(heapSample)
	dropHeap heapSample
}

// Returning memory after a crowd of long polls leaves: each woken blocking
// query builds its whole reply at once, so 1,000 of them on a few hundred
// jobs peak near 1 GB, which Go's scavenger gives back only over many
// minutes. When the number open has fallen by freeAfterDrop since its peak
// and stays down for freeDelay (the crowd has gone), the heap is collected
// and returned to the OS, at most once per freeEvery, unless the server
// is busy enough to collect on its own soon (collectAndFree).
//
// Watchers that were woken and come straight back (simulated nodes'
// allocation watches while jobs are placed: 2,000 nodes, 1,000 woken per
// plan) are not a crowd leaving: freeing then forced a full collection
// every 2 s, 23 of 30 collections of a 50,000-allocation run and about
// a quarter of the server's CPU, for memory the watchers took back at once.
const (
	freeAfterDrop = 200
	freeDelay     = 2 * time.Second
	freeEvery     = time.Minute
)

// acquire takes a slot for ip unless it already holds max.
func (l *longPolls) acquire(ip string, max int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open == nil {
		l.open = map[string]int{}
	}
	if l.open[ip] >= max {
		return false
	}
	l.open[ip]++
	l.total++
	if l.total > l.peak {
		l.peak = l.total
	}
	if l.freeing && l.total > l.windowMax {
		l.windowMax = l.total
	}
	return true
}

func (l *longPolls) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open[ip]--; l.open[ip] <= 0 {
		delete(l.open, ip) // the map keeps no entry for a client that left
	}
	l.total--
	if l.peak-l.total >= freeAfterDrop && !l.freeing {
		l.freeing, l.windowMax = true, l.total
		l.dropHeap = sampleHeap()
		after := l.after
		if after == nil {
			after = func(d time.Duration, f func()) { time.AfterFunc(d, f) }
		}
		after(freeDelay, l.freeMemory)
	}
}

// freeMemory returns the memory the long polls that left were using,
// unless they came back within freeDelay or memory was returned less than
// freeEvery ago.
func (l *longPolls) freeMemory() {
	l.mu.Lock()
	now := time.Now()
	gone := l.peak-l.windowMax >= freeAfterDrop
	due := l.lastFree.IsZero() || now.Sub(l.lastFree) >= freeEvery
	l.freeing = false
	if gone {
		// The peak is what this drop is measured from: a crowd that left
		// is gone from it whether or not its memory is returned now.
		l.peak = l.total
	}
	if gone && due {
		l.lastFree = now
	}
	free, drop := l.free, l.dropHeap
	l.mu.Unlock()
	if !gone || !due {
		return
	}
	if free == nil {
		free = collectAndFree
	}
	free(drop)
}

// isLongPoll reports whether r may be held open for long: a blocking query
// (?index=N, N > 0), the event stream, a log follow or an exec websocket.
func isLongPoll(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	q := r.URL.Query()
	p := r.URL.Path
	switch {
	case q.Get("index") != "" && q.Get("index") != "0":
		return true
	case p == "/v1/event/stream":
		return true
	case strings.HasPrefix(p, "/v1/client/fs/logs/"):
		follow, _ := boolParam(r, "follow")
		return follow
	case strings.HasPrefix(p, "/v1/client/allocation/") && strings.HasSuffix(p, "/exec"):
		return true
	}
	return false
}

// limitLongPolls refuses, with 429, a blocking query or stream from a
// remote IP that already holds limits.http_max_long_polls_per_client of
// them: one client cannot hold the agent's memory and goroutines. Requests
// another server forwarded were counted where they arrived.
func (s *HTTPServer) limitLongPolls(next http.Handler) http.Handler {
	max := s.cfg.Agent.Limits.effective().HTTPMaxLongPollsPerClient
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isLongPoll(r) {
			next.ServeHTTP(w, r)
			return
		}
		ip := remoteIP(r)
		if s.forwardedByServer(r, ip) {
			next.ServeHTTP(w, r)
			return
		}
		if !s.longPolls.acquire(ip, max) {
			w.Header().Set("Retry-After", "5")
			s.writeError(w, r, &structs.CodedError{Code: http.StatusTooManyRequests,
				Msg: fmt.Sprintf("too many blocking queries and streams open from %s: the limit is %d at once (limits { http_max_long_polls_per_client } in the agent config); end some before starting more", ip, max)})
			return
		}
		defer s.longPolls.release(ip)
		next.ServeHTTP(w, r)
	})
}

// remoteIP is the IP of the peer that sent r.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// forwardedByServer reports whether r was forwarded by another server of
// this cluster (a follower to its leader), which has applied the limits.
func (s *HTTPServer) forwardedByServer(r *http.Request, ip string) bool {
	if s.cluster == nil || r.Header.Get(leaderForwardedHeader) == "" {
		return false
	}
	for _, m := range s.cluster.Members() {
		if m.Addr == ip {
			return true
		}
	}
	return false
}
