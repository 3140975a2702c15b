package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Write forwarding: a follower sends a request for the leader to the
// leader's HTTP API (Forward). No server assumes its clock agrees with
// another's: a follower learns how far the leader's clock is from its own
// from the leader's replies (the time the leader received each forwarded
// request) and stamps each forwarded request with a deadline on the
// leader's clock. The leader refuses a request that reaches it after that
// deadline, so a request held in the network (a partition keeps its bytes
// in a kept-alive connection) and delivered after its client gave up is
// never applied after that client's later writes
// (e2e/cluster_history_test.go). Skew of any size is measured, not assumed
// away; the error of the measure is at most one network trip, on the
// lenient side.
const (
	// ForwardedHeader marks a request a follower forwarded to the leader:
	// the loop guard (a non-leader receiving one refuses it).
	ForwardedHeader = "X-Nomadlike-Leader-Forwarded"
	// ForwardDeadlineHeader is the time, on the leader's clock (Unix
	// nanoseconds), after which the leader must not apply the request.
	ForwardDeadlineHeader = "X-Nomadlike-Forward-Leader-Deadline"
	// forwardTimeoutHeader is the budget left (milliseconds) when the
	// follower sent the request, for a leader it has not measured yet.
	forwardTimeoutHeader = "X-Nomadlike-Forward-Timeout"
	// leaderReceivedHeader answers a forwarded request with the leader's
	// clock (Unix nanoseconds) when it received it.
	leaderReceivedHeader = "X-Nomadlike-Leader-Received"
	// ForwardHoldTimeout is how long a follower holds a request while the
	// cluster elects a leader or the leader is unreachable (Nomad's
	// rpc_hold_timeout).
	ForwardHoldTimeout = 5 * time.Second
	// forwardRetryEvery paces the leader look-ups while holding.
	forwardRetryEvery = 100 * time.Millisecond
	// forwardExpiry is how long after a follower received a request the
	// leader may still apply it: the hold plus slack for a slow network.
	forwardExpiry = ForwardHoldTimeout + 5*time.Second
	// clockSampleTTL is how long a measure of a leader's clock is used.
	clockSampleTTL = time.Minute
)

// Forwarding is how a follower reaches the leader's HTTP API: the transport
// (with the agent's TLS configuration) and the base URL of a host:port.
type Forwarding struct {
	Transport http.RoundTripper
	URL       func(addr string) string
	// BeforeSend, when set, is called with the request before it is sent
	// to the leader (not when it is served here).
	BeforeSend func(r *http.Request)
}

// clockSample is one measure of a leader's clock: offset is an upper bound
// of (leader clock - our clock), off by at most rtt.
type clockSample struct {
	offset time.Duration
	rtt    time.Duration
	at     time.Time
}

// leaderClocks keeps the latest measure of each leader's clock.
type leaderClocks struct {
	mu sync.Mutex
	m  map[string]clockSample
}

func (c *leaderClocks) get(addr string, now time.Time) (clockSample, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[addr]
	if !ok || now.Sub(s.at) > clockSampleTTL {
		return clockSample{}, false
	}
	return s, true
}

// observe records a reply: sent is our clock when the request left,
// received the leader's clock when it arrived. A sample with a shorter trip
// replaces the kept one, as does any sample once the kept one is old.
func (c *leaderClocks) observe(addr string, sent, now time.Time, received int64) {
	s := clockSample{offset: time.Duration(received - sent.UnixNano()), rtt: now.Sub(sent), at: now}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]clockSample{}
	}
	if old, ok := c.m[addr]; ok && now.Sub(old.at) < clockSampleTTL/2 && old.rtt <= s.rtt {
		return
	}
	c.m[addr] = s
}

// now is the server's clock (Config.Clock, time.Now by default).
func (s *Server) now() time.Time {
	if s.cfg.Clock != nil {
		return s.cfg.Clock()
	}
	return time.Now()
}

// Forward serves r with local when this server is the ready leader, and
// otherwise sends it to the leader's HTTP API through via, holding it up to
// ForwardHoldTimeout while there is no reachable leader. It returns an error
// (a *structs.CodedError) when nothing was written: the caller writes it.
//
// A write gets its request ID here, on the server that first receives it
// (write_once.go); the ID travels with the forwarded request, so the
// follower may retry a forward whose answer it did not get (the connection
// dropped after the leader received it) and the leader applies it once.
func (s *Server) Forward(w http.ResponseWriter, r *http.Request, local http.Handler, via Forwarding) error {
	received := s.now()
	var (
		once structs.WriteOnce
		body []byte
		read bool
		line string
	)
	if isWrite(r.Method) {
		b, tooLarge, err := readBody(r)
		if err != nil {
			return err
		}
		line = requestLine(r)
		if once, err = stampRequestID(r, line, b, tooLarge); err != nil {
			return err
		}
		body, read = b, !tooLarge
	}
	if r.Header.Get(ForwardedHeader) != "" {
		return s.serveForwarded(w, withWriteOnce(r, once, line), local, received)
	}
	if s.IsLeader() {
		local.ServeHTTP(w, withWriteOnce(r, once, line))
		return nil
	}
	if r.Body != nil && !read {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			return fmt.Errorf("read the request body to forward it to the leader: %w", err)
		}
	}
	hold := time.NewTimer(ForwardHoldTimeout)
	defer hold.Stop()
	var lastErr error
	for {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if s.IsLeader() {
			local.ServeHTTP(w, withWriteOnce(r, once, line))
			return nil
		}
		addr := s.LeaderHTTPAddr()
		if addr != "" && addr != s.cfg.HTTPAddr {
			if via.BeforeSend != nil {
				via.BeforeSend(r)
			}
			sw := &wroteWriter{ResponseWriter: w}
			err := s.forwardOnce(sw, r, addr, via, received, once.RequestID != "")
			if err == nil || sw.wrote {
				return nil
			}
			var coded *structs.CodedError
			if errors.As(err, &coded) {
				return err
			}
			lastErr = err
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-hold.C:
			msg := fmt.Sprintf("no cluster leader: this server has not found a reachable leader within %s; the cluster may be electing one or may have lost its quorum (check GET /v1/agent/members and GET /v1/operator/raft/configuration, or read with ?stale)", ForwardHoldTimeout)
			if ready, why := s.Ready(); !ready && s.isRaftLeader() {
				msg = why + fmt.Sprintf(" and did not finish within %s; retry", ForwardHoldTimeout)
			}
			if lastErr != nil {
				msg += fmt.Sprintf("; last attempt: %v", lastErr)
			}
			return &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: msg, Err: structs.ErrNotLeader}
		case <-time.After(forwardRetryEvery):
		}
	}
}

// serveForwarded serves a request another server forwarded here: refused
// unless this server is the ready leader and the request's deadline, on this
// server's clock, has not passed.
func (s *Server) serveForwarded(w http.ResponseWriter, r *http.Request, local http.Handler, received time.Time) error {
	// An elected leader still applying its log holds the request until it
	// is ready (IsLeader), as a follower holds one while there is no leader.
	for wait := time.Now().Add(ForwardHoldTimeout); !s.IsLeader() && s.isRaftLeader() && time.Now().Before(wait); {
		select {
		case <-r.Context().Done():
			return nil
		case <-time.After(forwardRetryEvery):
		}
	}
	if !s.IsLeader() {
		return &structs.CodedError{Code: http.StatusServiceUnavailable, Err: structs.ErrNotLeader,
			Msg: "this server received a request forwarded to the leader but is not the leader (leadership just moved); retry"}
	}
	if v := r.Header.Get(ForwardDeadlineHeader); v != "" {
		deadline, err := strconv.ParseInt(v, 10, 64)
		if err == nil && received.UnixNano() > deadline {
			return &structs.CodedError{Code: http.StatusServiceUnavailable, Err: structs.ErrNotLeader,
				Msg: fmt.Sprintf("this request was forwarded to the leader but reached it %s after its deadline (the network delayed it), so it was not applied; retry",
					time.Duration(received.UnixNano()-deadline).Round(time.Millisecond))}
		}
	}
	w.Header().Set(leaderReceivedHeader, strconv.FormatInt(received.UnixNano(), 10))
	local.ServeHTTP(w, r)
	return nil
}

// forwardOnce proxies r to the leader at addr. It returns an error when
// nothing was written (the caller may retry a dial error).
//
// With retrySafe (the request carries a request ID, so the leader applies
// it once however often it arrives) any failure before an answer came back
// is retried, also one after the request was sent: a dropped connection or
// a leader that died while serving it.
func (s *Server) forwardOnce(w *wroteWriter, r *http.Request, addr string, via Forwarding, received time.Time, retrySafe bool) error {
	base := "http://" + addr
	if via.URL != nil {
		base = via.URL(addr)
	}
	target, err := url.Parse(base)
	if err != nil {
		return &structs.CodedError{Code: http.StatusBadGateway, Msg: fmt.Sprintf("the leader gossips an invalid HTTP address %q", addr), Err: err}
	}
	sample, measured := s.clocks.get(addr, s.now())
	if !measured {
		if err := s.probeLeaderClock(r.Context(), target, addr, via); err != nil {
			return fmt.Errorf("leader at %s: %w", addr, err)
		}
		sample, _ = s.clocks.get(addr, s.now())
	}
	var sent time.Time
	var proxyErr error
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			sent = s.now()
			remaining := forwardExpiry - sent.Sub(received)
			pr.Out.Header.Set(ForwardedHeader, "1")
			pr.Out.Header.Set(forwardTimeoutHeader, strconv.FormatInt(remaining.Milliseconds(), 10))
			pr.Out.Header.Set(ForwardDeadlineHeader, strconv.FormatInt(sent.Add(sample.offset+remaining).UnixNano(), 10))
		},
		Transport:     via.Transport,
		FlushInterval: -1,
		BufferPool:    forwardBuffers,
		ModifyResponse: func(resp *http.Response) error {
			if v, err := strconv.ParseInt(resp.Header.Get(leaderReceivedHeader), 10, 64); err == nil {
				s.clocks.observe(addr, sent, s.now(), v)
			}
			resp.Header.Del(leaderReceivedHeader)
			return nil
		},
		ErrorHandler: func(rw http.ResponseWriter, req *http.Request, err error) {
			var op *net.OpError
			if (errors.As(err, &op) && op.Op == "dial") || (retrySafe && req.Context().Err() == nil) {
				proxyErr = fmt.Errorf("leader at %s: %w", addr, err)
				return
			}
			proxyErr = &structs.CodedError{Code: http.StatusBadGateway, Msg: fmt.Sprintf("forward %s %s to the leader at %s", req.Method, req.URL.Path, addr), Err: err}
		},
	}
	p.ServeHTTP(w, r)
	return proxyErr
}

// forwardBuffers lends the buffers a forward copies the leader's answer
// through. Without a pool httputil.ReverseProxy allocates 32 KB for each
// request: on a follower forwarding job registrations that was about a
// tenth of all it allocated, for answers of a few hundred bytes.
var forwardBuffers httputil.BufferPool = &bufferPool{}

// forwardBufferSize is the size of a pooled forward buffer: a whole
// registration answer, and a streamed answer in chunks of it.
const forwardBufferSize = 8 << 10

// bufferPool is a sync.Pool of forwardBufferSize buffers.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if buf, ok := b.p.Get().(*[]byte); ok {
		return *buf
	}
	return make([]byte, forwardBufferSize)
}

func (b *bufferPool) Put(buf []byte) {
	if cap(buf) != forwardBufferSize {
		return
	}
	buf = buf[:forwardBufferSize]
	b.p.Put(&buf)
}

// StampClock answers a clock probe (GET /v1/status/leader from a follower,
// marked with ForwardedHeader) with this server's clock.
func (s *Server) StampClock(w http.ResponseWriter) {
	w.Header().Set(leaderReceivedHeader, strconv.FormatInt(s.now().UnixNano(), 10))
}

// probeLeaderClock measures the leader's clock with GET /v1/status/leader
// (public, cheap) before the first request to it.
func (s *Server) probeLeaderClock(ctx context.Context, target *url.URL, addr string, via Forwarding) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	u := *target
	u.Path, u.RawQuery = "/v1/status/leader", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set(ForwardedHeader, "1")
	rt := via.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	sent := s.now()
	resp, err := rt.RoundTrip(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	v, err := strconv.ParseInt(resp.Header.Get(leaderReceivedHeader), 10, 64)
	if err != nil {
		return fmt.Errorf("measure the leader's clock: %s answered %s without %s", addr, resp.Status, leaderReceivedHeader)
	}
	s.clocks.observe(addr, sent, s.now(), v)
	return nil
}

// wroteWriter records whether anything was written.
type wroteWriter struct {
	http.ResponseWriter
	wrote bool
}

func (w *wroteWriter) WriteHeader(code int) { w.wrote = true; w.ResponseWriter.WriteHeader(code) }

func (w *wroteWriter) Write(b []byte) (int, error) { w.wrote = true; return w.ResponseWriter.Write(b) }

// Flush keeps streamed responses (blocking queries, logs) flowing.
func (w *wroteWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
