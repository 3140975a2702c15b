package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (s *HTTPServer) allocsList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	visible := s.nsFilter(r, capRead)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		var allocs []*structs.Allocation
		if q.Prefix != "" {
			allocs, err = st.AllocsByIDPrefix(ws, q.Namespace, q.Prefix)
		} else {
			allocs, err = st.Allocs(ws, q.Namespace)
		}
		if err != nil {
			return nil, 0, err
		}
		allocs = keepNamespaces(allocs, func(a *structs.Allocation) string { return a.Namespace }, visible)
		idx, err := tableIndex(st, "allocs")
		return allocStubs(allocs), idx, err
	})
	if err != nil {
		return nil, err
	}
	stubs := out.([]*structs.AllocListStub)
	key := func(a *structs.AllocListStub) string { return a.ID }
	sortByKey(stubs, key)
	return paginate(w, q, stubs, key)
}

func allocStubs(allocs []*structs.Allocation) []*structs.AllocListStub {
	stubs := make([]*structs.AllocListStub, len(allocs))
	for i, a := range allocs {
		stubs[i] = a.Stub()
	}
	return stubs
}

func (s *HTTPServer) allocInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		a, err := st.AllocByID(ws, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "allocs")
		if a == nil {
			return nil, idx, err
		}
		return a, idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("allocation %q not found (IDs are full UUIDs; find one with GET /v1/allocations?prefix=%s)", id, structs.ShortID(id))
	}
	return out, nil
}

// allocStopResponse is the reply of PUT /v1/allocation/{id}/stop.
type allocStopResponse struct {
	EvalID string
	Index  uint64
}

// allocStopper is a server that stops allocations with Nomad's options;
// *server.Server implements it (an optional capability of ServerAPI).
type allocStopper interface {
	StopAllocOpts(ctx context.Context, allocID string, noShutdownDelay bool) (evalID string, index uint64, err error)
}

func (s *HTTPServer) allocStop(w http.ResponseWriter, r *http.Request) (any, error) {
	noDelay, err := boolParam(r, "no_shutdown_delay")
	if err != nil {
		return nil, err
	}
	var evalID string
	var index uint64
	if st, ok := s.srv.(allocStopper); ok {
		evalID, index, err = st.StopAllocOpts(r.Context(), mux.Vars(r)["id"], noDelay)
	} else {
		evalID, index, err = s.srv.StopAlloc(r.Context(), mux.Vars(r)["id"])
	}
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return &allocStopResponse{EvalID: evalID, Index: index}, nil
}
