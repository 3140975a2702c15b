package agent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// remoteResolver resolves tokens on a client-only agent by asking a server
// with the token itself (its own token, policies and roles are readable by
// it), and caches the answer for the acl block's TTL.
type remoteResolver struct {
	servers  []string
	client   *http.Client
	ttl      time.Duration
	now      func() time.Time
	policies policyCache

	mu    sync.Mutex
	cache map[[sha256.Size]byte]remoteEntry
}

type remoteEntry struct {
	acl *acl.ACL
	tok *structs.ACLToken
	err error
	at  time.Time
}

// Resolve implements tokenResolver.
func (r *remoteResolver) Resolve(ctx context.Context, secret string) (*acl.ACL, *structs.ACLToken, error) {
	key := sha256.Sum256([]byte(secret))
	now := r.now()
	r.mu.Lock()
	e, ok := r.cache[key]
	r.mu.Unlock()
	if ok && now.Sub(e.at) < r.ttl {
		return e.acl, e.tok, e.err
	}
	a, tok, err := r.fetch(ctx, secret)
	var coded *structs.CodedError
	if err != nil && !errors.Is(err, errTokenNotFound) && !(errors.As(err, &coded) && coded.Code == http.StatusForbidden) {
		if ok {
			return e.acl, e.tok, e.err // servers unreachable: the stale answer, as Nomad's clients do
		}
		return nil, nil, err
	}
	r.mu.Lock()
	if r.cache == nil || len(r.cache) > 10000 {
		r.cache = map[[sha256.Size]byte]remoteEntry{}
	}
	r.cache[key] = remoteEntry{acl: a, tok: tok, err: err, at: now}
	r.mu.Unlock()
	return a, tok, err
}

func (r *remoteResolver) fetch(ctx context.Context, secret string) (*acl.ACL, *structs.ACLToken, error) {
	var tok structs.ACLToken
	if err := r.get(ctx, secret, "/v1/acl/token/self", &tok); err != nil {
		return nil, nil, err
	}
	if tok.IsExpired(r.now()) {
		return nil, &tok, errTokenExpired(&tok)
	}
	if tok.IsManagement() {
		return acl.ManagementACL, &tok, nil
	}
	names := append([]string{}, tok.Policies...)
	for _, link := range tok.Roles {
		var role structs.ACLRole
		if err := r.get(ctx, secret, "/v1/acl/role/"+url.PathEscape(link.ID), &role); err != nil {
			if errors.Is(err, structs.ErrNotFound) {
				continue
			}
			return nil, nil, err
		}
		names = append(names, role.PolicyNames()...)
	}
	var parsed []*acl.Policy
	for _, name := range names {
		var p structs.ACLPolicy
		if err := r.get(ctx, secret, "/v1/acl/policy/"+url.PathEscape(name), &p); err != nil {
			if errors.Is(err, structs.ErrNotFound) {
				continue
			}
			return nil, nil, err
		}
		pp, err := r.policies.parse(&p)
		if err != nil {
			continue
		}
		parsed = append(parsed, pp)
	}
	var self *structs.ACLToken
	if secret != "" {
		self = &tok
	}
	if len(parsed) == 0 {
		return acl.DenyAll, self, nil
	}
	return acl.Compile(parsed), self, nil
}

// get reads path from the first server that answers, with the token.
func (r *remoteResolver) get(ctx context.Context, secret, path string, out any) error {
	if len(r.servers) == 0 {
		return &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "ACLs are enabled and this client-only agent knows no server to check tokens with; set client.servers"}
	}
	var lastErr error
	for _, base := range r.servers {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+path, nil)
		if err != nil {
			return err
		}
		if secret != "" {
			req.Header.Set("X-Nomad-Token", secret)
		}
		resp, err := r.client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			lastErr = err
			continue
		}
		msg := strings.TrimSpace(string(body))
		switch {
		case resp.StatusCode == http.StatusOK:
			return json.Unmarshal(body, out)
		case resp.StatusCode == http.StatusForbidden && strings.Contains(msg, "ACL token not found"):
			return errTokenNotFound
		case resp.StatusCode == http.StatusForbidden:
			return &structs.CodedError{Code: http.StatusForbidden, Msg: msg, Err: structs.ErrPermissionDenied}
		case resp.StatusCode == http.StatusNotFound:
			return structs.NewNotFound("%s", msg)
		default:
			lastErr = fmt.Errorf("server %s answered %s: %s", base, resp.Status, msg)
		}
	}
	return &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "check the request's ACL token with a server", Err: lastErr}
}

// newAuthenticator picks the authenticator for an HTTP server's config:
// allow-all with ACLs disabled; the local state on a server; a server,
// asked over HTTP, on a client-only agent.
func newAuthenticator(cfg HTTPConfig) Authenticator {
	if !cfg.Agent.ACL.Enabled {
		return AllowAll{}
	}
	if cfg.Server != nil {
		r := &stateResolver{state: cfg.Server.State, now: time.Now}
		a := &aclAuthenticator{resolver: r}
		if v, ok := cfg.Server.(IdentityServer); ok {
			a.workload, a.workloadACL = v.VerifyWorkloadIdentity, r.workloadACL
		}
		return a
	}
	peer := newPeerDialer(cfg.ServerTLS)
	servers := make([]string, len(cfg.ServerURLs))
	for i, u := range cfg.ServerURLs {
		servers[i] = peer.url(u)
	}
	return &aclAuthenticator{resolver: &remoteResolver{
		servers: servers, client: &http.Client{Timeout: 10 * time.Second, Transport: peer.transport},
		ttl: cfg.Agent.ACL.cacheTTL(), now: time.Now,
	}}
}
