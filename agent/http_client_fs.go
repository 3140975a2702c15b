package agent

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"time"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// forwardedHeader marks a request one agent proxied to another, so that a
// misconfigured address cannot make agents proxy to each other forever.
const forwardedHeader = "X-Nomadlike-Forwarded"

// logsRequest is the parsed query of GET /v1/client/fs/logs/{alloc}.
type logsRequest struct {
	AllocID string
	Task    string
	Type    string
	Origin  string
	Offset  int64
	Follow  bool
	Plain   bool
}

func parseLogsRequest(r *http.Request) (*logsRequest, error) {
	v := r.URL.Query()
	lr := &logsRequest{AllocID: mux.Vars(r)["alloc"], Task: v.Get("task"), Type: v.Get("type"), Origin: v.Get("origin")}
	if lr.Task == "" {
		return nil, structs.NewBadRequest("task= is required: name the task whose logs to read")
	}
	switch lr.Type {
	case "stdout", "stderr":
	default:
		return nil, structs.NewBadRequest("type=%q must be \"stdout\" or \"stderr\"", lr.Type)
	}
	switch lr.Origin {
	case "":
		lr.Origin = "start"
	case "start", "end":
	default:
		return nil, structs.NewBadRequest("origin=%q must be \"start\" or \"end\"", lr.Origin)
	}
	if o := v.Get("offset"); o != "" {
		n, err := strconv.ParseInt(o, 10, 64)
		if err != nil || n < 0 {
			return nil, structs.NewBadRequest("offset=%q must be a non-negative integer", o)
		}
		lr.Offset = n
	}
	var err error
	if lr.Follow, err = boolParam(r, "follow"); err != nil {
		return nil, err
	}
	if lr.Plain, err = boolParam(r, "plain"); err != nil {
		return nil, err
	}
	return lr, nil
}

// clientLogs streams a task's logs: from the local client when the
// allocation runs here, else proxied to the HTTP address of its node.
func (s *HTTPServer) clientLogs(w http.ResponseWriter, r *http.Request) {
	lr, err := parseLogsRequest(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.srv == nil {
		// Client-only agent: serve what runs here; anything else is a server's business.
		if s.client == nil {
			s.writeError(w, r, fmt.Errorf("this agent runs neither a server nor a client"))
			return
		}
		s.streamLocalLogs(w, r, lr)
		return
	}
	snap, err := s.srv.State().Snapshot()
	if err != nil {
		s.writeError(w, r, fmt.Errorf("snapshot state: %w", err))
		return
	}
	alloc, err := snap.AllocByID(nil, lr.AllocID)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("look up allocation %q: %w", lr.AllocID, err))
		return
	}
	if alloc == nil && s.localRetained(lr.AllocID) {
		// Purged by the servers (system gc), but this agent's client kept its logs.
		s.streamLocalLogs(w, r, lr)
		return
	}
	if alloc == nil {
		s.writeError(w, r, structs.NewNotFound("allocation %q not found (IDs are full UUIDs; find one with GET /v1/allocations?prefix=)", lr.AllocID))
		return
	}
	if s.client != nil && alloc.NodeID == s.client.NodeID() {
		s.streamLocalLogs(w, r, lr)
		return
	}
	node, err := snap.NodeByID(nil, alloc.NodeID)
	if err != nil {
		s.writeError(w, r, fmt.Errorf("look up node %q of allocation %q: %w", alloc.NodeID, lr.AllocID, err))
		return
	}
	if node == nil || node.HTTPAddr == "" {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable,
			Msg: fmt.Sprintf("allocation %q runs on node %q, which has no known HTTP address to read its logs from", lr.AllocID, alloc.NodeID)})
		return
	}
	if r.Header.Get(forwardedHeader) != "" || node.HTTPAddr == s.self() {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable,
			Msg: fmt.Sprintf("node %q (HTTP address %s) does not serve allocation %q's logs; is its client agent running?", node.Name, node.HTTPAddr, lr.AllocID)})
		return
	}
	s.proxyTo(w, r, node.HTTPAddr, fmt.Sprintf("node %q", node.Name))
}

// retainedLogsReporter is the optional part of a ClientAPI that keeps
// collected allocations' logs (*client.Client).
type retainedLogsReporter interface {
	RetainedLogs(allocID string) (at time.Time, dropped map[string]int64, ok bool)
}

// localRetained reports whether the local client serves allocID's logs
// from its retention area.
func (s *HTTPServer) localRetained(allocID string) bool {
	rc, ok := s.client.(retainedLogsReporter)
	if !ok {
		return false
	}
	_, _, ok = rc.RetainedLogs(allocID)
	return ok
}

// streamLocalLogs streams frames from the local client, one JSON object per
// frame (or raw bytes with plain=true), flushing each.
func (s *HTTPServer) streamLocalLogs(w http.ResponseWriter, r *http.Request, lr *logsRequest) {
	if s.client == nil {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client, so it has no task logs"})
		return
	}
	if rc, ok := s.client.(retainedLogsReporter); ok {
		if at, _, ok := rc.RetainedLogs(lr.AllocID); ok {
			w.Header().Set(api.RetainedLogsHeader, at.UTC().Format(time.RFC3339))
		}
	}

	err := s.streamFrames(w, r, lr.Plain, func(emit func(*api.StreamFrame) error) error {
		if err := s.client.StreamLogs(r.Context(), lr.AllocID, lr.Task, lr.Type, lr.Origin, lr.Offset, lr.Follow, emit); err != nil {
			return fmt.Errorf("logs of task %q in allocation %q: %w", lr.Task, lr.AllocID, err)
		}
		return nil
	})
	if err != nil {
		s.logger.Warn("log stream ended with an error", "alloc_id", lr.AllocID, "task", lr.Task, "error", err)
	}
}

// streamFrames answers with the frames run emits, one JSON object per frame
// (or the raw data with plain), flushing each. An error before the first
// frame is the response; one after it is returned for the caller to log
// (nil when the client went away).
func (s *HTTPServer) streamFrames(w http.ResponseWriter, r *http.Request, plain bool, run func(emit func(*api.StreamFrame) error) error) error {
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	started := false
	emit := func(f *api.StreamFrame) error {
		if !started {
			started = true
			if plain {
				w.Header().Set("Content-Type", "text/plain; charset=utf-8")
				w.Header().Set("X-Content-Type-Options", "nosniff")
			} else {
				w.Header().Set("Content-Type", "application/json")
			}
			w.WriteHeader(http.StatusOK)
		}
		if plain {
			if len(f.Data) == 0 {
				return rc.Flush() // a heartbeat: at least the headers go out
			}
			if _, err := w.Write(f.Data); err != nil {
				return err
			}
		} else if err := enc.Encode(f); err != nil {
			return err
		}
		return rc.Flush()
	}
	err := run(emit)
	switch {
	case err != nil && !started:
		s.writeError(w, r, err)
	case err != nil && r.Context().Err() == nil:
		return err
	case !started:
		// Nothing to send: an empty, successful stream.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
	}
	return nil
}

// proxyTo forwards the request to another agent's HTTP address (host:port or
// URL), streaming the reply.
func (s *HTTPServer) proxyTo(w http.ResponseWriter, r *http.Request, addr, what string) {
	s.proxyVia(s.toAgents, w, r, addr, what)
}

// proxyVia is proxyTo through dialer d.
func (s *HTTPServer) proxyVia(d *peerDialer, w http.ResponseWriter, r *http.Request, addr, what string) {
	target, err := url.Parse(d.url(addr))
	if err != nil {
		s.writeError(w, r, fmt.Errorf("%s has an invalid HTTP address %q: %w", what, addr, err))
		return
	}
	p := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header.Set(forwardedHeader, "1")
		},
		Transport:     d.transport,
		FlushInterval: -1,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			s.writeError(w, r, &structs.CodedError{Code: http.StatusBadGateway,
				Msg: fmt.Sprintf("forward %s %s to %s at %s", r.Method, r.URL.Path, what, addr), Err: err})
		},
	}
	p.ServeHTTP(w, r)
}
