package agent

import (
	"context"
	"errors"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Identity is who made a request, as the Authenticator decided.
type Identity struct {
	// Token is the secret the request carried (an ACL token or a node's
	// secret ID), from X-Nomad-Token or "Authorization: Bearer".
	Token string
	// ACL is what the request may do: acl.ManagementACL when ACLs are
	// disabled, the anonymous policy without a token. Never nil once
	// authenticated.
	ACL *acl.ACL
	// ACLToken is the ACL token the secret matched (nil: anonymous, a
	// node's secret, or ACLs disabled). Its secret is not set.
	ACLToken *structs.ACLToken
	// NotACLToken is set when the secret matched no ACL token: only the
	// client-to-server endpoints, which check node secrets, accept it.
	NotACLToken bool
	// Workload is set when the secret is a task's workload identity (a
	// JWT the leader signed): the task it names.
	Workload *structs.WorkloadClaims
}

// accessor names the identity in audit logs: the token's accessor ID,
// "anonymous", or "not-an-acl-token".
func (id *Identity) accessor() string {
	switch {
	case id.ACLToken != nil:
		return id.ACLToken.AccessorID
	case id.NotACLToken:
		return "not-an-acl-token"
	}
	return "anonymous"
}

// Authenticator decides who a request is from, or refuses it with an error
// wrapping structs.ErrPermissionDenied. It is called concurrently.
type Authenticator interface {
	Authenticate(r *http.Request) (*Identity, error)
}

// AllowAll is the authenticator with ACLs disabled: every request is allowed,
// and the token it carries (if any) is passed on, so endpoints that need a
// node's secret still get it.
type AllowAll struct{}

// Authenticate implements Authenticator.
func (AllowAll) Authenticate(r *http.Request) (*Identity, error) {
	return &Identity{Token: RequestToken(r), ACL: acl.ManagementACL}, nil
}

// aclAuthenticator resolves the request's token to its ACL (ACLs enabled).
type aclAuthenticator struct {
	resolver tokenResolver
	// workload verifies a task's workload identity (a JWT); nil on a
	// client-only agent, which proxies the routes that accept one.
	workload func(token string) (*structs.WorkloadClaims, error)
	// workloadACL is the ACL of the policies attached to a workload's job.
	workloadACL func(w *structs.WorkloadClaims) (*acl.ACL, error)
}

// Authenticate implements Authenticator. A secret that is no ACL token is
// let through with an ACL that allows nothing (it may be a node's secret,
// which the client-to-server endpoints check); an expired token is refused.
func (a *aclAuthenticator) Authenticate(r *http.Request) (*Identity, error) {
	secret := RequestToken(r)
	policy, tok, err := a.resolver.Resolve(r.Context(), secret)
	if errors.Is(err, errTokenNotFound) {
		if a.workload != nil && server.LooksLikeJWT(secret) {
			claims, err := a.workload(secret)
			if err != nil {
				return nil, err
			}
			policy := acl.DenyAll
			if a.workloadACL != nil {
				if policy, err = a.workloadACL(claims); err != nil {
					return nil, err
				}
			}
			return &Identity{Token: secret, ACL: policy, Workload: claims}, nil
		}
		return &Identity{Token: secret, ACL: acl.DenyAll, NotACLToken: true}, nil
	}
	if err != nil {
		return nil, err
	}
	return &Identity{Token: secret, ACL: policy, ACLToken: tok}, nil
}

// RequestToken returns the request's secret: X-Nomad-Token, else a bearer
// token (server.RequestToken).
func RequestToken(r *http.Request) string { return server.RequestToken(r) }

type identityKey struct{}

func withIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// identity returns the request's identity; never nil.
func identity(r *http.Request) *Identity {
	if st := stateOf(r); st != nil && st.id != nil {
		return st.id
	}
	if id, ok := r.Context().Value(identityKey{}).(*Identity); ok && id != nil {
		return id
	}
	return &Identity{ACL: acl.DenyAll}
}
