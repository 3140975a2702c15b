package agent

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The client protocol's allocation watch (nomadlike/client.Session): a
// blocking query of each allocation's AllocModifyIndex, then a fetch of the
// allocations that changed, without the job versions the client already
// has. Both take only the node's own secret. Nomad's
// GET /v1/node/{id}/allocations keeps returning full allocations.

// nodeClientAllocs is GET /v1/node/{id}/client-allocations.
func (s *HTTPServer) nodeClientAllocs(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id, err := s.nodeSelf(r)
	if err != nil {
		return nil, err
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		allocs, err := st.AllocsByNode(ws, id)
		if err != nil {
			return nil, 0, err
		}
		out := &structs.NodeClientAllocs{Allocs: make(map[string]uint64, len(allocs))}
		for _, a := range allocs {
			out.Allocs[a.ID] = a.AllocModifyIndex
		}
		idx, err := tableIndex(st, "allocs", "nodes")
		return out, idx, err
	})
}

// nodePullAllocs is PUT /v1/node/{id}/client-allocations.
func (s *HTTPServer) nodePullAllocs(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := s.nodeSelf(r)
	if err != nil {
		return nil, err
	}
	var req structs.NodeAllocsPullRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(req.HaveJobs))
	for _, k := range req.HaveJobs {
		have[k] = true
	}
	out := &structs.NodeAllocsPullResponse{Allocs: []*structs.Allocation{}, JobKeys: map[string]string{}, Jobs: map[string]*structs.Job{}}
	idx, err := readState(s, func(st *state.Snapshot) (uint64, error) {
		for _, allocID := range req.AllocIDs {
			a, err := st.AllocByID(nil, allocID)
			if err != nil {
				return 0, err
			}
			if a == nil || a.NodeID != id {
				continue // gone, or not this node's: the client drops it
			}
			k := structs.JobVersionKey(a.Job)
			out.JobKeys[a.ID] = k
			if k != "" && !have[k] {
				out.Jobs[k] = a.Job
			}
			c := *a // shallow: only Job changes, and the stored alloc is shared
			c.Job = nil
			out.Allocs = append(out.Allocs, &c)
		}
		return tableIndex(st, "allocs", "nodes")
	})
	if err != nil {
		return nil, err
	}
	setIndex(w, idx)
	return out, nil
}

// nodeSelf returns the node ID of the route when the request carries that
// node's secret, and a 403 saying so otherwise.
func (s *HTTPServer) nodeSelf(r *http.Request) (string, error) {
	id := mux.Vars(r)["id"]
	secret, err := nodeSecret(r)
	if err != nil {
		return "", err
	}
	if !s.nodeSecretMatches(id, secret) {
		return "", &structs.CodedError{Code: http.StatusForbidden, Err: structs.ErrPermissionDenied,
			Msg: "the client allocation protocol takes the node's own secret ID as its token (X-Nomad-Token); this token is not node " + structs.ShortID(id) + "'s secret (is the node registered?)"}
	}
	return id, nil
}
