package agent

import (
	"context"
	"net/http"
	"strings"
)

// Identity is who made a request, as the Authenticator decided.
type Identity struct {
	// Token is the secret the request carried (an ACL token or a node's
	// secret ID), from X-Nomad-Token or "Authorization: Bearer".
	Token string
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
	return &Identity{Token: RequestToken(r)}, nil
}

// RequestToken returns the request's secret: X-Nomad-Token, else a bearer token.
func RequestToken(r *http.Request) string {
	if t := r.Header.Get("X-Nomad-Token"); t != "" {
		return strings.TrimSpace(t)
	}
	if a := r.Header.Get("Authorization"); a != "" {
		if scheme, tok, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

type identityKey struct{}

func withIdentity(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// identity returns the request's identity; never nil.
func identity(r *http.Request) *Identity {
	if id, ok := r.Context().Value(identityKey{}).(*Identity); ok && id != nil {
		return id
	}
	return &Identity{}
}
