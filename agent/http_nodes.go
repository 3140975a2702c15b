package agent

import (
	"crypto/subtle"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (s *HTTPServer) nodesList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	withOS, err := boolParam(r, "os")
	if err != nil {
		return nil, err
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		var nodes []*structs.Node
		if q.Prefix != "" {
			nodes, err = st.NodesByIDPrefix(ws, q.Prefix)
		} else {
			nodes, err = st.Nodes(ws)
		}
		if err != nil {
			return nil, 0, err
		}
		stubs := make([]*structs.NodeListStub, len(nodes))
		for i, n := range nodes {
			stubs[i] = nodeStub(n, withOS)
		}
		idx, err := tableIndex(st, "nodes")
		return stubs, idx, err
	})
	if err != nil {
		return nil, err
	}
	stubs := out.([]*structs.NodeListStub)
	key := func(n *structs.NodeListStub) string { return n.ID }
	sortByKey(stubs, key)
	return paginate(w, q, stubs, key)
}

// nodeStub is a node's list entry; withOS (?os=true) adds its OS name and
// version attributes, as Nomad does.
func nodeStub(n *structs.Node, withOS bool) *structs.NodeListStub {
	stub := n.Stub()
	if withOS {
		stub.Attributes = map[string]string{"os.name": n.Attributes["os.name"], "os.version": n.Attributes["os.version"]}
	}
	return stub
}

func (s *HTTPServer) nodeInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		n, err := st.NodeByID(ws, id)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "nodes")
		if n == nil {
			return nil, idx, err
		}
		return n.Sanitized(), idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("node %q not found (list nodes with GET /v1/nodes)", id)
	}
	return out, nil
}

// nodeAllocations is GET /v1/node/{id}/allocations: the node's allocations in
// full, with their jobs. Clients long-poll it for their work.
func (s *HTTPServer) nodeAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	// The node itself (its secret), or a token with node:read, whose list
	// keeps only the namespaces it may read.
	self := s.nodeSecretMatches(id, identity(r).Token)
	if err := s.allow(r, self || identity(r).ACL.Allow(acl.Node, acl.PolicyRead), "node:read, or the node's own secret"); err != nil {
		return nil, err
	}
	readable := s.nsFilter(r, acl.NamespaceCapabilityReadJob)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		allocs, err := st.AllocsByNode(ws, id)
		if !self && s.aclEnabled() {
			allocs = slices.DeleteFunc(slices.Clone(allocs), func(a *structs.Allocation) bool { return !readable(a.Namespace) })
		}
		if err != nil {
			return nil, 0, err
		}
		// An unknown node has no allocations: 200 with [], as Nomad answers.
		idx, err := tableIndex(st, "allocs", "nodes")
		return append([]*structs.Allocation{}, allocs...), idx, err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *HTTPServer) nodeRegister(w http.ResponseWriter, r *http.Request) (any, error) {
	var req structs.NodeRegisterRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.Node == nil {
		return nil, structs.NewBadRequest("request body has no Node: send {\"Node\": {...}}")
	}
	if err := s.allowRegister(r, req.Node); err != nil {
		return nil, err
	}
	resp, err := s.srv.RegisterNode(r.Context(), req.Node)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

func (s *HTTPServer) nodeHeartbeat(w http.ResponseWriter, r *http.Request) (any, error) {
	secret, err := nodeSecret(r)
	if err != nil {
		return nil, err
	}
	resp, err := s.srv.NodeHeartbeat(r.Context(), mux.Vars(r)["id"], secret)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

func (s *HTTPServer) nodeUpdateAllocations(w http.ResponseWriter, r *http.Request) (any, error) {
	secret, err := nodeSecret(r)
	if err != nil {
		return nil, err
	}
	var req structs.NodeAllocUpdateRequest
	if err := decodeClientBody(r, &req); err != nil {
		return nil, err
	}
	index, err := s.srv.UpdateAllocsFromClient(r.Context(), mux.Vars(r)["id"], secret, req.Allocs)
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return wireReply{&structs.GenericResponse{Index: index}}, nil
}

// nodeSecret returns the node's secret the request carries, or a 403 saying how to send it.
//
// The server compares it with the node's secret (in constant time), which
// is these endpoints' permission check with ACLs enabled too.
func nodeSecret(r *http.Request) (string, error) {
	markChecked(r)
	tok := identity(r).Token
	if tok == "" {
		return "", &structs.CodedError{Code: http.StatusForbidden, Err: structs.ErrPermissionDenied,
			Msg: "node requests need the node's secret ID in the X-Nomad-Token header (or Authorization: Bearer)"}
	}
	return tok, nil
}

// nodeSecretMatches reports, in constant time, whether secret is node id's.
func (s *HTTPServer) nodeSecretMatches(id, secret string) bool {
	if s.srv == nil || secret == "" {
		return false
	}
	n, err := readState(s, func(st *state.Snapshot) (*structs.Node, error) { return st.NodeByID(nil, id) })
	return err == nil && n != nil && subtle.ConstantTimeCompare([]byte(n.SecretID), []byte(secret)) == 1
}

// allowRegister is node registration's permission with ACLs enabled: a
// token with node:write (the client's introduction token, or this agent's
// own client's key), or a node re-registering with its own secret.
func (s *HTTPServer) allowRegister(r *http.Request, node *structs.Node) error {
	id := identity(r)
	local := s.cfg.LocalClientKey != "" && subtle.ConstantTimeCompare([]byte(id.Token), []byte(s.cfg.LocalClientKey)) == 1
	return s.allow(r, local || id.ACL.Allow(acl.Node, acl.PolicyWrite) || s.nodeSecretMatches(node.ID, node.SecretID),
		"node:write (a client introduction token; set client.intro_token), or the node's own secret")
}
