package agent

import (
	"context"
	"net/http"
	"slices"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// aclServer is what the ACL and namespace endpoints call on the server;
// *server.Server implements it.
type aclServer interface {
	BootstrapACL(ctx context.Context, secret string) (*structs.ACLToken, error)
	UpsertACLPolicies(ctx context.Context, policies []*structs.ACLPolicy) (uint64, error)
	DeleteACLPolicies(ctx context.Context, names []string) (uint64, error)
	UpsertACLToken(ctx context.Context, t *structs.ACLToken) (*structs.ACLToken, error)
	DeleteACLTokens(ctx context.Context, accessorIDs []string) (uint64, error)
	UpsertACLRole(ctx context.Context, r *structs.ACLRole) (*structs.ACLRole, error)
	DeleteACLRoles(ctx context.Context, ids []string) (uint64, error)
	UpsertNamespaces(ctx context.Context, namespaces []*structs.Namespace) (uint64, error)
	DeleteNamespaces(ctx context.Context, names []string) (uint64, error)
}

// aclRoutes adds the /v1/acl and /v1/namespace endpoints (their rules are
// in routeRules).
func (s *HTTPServer) aclRoutes(srv func(string, []string, handlerFunc), get, put, del []string) {
	srv("/v1/acl/bootstrap", put, s.aclOnly(s.aclBootstrap))
	srv("/v1/acl/policies", get, s.aclOnly(s.aclPoliciesList))
	srv("/v1/acl/policy/{name}", get, s.aclOnly(s.aclPolicyInfo))
	srv("/v1/acl/policy/{name}", put, s.aclOnly(s.aclPolicyPut))
	srv("/v1/acl/policy/{name}", del, s.aclOnly(s.aclPolicyDelete))
	srv("/v1/acl/tokens", get, s.aclOnly(s.aclTokensList))
	srv("/v1/acl/token", put, s.aclOnly(s.aclTokenCreate))
	srv("/v1/acl/token/self", get, s.aclOnly(s.aclTokenSelf))
	srv("/v1/acl/token/{id}", get, s.aclOnly(s.aclTokenInfo))
	srv("/v1/acl/token/{id}", put, s.aclOnly(s.aclTokenUpdate))
	srv("/v1/acl/token/{id}", del, s.aclOnly(s.aclTokenDelete))
	srv("/v1/acl/roles", get, s.aclOnly(s.aclRolesList))
	srv("/v1/acl/role", put, s.aclOnly(s.aclRoleCreate))
	srv("/v1/acl/role/name/{name}", get, s.aclOnly(s.aclRoleByName))
	srv("/v1/acl/role/{id}", get, s.aclOnly(s.aclRoleInfo))
	srv("/v1/acl/role/{id}", put, s.aclOnly(s.aclRoleUpdate))
	srv("/v1/acl/role/{id}", del, s.aclOnly(s.aclRoleDelete))

	srv("/v1/namespaces", get, s.namespacesList)
	srv("/v1/namespace", put, s.namespacePut)
	srv("/v1/namespace/{name}", get, s.namespaceInfo)
	srv("/v1/namespace/{name}", put, s.namespacePut)
	srv("/v1/namespace/{name}", del, s.namespaceDelete)
}

func (s *HTTPServer) aclSrv() (aclServer, error) {
	a, ok := s.srv.(aclServer)
	if !ok {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this server does not implement the ACL system"}
	}
	return a, nil
}

// aclOnly refuses the ACL endpoints while ACLs are disabled, as Nomad does.
func (s *HTTPServer) aclOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		if !s.aclEnabled() {
			return nil, structs.NewBadRequest("ACL support disabled: set acl { enabled = true } in the agent configuration of every agent")
		}
		return h(w, r)
	}
}

func (s *HTTPServer) aclBootstrap(w http.ResponseWriter, r *http.Request) (any, error) {
	var req structs.ACLBootstrapRequest
	if err := decodeOptionalBody(r, &req); err != nil {
		return nil, err
	}
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	tok, err := a.BootstrapACL(r.Context(), req.BootstrapSecret)
	if err != nil {
		return nil, err
	}
	setIndex(w, tok.ModifyIndex)
	return tok, nil
}

// tokenPolicySet returns the names of the policies the request's token
// holds (directly or by role), for non-management reads of policies.
func tokenPolicySet(st *state.Snapshot, id *Identity) ([]string, error) {
	if id.ACLToken == nil {
		return []string{structs.AnonymousPolicyName}, nil
	}
	return tokenPolicyNames(st, id.ACLToken)
}

func (s *HTTPServer) aclPoliciesList(w http.ResponseWriter, r *http.Request) (any, error) {
	markChecked(r) // everyone lists what they hold
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := identity(r)
	if id.NotACLToken {
		return nil, errTokenNotFound
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		policies, err := st.ACLPolicies(ws, q.Prefix)
		if err != nil {
			return nil, 0, err
		}
		held, err := tokenPolicySet(st, id)
		if err != nil {
			return nil, 0, err
		}
		out := []*structs.ACLPolicyListStub{}
		for _, p := range policies {
			if id.ACL.IsManagement() || slices.Contains(held, p.Name) {
				out = append(out, p.Stub())
			}
		}
		idx, err := tableIndex(st, "acl_policy")
		return out, idx, err
	})
}

func (s *HTTPServer) aclPolicyInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	name := mux.Vars(r)["name"]
	id := identity(r)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		held, err := tokenPolicySet(st, id)
		if err != nil {
			return nil, 0, err
		}
		if err := s.allow(r, id.ACL.IsManagement() || (!id.NotACLToken && slices.Contains(held, name)), "management, or a policy of the token"); err != nil {
			return nil, 0, err
		}
		p, err := st.ACLPolicyByName(ws, name)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "acl_policy")
		if p == nil {
			return nil, idx, err
		}
		return p, idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("ACL policy %q not found (list policies with acl policy list)", name)
	}
	return out, nil
}

func (s *HTTPServer) aclPolicyPut(w http.ResponseWriter, r *http.Request) (any, error) {
	var p structs.ACLPolicy
	if err := decodeBody(r, &p); err != nil {
		return nil, err
	}
	name := mux.Vars(r)["name"]
	if p.Name == "" {
		p.Name = name
	}
	if p.Name != name {
		return nil, structs.NewBadRequest("policy name %q in the body does not match %q in the URL", p.Name, name)
	}
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	index, err := a.UpsertACLPolicies(r.Context(), []*structs.ACLPolicy{&p})
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}

func (s *HTTPServer) aclPolicyDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	index, err := a.DeleteACLPolicies(r.Context(), []string{mux.Vars(r)["name"]})
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}

func (s *HTTPServer) aclTokensList(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		tokens, err := st.ACLTokens(ws, q.Prefix)
		if err != nil {
			return nil, 0, err
		}
		out := make([]*structs.ACLTokenListStub, 0, len(tokens))
		for _, t := range tokens {
			out = append(out, t.Stub())
		}
		idx, err := tableIndex(st, "acl_token")
		return out, idx, err
	})
}

func (s *HTTPServer) aclTokenCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var t structs.ACLToken
	if err := decodeBody(r, &t); err != nil {
		return nil, err
	}
	if t.AccessorID != "" {
		return nil, structs.NewBadRequest("a new token's AccessorID is chosen by the server; to update a token use PUT /v1/acl/token/%s", t.AccessorID)
	}
	return s.upsertToken(w, r, &t)
}

func (s *HTTPServer) aclTokenUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	var t structs.ACLToken
	if err := decodeBody(r, &t); err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	if t.AccessorID == "" {
		t.AccessorID = id
	}
	if t.AccessorID != id {
		return nil, structs.NewBadRequest("AccessorID %q in the body does not match %q in the URL", t.AccessorID, id)
	}
	return s.upsertToken(w, r, &t)
}

func (s *HTTPServer) upsertToken(w http.ResponseWriter, r *http.Request, t *structs.ACLToken) (any, error) {
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	out, err := a.UpsertACLToken(r.Context(), t)
	if err != nil {
		return nil, err
	}
	setIndex(w, out.ModifyIndex)
	return out, nil
}

// anonymousToken is what /v1/acl/token/self answers without a token, as Nomad's.
func anonymousToken() *structs.ACLToken {
	return &structs.ACLToken{AccessorID: "anonymous", Name: "Anonymous Token", Type: structs.ACLClientToken,
		Policies: []string{structs.AnonymousPolicyName}, Global: false}
}

func (s *HTTPServer) aclTokenSelf(w http.ResponseWriter, r *http.Request) (any, error) {
	id := identity(r)
	if err := s.allow(r, !id.NotACLToken, "a valid token"); err != nil {
		return nil, err
	}
	if id.ACLToken == nil {
		return anonymousToken(), nil
	}
	return s.tokenInfo(w, r, id.ACLToken.AccessorID)
}

func (s *HTTPServer) aclTokenInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	accessor := mux.Vars(r)["id"]
	id := identity(r)
	self := id.ACLToken != nil && id.ACLToken.AccessorID == accessor
	if err := s.allow(r, id.ACL.IsManagement() || self, "management, or the token itself"); err != nil {
		return nil, err
	}
	return s.tokenInfo(w, r, accessor)
}

func (s *HTTPServer) tokenInfo(w http.ResponseWriter, r *http.Request, accessor string) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		t, err := st.ACLTokenByAccessorID(ws, accessor)
		if err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "acl_token")
		if t == nil {
			return nil, idx, err
		}
		return t.Redacted(), idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("ACL token %q not found (list tokens with acl token list)", accessor)
	}
	return out, nil
}

func (s *HTTPServer) aclTokenDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	index, err := a.DeleteACLTokens(r.Context(), []string{mux.Vars(r)["id"]})
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}

// tokenRoleIDs returns the IDs of the roles the request's token links.
func tokenRoleIDs(id *Identity) []string {
	if id.ACLToken == nil {
		return nil
	}
	var out []string
	for _, l := range id.ACLToken.Roles {
		out = append(out, l.ID)
	}
	return out
}

func (s *HTTPServer) aclRolesList(w http.ResponseWriter, r *http.Request) (any, error) {
	markChecked(r) // everyone lists what they hold
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := identity(r)
	if id.NotACLToken {
		return nil, errTokenNotFound
	}
	held := tokenRoleIDs(id)
	return s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		roles, err := st.ACLRoles(ws, q.Prefix)
		if err != nil {
			return nil, 0, err
		}
		out := []*structs.ACLRoleListStub{}
		for _, role := range roles {
			if id.ACL.IsManagement() || slices.Contains(held, role.ID) {
				out = append(out, role.Stub())
			}
		}
		idx, err := tableIndex(st, "acl_role")
		return out, idx, err
	})
}

func (s *HTTPServer) aclRoleInfo(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.roleInfo(w, r, func(st *state.Snapshot, ws watchSet) (*structs.ACLRole, error) {
		return st.ACLRoleByID(ws, mux.Vars(r)["id"])
	}, mux.Vars(r)["id"])
}

func (s *HTTPServer) aclRoleByName(w http.ResponseWriter, r *http.Request) (any, error) {
	return s.roleInfo(w, r, func(st *state.Snapshot, ws watchSet) (*structs.ACLRole, error) {
		return st.ACLRoleByName(ws, mux.Vars(r)["name"])
	}, mux.Vars(r)["name"])
}

func (s *HTTPServer) roleInfo(w http.ResponseWriter, r *http.Request, find func(*state.Snapshot, watchSet) (*structs.ACLRole, error), what string) (any, error) {
	q, err := s.parseQuery(r)
	if err != nil {
		return nil, err
	}
	id := identity(r)
	held := tokenRoleIDs(id)
	out, err := s.blockingQuery(w, r, q, func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
		role, err := find(st, ws)
		if err != nil {
			return nil, 0, err
		}
		mine := role != nil && slices.Contains(held, role.ID)
		if err := s.allow(r, id.ACL.IsManagement() || mine, "management, or a role of the token"); err != nil {
			return nil, 0, err
		}
		idx, err := tableIndex(st, "acl_role")
		if role == nil {
			return nil, idx, err
		}
		return role, idx, err
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, structs.NewNotFound("ACL role %q not found (list roles with acl role list)", what)
	}
	return out, nil
}

func (s *HTTPServer) aclRoleCreate(w http.ResponseWriter, r *http.Request) (any, error) {
	var role structs.ACLRole
	if err := decodeBody(r, &role); err != nil {
		return nil, err
	}
	if role.ID != "" {
		return nil, structs.NewBadRequest("a new role's ID is chosen by the server; to update a role use PUT /v1/acl/role/%s", role.ID)
	}
	return s.upsertRole(w, r, &role)
}

func (s *HTTPServer) aclRoleUpdate(w http.ResponseWriter, r *http.Request) (any, error) {
	var role structs.ACLRole
	if err := decodeBody(r, &role); err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	if role.ID == "" {
		role.ID = id
	}
	if role.ID != id {
		return nil, structs.NewBadRequest("role ID %q in the body does not match %q in the URL", role.ID, id)
	}
	return s.upsertRole(w, r, &role)
}

func (s *HTTPServer) upsertRole(w http.ResponseWriter, r *http.Request, role *structs.ACLRole) (any, error) {
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	out, err := a.UpsertACLRole(r.Context(), role)
	if err != nil {
		return nil, err
	}
	setIndex(w, out.ModifyIndex)
	return out, nil
}

func (s *HTTPServer) aclRoleDelete(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := s.aclSrv()
	if err != nil {
		return nil, err
	}
	index, err := a.DeleteACLRoles(r.Context(), []string{mux.Vars(r)["id"]})
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return nil, nil
}
