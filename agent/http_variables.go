package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// VariableServer is the part of a server that holds the keyring and the
// variables; *server.Server implements it (an optional capability of
// ServerAPI).
type VariableServer interface {
	ListRootKeys() ([]*structs.RootKeyMeta, uint64, error)
	RotateRootKey(ctx context.Context, full bool) (*structs.RootKeyMeta, uint64, error)
	RemoveRootKey(ctx context.Context, id string, force bool) (uint64, error)
	DecryptVariable(v *structs.VariableEncrypted) (*structs.VariableDecrypted, error)
	ApplyVariable(ctx context.Context, op string, v *structs.VariableDecrypted, cas *uint64) (*structs.VariableDecrypted, error)
	RenewVariableLock(namespace, path, lockID string) (*structs.VariableMetadata, error)
}

var _ VariableServer = (*server.Server)(nil)

// variableTable is the state table whose index variable reads report.
const variableTable = "variables"

func (s *HTTPServer) varServer() (VariableServer, error) {
	vs, ok := s.srv.(VariableServer)
	if !ok {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this server does not hold variables"}
	}
	return vs, nil
}

// keyringList is GET /v1/operator/keyring/keys. ACL: management.
func (s *HTTPServer) keyringList(w http.ResponseWriter, _ *http.Request) (any, error) {
	vs, err := s.varServer()
	if err != nil {
		return nil, err
	}
	keys, idx, err := vs.ListRootKeys()
	if err != nil {
		return nil, err
	}
	setIndex(w, idx)
	return keys, nil
}

// keyringRotate is PUT /v1/operator/keyring/rotate[?full=true]. ACL: management.
func (s *HTTPServer) keyringRotate(w http.ResponseWriter, r *http.Request) (any, error) {
	vs, err := s.varServer()
	if err != nil {
		return nil, err
	}
	full, err := boolParam(r, "full")
	if err != nil {
		return nil, err
	}
	if algo := r.URL.Query().Get("algo"); algo != "" && algo != structs.EncryptionAlgorithmAES256GCM {
		return nil, structs.NewBadRequest("algo=%q is not supported: the only root key algorithm is %q", algo, structs.EncryptionAlgorithmAES256GCM)
	}
	if r.URL.Query().Get("publish_time") != "" {
		return nil, structs.NewBadRequest("publish_time (prepublished keys) is not supported: rotate without it")
	}
	key, idx, err := vs.RotateRootKey(r.Context(), full)
	if err != nil {
		return nil, err
	}
	setIndex(w, idx)
	return map[string]any{"Key": key}, nil
}

// keyringRemove is DELETE /v1/operator/keyring/key/{id}. ACL: management.
func (s *HTTPServer) keyringRemove(w http.ResponseWriter, r *http.Request) (any, error) {
	vs, err := s.varServer()
	if err != nil {
		return nil, err
	}
	force, err := boolParam(r, "force")
	if err != nil {
		return nil, err
	}
	idx, err := vs.RemoveRootKey(r.Context(), mux.Vars(r)["id"], force)
	if err != nil {
		return nil, err
	}
	setIndex(w, idx)
	return nil, nil
}

// allowVariable is a variable handler's check of capability c on path.
func (s *HTTPServer) allowVariable(r *http.Request, ns, path, c string) error {
	id := identity(r)
	ok := id.ACL.AllowVariableOp(ns, path, c) || workloadMayReadVariable(id, ns, path, c) || s.nodeMayUseIngressVariable(r, ns, path)
	return s.allow(r, ok, fmt.Sprintf("variables %s on %q in namespace %q", c, path, ns))
}

// varsList is GET /v1/vars: the metadata of the variables the token may
// list, by namespace and path (?prefix, ?namespace=* and pagination).
func (s *HTTPServer) varsList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	markChecked(r)
	id := identity(r)
	node, err := s.nodeRequest(r)
	if err != nil {
		return nil, err
	}
	mayList := func(ns, path string) bool {
		return !s.aclEnabled() || id.ACL.AllowVariableOp(ns, path, acl.VariablesCapabilityList) ||
			workloadMayReadVariable(id, ns, path, acl.VariablesCapabilityList) ||
			(node && ns == structs.DefaultNamespace && structs.IsIngressVariable(path))
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		vars, err := st.Variables(ws, q.Namespace, q.Prefix)
		if err != nil {
			return nil, 0, err
		}
		out := []*structs.VariableMetadata{}
		for _, v := range vars {
			if mayList(v.Namespace, v.Path) {
				out = append(out, v.Metadata())
			}
		}
		idx, err := tableIndex(st, variableTable)
		if err != nil {
			return nil, 0, err
		}
		page, err := paginate(w, q, out, func(m *structs.VariableMetadata) string { return nsKey(m.Namespace, m.Path) })
		return page, max(idx, 1), err
	})
}

// varPath is the variable path of a /v1/var/{path} request.
func varPath(r *http.Request) string { return strings.Trim(mux.Vars(r)["path"], "/") }

// varRead is GET /v1/var/{path}: the variable with its items (404 when
// absent); blocking with ?index.
func (s *HTTPServer) varRead(w http.ResponseWriter, r *http.Request) (any, error) {
	vs, err := s.varServer()
	if err != nil {
		return nil, err
	}
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	path := varPath(r)
	if err := s.allowVariable(r, q.Namespace, path, acl.VariablesCapabilityRead); err != nil {
		return nil, err
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		v, err := st.VariableByPath(ws, q.Namespace, path)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, variableTable)
		if err != nil || v == nil {
			return (*structs.VariableDecrypted)(nil), max(idx, 1), err
		}
		dec, err := vs.DecryptVariable(v)
		return dec, max(idx, 1), err
	})
	if err != nil {
		return nil, err
	}
	if v, _ := out.(*structs.VariableDecrypted); v == nil {
		return nil, structs.NewNotFound("variable not found: no variable at path %q in namespace %q", path, q.Namespace)
	}
	return out, nil
}

// casParam reads ?cas=N (nil when absent).
func casParam(r *http.Request) (*uint64, error) {
	c := r.URL.Query().Get("cas")
	if c == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(c, 10, 64)
	if err != nil {
		return nil, structs.NewBadRequest("cas=%q must be the variable's modify index (0: it must not exist)", c)
	}
	return &n, nil
}

// varWrite is PUT /v1/var/{path}: set (with ?cas), or ?lock-acquire,
// ?lock-renew, ?lock-release. A check-and-set or lock conflict is 409 with
// the current variable (its items only for a token that may read them).
func (s *HTTPServer) varWrite(w http.ResponseWriter, r *http.Request) (any, error) {
	vs, err := s.varServer()
	if err != nil {
		return nil, err
	}
	path := varPath(r)
	var in structs.VariableDecrypted
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	ns := requestNamespace(r)
	if in.Namespace != "" && r.URL.Query().Get("namespace") == "" {
		ns = in.Namespace
	}
	if in.Path != "" && strings.Trim(in.Path, "/") != path {
		return nil, structs.NewBadRequest("the body's Path %q differs from the URL's %q: give the same path", in.Path, path)
	}
	in.Namespace, in.Path = ns, path
	if err := s.allowVariable(r, ns, path, acl.VariablesCapabilityWrite); err != nil {
		return nil, err
	}
	cas, err := casParam(r)
	if err != nil {
		return nil, err
	}
	query := r.URL.Query()
	op := structs.VarOpSet
	switch {
	case query.Has("lock-renew"):
		lockID := ""
		if in.Lock != nil {
			lockID = in.Lock.ID
		}
		meta, err := vs.RenewVariableLock(ns, path, lockID)
		if err != nil {
			return s.varConflict(w, r, err, ns, path)
		}
		return meta, nil
	case query.Has("lock-acquire"):
		op = structs.VarOpLockAcquire
	case query.Has("lock-release"):
		op = structs.VarOpLockRelease
		if in.Lock == nil || in.Lock.ID == "" {
			return nil, structs.NewBadRequest("lock-release needs the lock's ID in the body: {\"Lock\": {\"ID\": \"...\"}}")
		}
	}
	out, err := vs.ApplyVariable(r.Context(), op, &in, cas)
	if err != nil {
		return s.varConflict(w, r, err, ns, path)
	}
	if out != nil {
		setIndex(w, out.ModifyIndex)
	}
	return out, nil
}

// varConflict answers a check-and-set or lock conflict with 409 and the
// current variable; other errors pass through.
func (s *HTTPServer) varConflict(w http.ResponseWriter, r *http.Request, err error, ns, path string) (any, error) {
	var c *structs.ErrVariableConflict
	if !errors.As(err, &c) {
		return nil, err
	}
	vs, _ := s.varServer()
	cur := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: ns, Path: path}}
	if v, rerr := readState(s, func(st *state.Snapshot) (*structs.VariableEncrypted, error) { return st.VariableByPath(nil, ns, path) }); rerr == nil && v != nil {
		cur = &structs.VariableDecrypted{VariableMetadata: *v.Metadata()}
		if cur.Lock != nil {
			cur.Lock.ID = "" // the holder's secret
		}
		if s.allowVariable(r, ns, path, acl.VariablesCapabilityRead) == nil {
			if dec, derr := vs.DecryptVariable(v); derr == nil {
				cur.Items = dec.Items
			}
		}
	}
	s.logger.Debug("variable write conflict", "namespace", ns, "path", path, "reason", c.Reason)
	s.writeJSON(w, r, http.StatusConflict, cur)
	return nil, errHandled
}

// varDelete is DELETE /v1/var/{path}[?cas=N]: 204 without a body (409 on
// a conflict).
func (s *HTTPServer) varDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	vs, err := s.varServer()
	if err != nil {
		return nil, err
	}
	ns, path := requestNamespace(r), varPath(r)
	if err := s.allowVariable(r, ns, path, acl.VariablesCapabilityDestroy); err != nil {
		return nil, err
	}
	cas, err := casParam(r)
	if err != nil {
		return nil, err
	}
	in := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: ns, Path: path}}
	if _, err := vs.ApplyVariable(r.Context(), structs.VarOpDelete, in, cas); err != nil {
		return s.varConflict(w, r, err, ns, path)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil, errHandled
}

// nodeMayUseIngressVariable is a client's access to the ingress's
// certificates and ACME state: its node's secret, naming the node in
// structs.NodeIDHeader, may use the variables below
// structs.IngressVariablePrefix in the default namespace, and no others.
func (s *HTTPServer) nodeMayUseIngressVariable(r *http.Request, ns, path string) bool {
	return ns == structs.DefaultNamespace && structs.IsIngressVariable(path) && s.isNodeRequest(r)
}

// isNodeRequest reports whether the request's token is the secret of the
// node its structs.NodeIDHeader names (compared in constant time).
func (s *HTTPServer) isNodeRequest(r *http.Request) bool {
	id := identity(r)
	node := r.Header.Get(structs.NodeIDHeader)
	return id.NotACLToken && node != "" && s.nodeSecretMatches(node, id.Token)
}

// nodeRequest is isNodeRequest for a list that filters by permission: a
// secret that is neither an ACL token nor the secret of the node it names
// (a client before its node is registered) is refused, an error the client
// retries, rather than answered with an empty list it would wait on.
func (s *HTTPServer) nodeRequest(r *http.Request) (bool, error) {
	if s.isNodeRequest(r) {
		return true, nil
	}
	if identity(r).NotACLToken {
		return false, s.allow(r, false, "the secret of the node named in "+structs.NodeIDHeader)
	}
	return false, nil
}

// workloadMayReadVariable is a task's implicit access: read and list of
// nomad/jobs/<job>, .../<group> and .../<group>/<task> in its namespace
// (workload identities; see identity.go).
func workloadMayReadVariable(id *Identity, ns, path, c string) bool {
	w := id.Workload
	if w == nil || ns != w.Namespace || (c != acl.VariablesCapabilityRead && c != acl.VariablesCapabilityList) {
		return false
	}
	base := structs.VariableJobsPrefix + "/" + w.JobID
	return path == base || path == base+"/"+w.TaskGroup || path == base+"/"+w.TaskGroup+"/"+w.Task
}
