package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// eventHeartbeat is how often an idle event stream sends "{}", so that
// proxies keep the connection (Nomad sends one every 10 s).
const eventHeartbeat = 10 * time.Second

// eventSource is the server's event stream; *server.Server implements it.
type eventSource interface {
	SubscribeEvents(req server.EventSubscribeRequest) *server.EventSubscription
}

// nomadOnlyTopics are Nomad topics this server accepts but never publishes
// (it has no such objects), so that Nomad's tools may still ask for them.
var nomadOnlyTopics = []structs.Topic{"ACLToken", "ACLPolicy", "ACLRole", "ACLAuthMethod",
	"ACLBindingRule", "CSIVolume", "CSIPlugin", "HostVolume", "Operator"}

// parseEventRequest reads ?index=, ?namespace= (default "default", "*" for
// all) and the repeatable ?topic=Topic[:key] (no topic: everything).
func parseEventRequest(r *http.Request) (server.EventSubscribeRequest, error) {
	q := r.URL.Query()
	req := server.EventSubscribeRequest{Namespace: q.Get("namespace")}
	if req.Namespace == "" {
		req.Namespace = structs.DefaultNamespace
	}
	if s := q.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return req, structs.NewBadRequest("index=%q must be a non-negative integer: the Raft index to replay events from", s)
		}
		req.Index = n
	}
	for _, t := range q["topic"] {
		name, key, found := strings.Cut(t, ":")
		if !found {
			key = string(structs.TopicAll)
		}
		topic := structs.Topic(name)
		if topic != structs.TopicAll && !slices.Contains(structs.EventTopics, topic) && !slices.Contains(nomadOnlyTopics, topic) {
			return req, structs.NewBadRequest("topic=%q: unknown topic %q; use one of %s or * (optionally :key, e.g. topic=Job:web)", t, name, topicList())
		}
		if key == "" {
			return req, structs.NewBadRequest("topic=%q: the key after ':' is empty; give an ID, a job ID, or * for all", t)
		}
		if req.Topics == nil {
			req.Topics = make(map[structs.Topic][]string)
		}
		req.Topics[topic] = append(req.Topics[topic], key)
	}
	return req, nil
}

func topicList() string {
	names := make([]string, len(structs.EventTopics))
	for i, t := range structs.EventTopics {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// eventStream serves GET /v1/event/stream from this server's own FSM (a
// follower too): newline-delimited {"Index":N,"Events":[...]} frames, "{}"
// heartbeats, and a final {"Error":"..."} frame if the server ends the
// stream (the subscriber fell behind).
func (s *HTTPServer) eventStream(w http.ResponseWriter, r *http.Request) {
	req, err := parseEventRequest(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	src, ok := s.srv.(eventSource)
	if !ok {
		s.writeError(w, r, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this server does not publish an event stream"})
		return
	}
	visible := s.nsFilter(r, capRead)
	sub := src.SubscribeEvents(req)
	defer sub.Close()
	var frames eventFrames = sub
	if s.aclEnabled() {
		a := identity(r).ACL
		frames = &aclEventFilter{next: sub, namespace: visible, nodes: a.Allow(acl.Node, acl.PolicyRead),
			pool:     func(name string) bool { return a.AllowNodePool(name, acl.NodePoolCapabilityRead) },
			variable: func(ns, path string) bool { return a.AllowVariableOp(ns, path, acl.VariablesCapabilityList) }}
	}
	streamEvents(r.Context(), w, frames, eventHeartbeat)
}

// aclEventFilter keeps the events a token may read: those of namespaces
// where it has read-job, node events with node:read, and node pool events
// with node_pool read on the pool; variable events (metadata only) need
// variables list on the path as well.
type aclEventFilter struct {
	next      eventFrames
	namespace func(string) bool
	nodes     bool
	pool      func(string) bool
	variable  func(ns, path string) bool
}

// Next implements eventFrames; frames left empty by the filter are skipped.
func (f *aclEventFilter) Next(ctx context.Context) (structs.Events, error) {
	for {
		ev, err := f.next.Next(ctx)
		if err != nil {
			return ev, err
		}
		kept := ev.Events[:0:0]
		for _, e := range ev.Events {
			if e.Topic == structs.TopicVariables && !f.variable(e.Namespace, e.Key) {
				continue
			}
			if (e.Namespace == "" && f.nodes && e.Topic == structs.TopicNode) || (e.Namespace != "" && f.namespace(e.Namespace)) ||
				(e.Topic == structs.TopicNodePool && f.pool(e.Key)) {
				kept = append(kept, e)
			}
		}
		if len(kept) > 0 || len(ev.Events) == 0 {
			ev.Events = kept
			return ev, nil
		}
	}
}

// eventStreamError is the last frame of a stream the server ended.
type eventStreamError struct {
	Error string
}

// eventFrames is a subscription's frames (*server.EventSubscription).
type eventFrames interface {
	Next(ctx context.Context) (structs.Events, error)
}

// streamEvents writes sub's frames to w, flushing each, with a heartbeat
// after every idle interval, until ctx ends, a write fails or the
// subscription ends.
func streamEvents(ctx context.Context, w http.ResponseWriter, sub eventFrames, heartbeat time.Duration) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if rc.Flush() != nil {
		return
	}
	enc := json.NewEncoder(w)
	for {
		next, cancel := context.WithTimeout(ctx, heartbeat)
		ev, err := sub.Next(next)
		cancel()
		switch {
		case err == nil:
			err = enc.Encode(ev)
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			_, err = w.Write([]byte("{}\n"))
		default:
			_ = enc.Encode(eventStreamError{Error: err.Error()})
			_ = rc.Flush()
			return
		}
		if err != nil || rc.Flush() != nil {
			return
		}
	}
}
