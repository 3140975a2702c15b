package agent

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Node pools as Nomad serves them: GET/PUT /v1/node/pools, GET/DELETE
// /v1/node/pool/{name}, and the pool's nodes and jobs. ACL: node_pool
// rules (read, write, delete) on the pool; a pool's nodes also need
// node:read, its jobs list-jobs in their namespace.

// NodePoolWriter is the part of a server that writes node pools;
// *server.Server implements it (an optional capability of ServerAPI).
type NodePoolWriter interface {
	UpsertNodePools(ctx context.Context, pools []*structs.NodePool) (uint64, error)
	DeleteNodePools(ctx context.Context, names []string) (uint64, error)
}

// nodePoolIndex is the index of the pools table; the built-in pools exist
// from index 1.
func nodePoolIndex(st *state.Snapshot) (uint64, error) {
	idx, err := tableIndex(st, "node_pools")
	return max(idx, 1), err
}

// nodePoolsList is GET /v1/node/pools (prefix, filter, pagination): the
// pools the token may read.
func (s *HTTPServer) nodePoolsList(w http.ResponseWriter, r *http.Request) (any, error) {
	markChecked(r)
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := identity(r)
	if s.aclEnabled() && id.NotACLToken {
		return nil, errTokenNotFound
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		pools, err := st.NodePools(ws)
		if err != nil {
			return nil, 0, err
		}
		keep := make([]*structs.NodePool, 0, len(pools))
		for _, p := range pools {
			if strings.HasPrefix(p.Name, q.Prefix) && (!s.aclEnabled() || id.ACL.AllowNodePool(p.Name, acl.NodePoolCapabilityRead)) {
				keep = append(keep, p)
			}
		}
		idx, err := nodePoolIndex(st)
		return keep, idx, err
	})
	if err != nil {
		return nil, err
	}
	return paginate(w, q, out.([]*structs.NodePool), func(p *structs.NodePool) string { return p.Name })
}

// nodePoolBody is the body of PUT /v1/node/pools: Nomad's NodePool, whose
// NodeIdentityTTL (node identities) this cluster does not have.
type nodePoolBody struct {
	structs.NodePool
	NodeIdentityTTL any
}

// nodePoolUpsert is PUT /v1/node/pools: create or replace one pool.
func (s *HTTPServer) nodePoolUpsert(w http.ResponseWriter, r *http.Request) (any, error) {
	var body nodePoolBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	switch v := body.NodeIdentityTTL.(type) {
	case nil:
	case string:
		if v != "" && v != "0s" {
			return nil, structs.NewBadRequest("node pool %q: NodeIdentityTTL (node_identity_ttl) is not supported: this cluster has no node identities; remove it", body.Name)
		}
	case float64:
		if v != 0 {
			return nil, structs.NewBadRequest("node pool %q: NodeIdentityTTL (node_identity_ttl) is not supported: this cluster has no node identities; remove it", body.Name)
		}
	default:
		return nil, structs.NewBadRequest("node pool %q: NodeIdentityTTL must be a duration string", body.Name)
	}
	pool := body.NodePool
	return s.writePool(w, r, pool.Name, acl.NodePoolCapabilityWrite, func(pw NodePoolWriter) (uint64, error) {
		return pw.UpsertNodePools(r.Context(), []*structs.NodePool{&pool})
	})
}

// writePool checks capability c on pool name and makes the write.
func (s *HTTPServer) writePool(w http.ResponseWriter, r *http.Request, name, c string, write func(NodePoolWriter) (uint64, error)) (any, error) {
	if err := s.allow(r, identity(r).ACL.AllowNodePool(name, c), fmt.Sprintf("node_pool %q %s", name, c)); err != nil {
		return nil, err
	}
	pw, ok := s.srv.(NodePoolWriter)
	if !ok {
		return nil, notSupported("node pool writes")
	}
	index, err := write(pw)
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}

// nodePoolInfo is GET /v1/node/pool/{name}.
func (s *HTTPServer) nodePoolInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	name := mux.Vars(r)["name"]
	if err := s.allowPoolRead(r, name); err != nil {
		return nil, err
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		p, err := st.NodePoolByName(ws, name)
		if err != nil {
			return nil, 0, err
		}
		idx, err := nodePoolIndex(st)
		if p == nil {
			return nil, idx, err
		}
		return p, idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errPoolNotFound(name)
	}
	return out, nil
}

func errPoolNotFound(name string) error {
	return structs.NewNotFound("node pool %q not found (list node pools with node pool list)", name)
}

func (s *HTTPServer) allowPoolRead(r *http.Request, name string) error {
	return s.allow(r, identity(r).ACL.AllowNodePool(name, acl.NodePoolCapabilityRead), fmt.Sprintf("node_pool %q read", name))
}

// nodePoolDelete is DELETE /v1/node/pool/{name}.
func (s *HTTPServer) nodePoolDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	name := mux.Vars(r)["name"]
	return s.writePool(w, r, name, acl.NodePoolCapabilityDelete, func(pw NodePoolWriter) (uint64, error) {
		return pw.DeleteNodePools(r.Context(), []string{name})
	})
}

// nodePoolNodes is GET /v1/node/pool/{name}/nodes (filter, pagination, os):
// the nodes of the pool, every node for "all".
func (s *HTTPServer) nodePoolNodes(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	name := mux.Vars(r)["name"]
	ok := identity(r).ACL.AllowNodePool(name, acl.NodePoolCapabilityRead) && identity(r).ACL.Allow(acl.Node, acl.PolicyRead)
	if err := s.allow(r, ok, fmt.Sprintf("node_pool %q read and node:read", name)); err != nil {
		return nil, err
	}
	withOS, err := boolParam(r, "os")
	if err != nil {
		return nil, err
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		idx, err := tableIndex(st, "nodes", "node_pools")
		if err != nil {
			return nil, 0, err
		}
		if p, err := st.NodePoolByName(ws, name); err != nil || p == nil {
			return nil, idx, err
		}
		nodes, err := st.Nodes(ws)
		if err != nil {
			return nil, 0, err
		}
		stubs := []*structs.NodeListStub{}
		for _, n := range nodes {
			if name == structs.NodePoolAll || n.NodePool == name {
				stubs = append(stubs, nodeStub(n, withOS))
			}
		}
		return stubs, idx, nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errPoolNotFound(name)
	}
	return paginate(w, q, out.([]*structs.NodeListStub), func(n *structs.NodeListStub) string { return n.ID })
}

// nodePoolJobs is GET /v1/node/pool/{name}/jobs (namespace, filter,
// pagination): the pool's jobs in the namespaces the token may list jobs
// of, every job for "all".
func (s *HTTPServer) nodePoolJobs(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	name := mux.Vars(r)["name"]
	if err := s.allowPoolRead(r, name); err != nil {
		return nil, err
	}
	visible := s.nsFilter(r, capList)
	if !q.allNamespaces() && !visible(q.Namespace) {
		return nil, s.allowNS(r, q.Namespace, capList)
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		idx, err := tableIndex(st, "jobs", "job_summary", "node_pools")
		if err != nil {
			return nil, 0, err
		}
		if p, err := st.NodePoolByName(ws, name); err != nil || p == nil {
			return nil, idx, err
		}
		jobs, err := st.Jobs(ws, q.Namespace)
		if err != nil {
			return nil, 0, err
		}
		stubs := []*structs.JobListStub{}
		for _, j := range jobs {
			if (name != structs.NodePoolAll && j.NodePool != name) || !visible(j.Namespace) {
				continue
			}
			sum, err := st.JobSummaryByID(ws, j.Namespace, j.ID)
			if err != nil {
				return nil, 0, err
			}
			stubs = append(stubs, j.Stub(sum))
		}
		return stubs, idx, nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errPoolNotFound(name)
	}
	stubs := out.([]*structs.JobListStub)
	key := func(j *structs.JobListStub) string { return nsKey(j.Namespace, j.ID) }
	sortByKey(stubs, key)
	return paginate(w, q, stubs, key)
}
