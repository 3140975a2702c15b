package agent

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// namespacesList is GET /v1/namespaces: the namespaces the token has any
// capability in (all of them for management, or with ACLs disabled).
func (s *HTTPServer) namespacesList(w http.ResponseWriter, r *http.Request) (any, error) {
	markChecked(r)
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := identity(r)
	if s.aclEnabled() && id.NotACLToken {
		return nil, errTokenNotFound
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		all, err := st.Namespaces(ws)
		if err != nil {
			return nil, 0, err
		}
		out := []*structs.Namespace{}
		for _, n := range all {
			if !strings.HasPrefix(n.Name, q.Prefix) {
				continue
			}
			if !s.aclEnabled() || id.ACL.AllowNamespace(n.Name) {
				out = append(out, n)
			}
		}
		idx, err := tableIndex(st, "namespaces")
		return out, idx, err
	})
}

func (s *HTTPServer) namespaceInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	name := mux.Vars(r)["name"]
	id := identity(r)
	if err := s.allow(r, !id.NotACLToken && id.ACL.AllowNamespace(name), "any capability in namespace "+name); err != nil {
		return nil, err
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		n, err := st.NamespaceByName(ws, name)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "namespaces")
		if n == nil {
			return nil, idx, err
		}
		return n, idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("namespace %q not found (list namespaces with namespace list)", name)
	}
	return out, nil
}

// namespacePut is PUT /v1/namespace and /v1/namespace/{name}.
func (s *HTTPServer) namespacePut(w http.ResponseWriter, r *http.Request) (any, error) {
	var n structs.Namespace
	if err := decodeBody(r, &n); err != nil {
		return nil, err
	}
	if name, ok := mux.Vars(r)["name"]; ok {
		if n.Name == "" {
			n.Name = name
		}
		if n.Name != name {
			return nil, structs.NewBadRequest("namespace name %q in the body does not match %q in the URL", n.Name, name)
		}
	}
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	index, err := a.UpsertNamespaces(r.Context(), []*structs.Namespace{&n})
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}

func (s *HTTPServer) namespaceDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	index, err := a.DeleteNamespaces(r.Context(), []string{mux.Vars(r)["name"]})
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}
