package agent

import (
	"context"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// GarbageCollector is the part of a server that collects garbage on
// demand; *server.Server implements it. It is an optional capability of
// ServerAPI, found by type assertion.
type GarbageCollector interface {
	ForceGC(ctx context.Context) (structs.GCStats, error)
	ReconcileJobSummaries(ctx context.Context) (uint64, error)
}

// clientCollector is the part of the local client that destroys terminal
// allocations on demand; *client.Client implements it.
type clientCollector interface {
	GCAlloc(ctx context.Context, allocID string) error
	GC(ctx context.Context) error
}

// systemGC is PUT /v1/system/gc: the leader collects every terminal job,
// evaluation, allocation, deployment and down node now, whatever the
// thresholds. As Nomad's, it answers with an empty body on success.
func (s *HTTPServer) systemGC(w http.ResponseWriter, r *http.Request) (any, error) {
	gc, ok := s.srv.(GarbageCollector)
	if !ok {
		return nil, notSupported("garbage collection")
	}
	if _, err := gc.ForceGC(r.Context()); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// systemReconcileSummaries is PUT /v1/system/reconcile/summaries: the
// leader recounts every job summary. Empty body on success, as Nomad's.
func (s *HTTPServer) systemReconcileSummaries(w http.ResponseWriter, r *http.Request) (any, error) {
	gc, ok := s.srv.(GarbageCollector)
	if !ok {
		return nil, notSupported("job summary reconciliation")
	}
	if _, err := gc.ReconcileJobSummaries(r.Context()); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// localCollector returns the local client's collector, or a 503 saying why
// this agent cannot collect allocations.
func (s *HTTPServer) localCollector() (clientCollector, error) {
	if s.client == nil {
		return nil, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client, so it has no allocation directories to collect; send the request to a server or to the node's agent"}
	}
	gc, ok := s.client.(clientCollector)
	if !ok {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this agent's client does not support garbage collection"}
	}
	return gc, nil
}

// clientAllocGC is GET (or PUT) /v1/client/allocation/{id}/gc: the node
// running the allocation destroys its directory (task dirs and logs) if
// it is terminal. Any agent forwards the request to that node's agent.
func (s *HTTPServer) clientAllocGC(w http.ResponseWriter, r *http.Request) (any, error) {
	allocID, local := s.routeAlloc(w, r)
	if !local {
		return nil, errHandled
	}
	gc, err := s.localCollector()
	if err != nil {
		return nil, err
	}
	if err := gc.GCAlloc(r.Context(), allocID); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// clientGC is GET (or PUT) /v1/client/gc[?node_id=]: the node destroys
// the directories of all its terminal allocations.
func (s *HTTPServer) clientGC(w http.ResponseWriter, r *http.Request) (any, error) {
	nodeID := r.URL.Query().Get("node_id")
	if !s.routeToNode(w, r, nodeID, "garbage collection") {
		return nil, errHandled
	}
	gc, err := s.localCollector()
	if err != nil {
		return nil, err
	}
	if nodeID != "" && nodeID != s.client.NodeID() {
		return nil, structs.NewNotFound("node %q is not this agent's node (%s); send the request to a server, which forwards it", nodeID, s.client.NodeID())
	}
	if err := gc.GC(r.Context()); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
