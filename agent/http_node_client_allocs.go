package agent

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The client protocol's allocation watch (nomadlike/client.Session): a
// blocking query of each allocation's AllocModifyIndex, then a fetch of the
// allocations that changed, without the job versions the client already
// has. Both take only the node's own secret. Nomad's
// GET /v1/node/{id}/allocations keeps returning full allocations.

// nodeClientAllocs is GET /v1/node/{id}/client-allocations. With ?have=N
// it answers in the delta form (see structs.NodeClientAllocs).
func (s *HTTPServer) nodeClientAllocs(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id, err := s.nodeSelf(r)
	if err != nil {
		return nil, err
	}
	have := -1
	if v := r.URL.Query().Get("have"); v != "" {
		if have, err = strconv.Atoi(v); err != nil || have < 0 {
			return nil, structs.NewBadRequest("have=%q must be a non-negative integer (how many allocations the client holds as of ?index=)", v)
		}
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		if have >= 0 {
			// The delta form reads the node's view (the list of its
			// allocations' indexes and job versions), then only the
			// allocations that changed; it waits on the view alone: the
			// node's own status reports (about one per allocation) do not
			// wake it.
			changed, list, err := st.NodeAllocs(ws, id)
			if err != nil {
				return nil, 0, err
			}
			if q.MinIndex > 0 && changed <= q.MinIndex && len(list) == have {
				return &structs.NodeClientAllocs{Delta: true, Count: have}, q.MinIndex, nil
			}
			idx, err := tableIndex(st, "allocs", "nodes")
			if err != nil {
				return nil, 0, err
			}
			return clientAllocsDelta(st, list, q.MinIndex, have, idx)
		}
		allocs, err := st.AllocsByNode(ws, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "allocs", "nodes")
		if err != nil {
			return nil, 0, err
		}
		out := &structs.NodeClientAllocs{Allocs: make(map[string]uint64, len(allocs))}
		for _, a := range allocs {
			out.Allocs[a.ID] = a.AllocModifyIndex
		}
		return out, idx, nil
	})
	if err != nil {
		return nil, err
	}
	return wireReply{out}, nil
}

// clientAllocsDelta is the delta form of the watch for a client that held
// have allocations as of index since, from the node's list (its view, see
// state.NodeAllocs) in a snapshot st at index idx: it reads from st only
// the allocations that changed. When nothing the client sees changed
// (only the node's own status reports, or the server is behind the
// client) it returns the index since, so the blocking query goes on
// waiting; on timeout that "unchanged" reply is what the client gets.
func clientAllocsDelta(st *state.Snapshot, list []state.NodeAlloc, since uint64, have int, idx uint64) (*structs.NodeClientAllocs, uint64, error) {
	out := &structs.NodeClientAllocs{Delta: true, Count: len(list)}
	if since > 0 && idx <= since {
		// This server's state is not past what the client saw (a lagging
		// server after a failover): nothing newer to tell.
		out.Count = have
		return out, since, nil
	}
	var changed []string // IDs
	created := 0
	for i := range list {
		if e := &list[i]; e.AllocModifyIndex > since {
			changed = append(changed, e.ID)
			if e.CreateIndex > since {
				created++
			}
		}
	}
	// The client's set at since, less what is gone, plus what was created
	// since, is the node's set: something is gone exactly when the counts
	// disagree.
	gone := have+created != len(list)
	if since > 0 && len(changed) == 0 && !gone {
		out.Count = have
		return out, since, nil
	}
	if gone {
		out.Allocs = make(map[string]uint64, len(list))
		for i := range list {
			out.Allocs[list[i].ID] = list[i].AllocModifyIndex
		}
	}
	// The changed allocations in ID order, as a read of all the node's
	// allocations returned them.
	slices.Sort(changed)
	held := heldJobVersions(list, since)
	out.Changed = make([]*structs.Allocation, 0, len(changed))
	out.JobKeys = make(map[string]string, len(changed))
	for _, id := range changed {
		a, err := st.AllocByID(nil, id)
		if err != nil {
			return nil, 0, err
		}
		if a == nil {
			return nil, 0, fmt.Errorf("node allocation view lists allocation %s, which the state does not hold", id)
		}
		out.Changed = append(out.Changed, withoutJob(a, held, out.JobKeys, &out.Jobs))
	}
	return out, idx, nil
}

// jobVersion identifies a job version as structs.JobVersionKey does,
// without formatting a string.
type jobVersion struct {
	namespace, id         string
	version, jobModifyIdx uint64
}

func jobVersionOf(j *structs.Job) jobVersion {
	return jobVersion{j.Namespace, j.ID, j.Version, j.JobModifyIndex}
}

// heldJobVersions returns the keys (structs.JobVersionKey) of the job
// versions of the node's changed allocations (AllocModifyIndex > since)
// that the client already holds: the versions of its unchanged
// allocations. Only the changed allocations' few versions are asked
// about, so the node's unchanged allocations (up to hundreds, from as
// many jobs, on every wake of the watch) are compared first by job modify
// index, an integer, then by value, and never formatted.
func heldJobVersions(list []state.NodeAlloc, since uint64) map[string]bool {
	wanted := map[jobVersion]bool{}
	jmis := map[uint64]bool{}
	for i := range list {
		if j := list[i].Job; list[i].AllocModifyIndex > since && j != nil {
			wanted[jobVersionOf(j)] = false
			jmis[j.JobModifyIndex] = true
		}
	}
	held := map[string]bool{}
	var last *structs.Job // the allocations of one version share one *Job
	for i := range list {
		if len(held) == len(wanted) {
			break
		}
		j := list[i].Job
		if list[i].AllocModifyIndex > since || j == nil || j == last || !jmis[j.JobModifyIndex] {
			continue
		}
		last = j
		v := jobVersionOf(j)
		if h, ok := wanted[v]; ok && !h {
			wanted[v] = true
			held[structs.JobVersionKey(j)] = true
		}
	}
	return held
}

// withoutJob returns a shallow copy of a without its Job (the client keeps
// job versions apart) and without its Metrics (the scheduler's account of
// the placement, which no client reads: with the top node scores it was
// more than half of an allocation's encoding, and decoding its maps most
// of a client's cost of a watch reply), recording a's job version key in
// keys and adding its job to *jobs (made when nil) unless held has that key.
func withoutJob(a *structs.Allocation, held map[string]bool, keys map[string]string, jobs *map[string]*structs.Job) *structs.Allocation {
	k := structs.JobVersionKey(a.Job)
	keys[a.ID] = k
	if k != "" && !held[k] {
		if *jobs == nil {
			*jobs = map[string]*structs.Job{}
		}
		(*jobs)[k] = a.Job
	}
	c := *a // shallow: only Job and Metrics change, and the stored alloc is shared
	c.Job = nil
	c.DropMetrics()
	return &c
}

// nodePullAllocs is PUT /v1/node/{id}/client-allocations.
func (s *HTTPServer) nodePullAllocs(w http.ResponseWriter, r *http.Request) (any, error) {
	id, err := s.nodeSelf(r)
	if err != nil {
		return nil, err
	}
	var req structs.NodeAllocsPullRequest
	if err := decodeClientBody(r, &req); err != nil {
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
			out.Allocs = append(out.Allocs, withoutJob(a, have, out.JobKeys, &out.Jobs))
		}
		return tableIndex(st, "allocs", "nodes")
	})
	if err != nil {
		return nil, err
	}
	setIndex(w, idx)
	return wireReply{out}, nil
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
