package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (s *HTTPServer) evalsList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, evals, err := s.readEvals(w, r)
	if err != nil {
		return nil, err
	}
	key := func(e *structs.Evaluation) string { return e.ID }
	sortByKey(evals, key)
	return paginate(w, q, evals, key)
}

// evalsCount is GET /v1/evaluations/count: how many evaluations the list
// would return, with the same ?prefix=, ?namespace= and ?filter= (`nomad
// eval delete -filter` asks it before confirming).
func (s *HTTPServer) evalsCount(w http.ResponseWriter, r *http.Request) (any, error) {
	q, evals, err := s.readEvals(w, r)
	if err != nil {
		return nil, err
	}
	evals, err = filterItems(q.Filter, evals)
	if err != nil {
		return nil, err
	}
	return &struct{ Count int }{len(evals)}, nil
}

// readEvals runs the blocking read of the evaluations a list request
// selects (its namespace, ?prefix=, ?job=, ?status=, the namespaces the
// token may read), before ?filter= and paging.
func (s *HTTPServer) readEvals(w http.ResponseWriter, r *http.Request) (*queryOpts, []*structs.Evaluation, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, nil, err
	}
	visible := s.nsFilter(r, capRead)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		var evals []*structs.Evaluation
		if q.Prefix != "" {
			evals, err = st.EvalsByIDPrefix(ws, q.Namespace, q.Prefix)
		} else {
			evals, err = st.Evals(ws, q.Namespace)
		}
		if err != nil {
			return nil, 0, err
		}
		evals = keepNamespaces(evals, func(e *structs.Evaluation) string { return e.Namespace }, visible)
		idx, err := tableIndex(st, "evals")
		return append([]*structs.Evaluation{}, evals...), idx, err
	})
	if err != nil {
		return nil, nil, err
	}
	evals := out.([]*structs.Evaluation)
	// ?job= and ?status= (nomad eval list -job / -status).
	if job, status := r.URL.Query().Get("job"), r.URL.Query().Get("status"); job != "" || status != "" {
		kept := evals[:0]
		for _, e := range evals {
			if (job == "" || e.JobID == job) && (status == "" || e.Status == status) {
				kept = append(kept, e)
			}
		}
		evals = kept
	}
	return q, evals, nil
}

func (s *HTTPServer) evalInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	related, err := boolParam(r, "related")
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		e, err := st.EvalByID(ws, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "evals")
		if e == nil || err != nil {
			return nil, idx, err
		}
		if related {
			e = e.Copy()
			if e.RelatedEvals, err = relatedEvals(ws, st, e); err != nil {
				return nil, 0, err
			}
		}
		return e, idx, nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("evaluation %q not found (it may have been garbage collected; list evaluations with GET /v1/evaluations)", id)
	}
	return out, nil
}

// relatedEvals follows the NextEval, PreviousEval and BlockedEval links from
// e, transitively, and returns every evaluation reached (e excluded).
func relatedEvals(ws watchSet, st *state.Snapshot, e *structs.Evaluation) ([]*structs.EvaluationStub, error) {
	seen := map[string]bool{e.ID: true}
	queue := []*structs.Evaluation{e}
	var out []*structs.EvaluationStub
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		for _, next := range []string{cur.NextEval, cur.PreviousEval, cur.BlockedEval} {
			if next == "" || seen[next] {
				continue
			}
			seen[next] = true
			n, err := st.EvalByID(ws, next)
			if err != nil {
				return nil, err
			}
			if n == nil {
				continue // garbage collected
			}
			out = append(out, n.Stub())
			queue = append(queue, n)
		}
	}
	return out, nil
}

func (s *HTTPServer) evalAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		allocs, err := st.AllocsByEval(ws, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "allocs", "evals")
		if len(allocs) == 0 {
			if e, err := st.EvalByID(ws, id); e == nil || err != nil {
				return nil, idx, err
			}
		}
		return allocStubs(allocs), idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("evaluation %q not found", id)
	}
	return out, nil
}

// EvalDeleter is the part of a server that deletes evaluations at an
// operator's request; *server.Server implements it. It is an optional
// capability of ServerAPI, found by type assertion.
type EvalDeleter interface {
	DeleteEvals(ctx context.Context, ids []string, match func(*structs.Evaluation) (bool, error)) (*structs.EvalDeleteResponse, error)
}

// evalsDelete is DELETE /v1/evaluations with {"EvalIDs": [...]} or
// {"Filter": "<expression>"} (or ?filter=), as `nomad eval delete` sends it.
// The server refuses it unless the eval broker is paused.
func (s *HTTPServer) evalsDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	d, ok := s.srv.(EvalDeleter)
	if !ok {
		return nil, notSupported("deleting evaluations")
	}
	var req struct {
		EvalIDs []string
		Filter  string
	}
	if r.ContentLength != 0 {
		if err := decodeBody(r, &req); err != nil {
			return nil, err
		}
	}
	if req.Filter == "" {
		req.Filter = r.URL.Query().Get("filter")
	}
	var match func(*structs.Evaluation) (bool, error)
	if req.Filter != "" {
		ev, err := newFilter(req.Filter)
		if err != nil {
			return nil, err
		}
		match = func(e *structs.Evaluation) (bool, error) {
			ok, err := ev.Evaluate(e)
			if err != nil {
				return false, structs.NewBadRequest("filter %q: %v", req.Filter, err)
			}
			return ok, nil
		}
	}
	resp, err := d.DeleteEvals(r.Context(), req.EvalIDs, match)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
