package agent

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// tokenResolver turns a request's secret into the ACL that applies to it.
// An empty secret is the anonymous token. It returns errTokenNotFound when
// the secret is no ACL token (it may be a node's secret), and an error
// wrapping structs.ErrPermissionDenied for an expired token. Called
// concurrently.
type tokenResolver interface {
	Resolve(ctx context.Context, secret string) (*acl.ACL, *structs.ACLToken, error)
}

// errTokenNotFound is a secret that matches no ACL token.
var errTokenNotFound = &structs.CodedError{Code: http.StatusForbidden, Msg: "Permission denied: ACL token not found", Err: structs.ErrPermissionDenied}

func errTokenExpired(t *structs.ACLToken) error {
	return &structs.CodedError{Code: http.StatusForbidden,
		Msg: fmt.Sprintf("Permission denied: ACL token %s expired at %s; create a new one", structs.ShortID(t.AccessorID), t.ExpirationTime.Format(time.RFC3339)),
		Err: structs.ErrPermissionDenied}
}

// policyCache keeps parsed policies by name and modify index, so each
// request only merges rules it has already parsed.
type policyCache struct {
	mu sync.Mutex
	m  map[string]cachedPolicy
}

type cachedPolicy struct {
	modifyIndex uint64
	policy      *acl.Policy
}

func (c *policyCache) parse(p *structs.ACLPolicy) (*acl.Policy, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[p.Name]; ok && e.modifyIndex == p.ModifyIndex && p.ModifyIndex != 0 {
		return e.policy, nil
	}
	parsed, err := acl.Parse(p.Name, p.Rules)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[string]cachedPolicy{}
	}
	c.m[p.Name] = cachedPolicy{modifyIndex: p.ModifyIndex, policy: parsed}
	return parsed, nil
}

// stateResolver resolves tokens from a server's own state store.
type stateResolver struct {
	state    func() state.Reader
	policies policyCache
	now      func() time.Time
}

// Resolve implements tokenResolver.
func (r *stateResolver) Resolve(_ context.Context, secret string) (*acl.ACL, *structs.ACLToken, error) {
	st, err := r.state().Snapshot()
	if err != nil {
		return nil, nil, err
	}
	if secret == "" {
		a, err := r.compile(st, []string{structs.AnonymousPolicyName}, true)
		return a, nil, err
	}
	tok, err := st.ACLTokenBySecret(nil, secret)
	if err != nil {
		return nil, nil, err
	}
	if tok == nil {
		return nil, nil, errTokenNotFound
	}
	if tok.IsExpired(r.now()) {
		return nil, tok, errTokenExpired(tok)
	}
	if tok.IsManagement() {
		return acl.ManagementACL, tok, nil
	}
	names, err := tokenPolicyNames(st, tok)
	if err != nil {
		return nil, nil, err
	}
	a, err := r.compile(st, names, false)
	return a, tok, err
}

// tokenPolicyNames returns the token's policies and those of its roles.
func tokenPolicyNames(st *state.Snapshot, tok *structs.ACLToken) ([]string, error) {
	names := append([]string{}, tok.Policies...)
	for _, link := range tok.Roles {
		role, err := st.ACLRoleByID(nil, link.ID)
		if err != nil {
			return nil, err
		}
		if role != nil {
			names = append(names, role.PolicyNames()...)
		}
	}
	return names, nil
}

// compile merges the named policies; missing ones (deleted since the token
// was made) grant nothing.
func (r *stateResolver) compile(st *state.Snapshot, names []string, anonymous bool) (*acl.ACL, error) {
	var parsed []*acl.Policy
	for _, name := range names {
		p, err := st.ACLPolicyByName(nil, name)
		if err != nil {
			return nil, err
		}
		if p == nil {
			continue
		}
		pp, err := r.policies.parse(p)
		if err != nil {
			// Stored policies were validated on write; a parse failure
			// here grants nothing rather than failing every request.
			continue
		}
		parsed = append(parsed, pp)
	}
	if anonymous && len(parsed) == 0 {
		return acl.DenyAll, nil
	}
	return acl.Compile(parsed), nil
}

// workloadACL compiles the policies attached to a workload's job (an
// ACLPolicy's JobACL: the namespace and job, and the group and task when
// set), which its workload identity gets in addition to its implicit
// variable paths; none: an ACL that allows nothing.
func (r *stateResolver) workloadACL(w *structs.WorkloadClaims) (*acl.ACL, error) {
	st, err := r.state().Snapshot()
	if err != nil {
		return nil, err
	}
	all, err := st.ACLPolicies(nil, "")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, p := range all {
		j := p.JobACL
		if j != nil && j.Namespace == w.Namespace && j.JobID == w.JobID &&
			(j.Group == "" || j.Group == w.TaskGroup) && (j.Task == "" || j.Task == w.Task) {
			names = append(names, p.Name)
		}
	}
	if len(names) == 0 {
		return acl.DenyAll, nil
	}
	return r.compile(st, names, false)
}
