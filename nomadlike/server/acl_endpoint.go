package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/acl"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ACL endpoints: IDs, secrets and times are chosen here, before the Raft
// write; the log and the state store only ever see the secret's hash.

// readResetIndex returns the reset index an operator wrote to the reset
// file, 0 when there is none.
func (s *Server) readResetIndex() (uint64, error) {
	if s.cfg.ACLBootstrapResetFile == "" {
		return 0, nil
	}
	b, err := os.ReadFile(s.cfg.ACLBootstrapResetFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read ACL bootstrap reset file: %w", err)
	}
	idx, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, structs.NewBadRequest("ACL bootstrap reset file %s must hold the reset index (a number), not %q", s.cfg.ACLBootstrapResetFile, strings.TrimSpace(string(b)))
	}
	return idx, nil
}

// BootstrapACL creates the first management token and returns it with its
// secret. It works once; afterwards only the reset procedure allows another:
// write the reset index from the refusal into the reset file on the leader.
// secret, when set, is the operator's chosen secret (a UUID).
func (s *Server) BootstrapACL(ctx context.Context, secret string) (*structs.ACLToken, error) {
	if !s.IsLeader() {
		return nil, s.notLeaderError()
	}
	done, err := s.state.ACLBootstrapIndex()
	if err != nil {
		return nil, err
	}
	var reset uint64
	if done != 0 {
		if reset, err = s.readResetIndex(); err != nil {
			return nil, err
		}
		if reset != done {
			return nil, state.ErrACLBootstrapDone(done)
		}
	}
	if secret != "" && !isUUID(secret) {
		return nil, structs.NewBadRequest("BootstrapSecret must be a UUID (e.g. from uuidgen), not %q", secret)
	}
	if secret == "" {
		secret = structs.GenerateUUID()
	}
	now := time.Now().UTC()
	tok := &structs.ACLToken{
		AccessorID: structs.GenerateUUID(), Name: "Bootstrap Token", Type: structs.ACLManagementToken,
		Global: true, CreateTime: now, Hash: structs.HashSecret(secret),
	}
	index, err := s.raftApply(ctx, structs.ACLTokenBootstrapRequestType, &structs.ACLTokenBootstrapRequest{Token: tok, ResetIndex: reset})
	if err != nil {
		return nil, err
	}
	if reset != 0 && s.cfg.ACLBootstrapResetFile != "" {
		if err := os.Remove(s.cfg.ACLBootstrapResetFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logger.Warn("ACL bootstrap reset done, but the reset file could not be removed", "file", s.cfg.ACLBootstrapResetFile, "error", err)
		}
	}
	out := tok.Copy()
	out.SecretID, out.Hash = secret, nil
	out.CreateIndex, out.ModifyIndex = index, index
	return out, nil
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// UpsertACLPolicies validates and stores policies.
func (s *Server) UpsertACLPolicies(ctx context.Context, policies []*structs.ACLPolicy) (uint64, error) {
	if len(policies) == 0 {
		return 0, structs.NewBadRequest("no ACL policy given")
	}
	for _, p := range policies {
		if p == nil {
			return 0, structs.NewBadRequest("ACL policy is missing")
		}
		if err := structs.ValidateACLName("ACL policy", p.Name); err != nil {
			return 0, err
		}
		if len(p.Description) > 256 {
			return 0, structs.NewBadRequest("ACL policy %q: description is longer than 256 characters", p.Name)
		}
		if _, err := acl.Parse(p.Name, p.Rules); err != nil {
			return 0, structs.NewBadRequest("ACL policy %q is invalid: %v", p.Name, err)
		}
	}
	return s.raftApply(ctx, structs.ACLPolicyUpsertRequestType, &structs.ACLPolicyUpsertRequest{Policies: policies})
}

// DeleteACLPolicies removes policies by name.
func (s *Server) DeleteACLPolicies(ctx context.Context, names []string) (uint64, error) {
	return s.raftApply(ctx, structs.ACLPolicyDeleteRequestType, &structs.ACLPolicyDeleteRequest{Names: names})
}

// UpsertACLToken creates a token (AccessorID empty; the reply carries its
// new secret) or updates one (name, type, policies, roles; never its secret
// or expiry). A token with a pre-chosen AccessorID and SecretID that does
// not exist yet is created with them (Nomad's token upload).
func (s *Server) UpsertACLToken(ctx context.Context, t *structs.ACLToken) (*structs.ACLToken, error) {
	if t == nil {
		return nil, structs.NewBadRequest("no ACL token given")
	}
	tok := t.Copy()
	switch tok.Type {
	case "":
		tok.Type = structs.ACLClientToken
	case structs.ACLClientToken, structs.ACLManagementToken:
	default:
		return nil, structs.NewBadRequest("token type %q is not \"client\" or \"management\"", tok.Type)
	}
	if tok.Type == structs.ACLManagementToken && (len(tok.Policies) > 0 || len(tok.Roles) > 0) {
		return nil, structs.NewBadRequest("a management token cannot have policies or roles: it may do everything")
	}
	if tok.Type == structs.ACLClientToken && len(tok.Policies) == 0 && len(tok.Roles) == 0 {
		return nil, structs.NewBadRequest("a client token needs at least one policy or role (-policy or -role-name)")
	}
	if len(tok.Name) > 256 {
		return nil, structs.NewBadRequest("token name is longer than 256 characters")
	}
	for _, name := range tok.Policies {
		if p, err := s.state.ACLPolicyByName(nil, name); err != nil {
			return nil, err
		} else if p == nil {
			return nil, structs.NewBadRequest("ACL policy %q does not exist; create it first (POST /v1/acl/policy/%s)", name, name)
		}
	}
	roles, err := s.resolveRoleLinks(tok.Roles)
	if err != nil {
		return nil, err
	}
	tok.Roles = roles
	var existing *structs.ACLToken
	if tok.AccessorID != "" {
		if existing, err = s.state.ACLTokenByAccessorID(nil, tok.AccessorID); err != nil {
			return nil, err
		}
	}
	secret := ""
	switch {
	case existing != nil:
		// An update keeps identity, secret, creation and expiry.
		if tok.SecretID != "" && !existing.MatchesSecret(tok.SecretID) {
			return nil, structs.NewBadRequest("a token's SecretID cannot be changed")
		}
		tok.Hash, tok.SecretID = existing.Hash, ""
		tok.CreateTime, tok.ExpirationTime, tok.ExpirationTTL = existing.CreateTime, existing.ExpirationTime, 0
		tok.Global = existing.Global
	case tok.AccessorID != "":
		if tok.Type == structs.ACLManagementToken {
			return nil, structs.NewBadRequest("management tokens cannot be uploaded with a chosen AccessorID; create them without one")
		}
		if !isUUID(tok.AccessorID) || !isUUID(tok.SecretID) {
			return nil, structs.NewBadRequest("ACL token %q not found; to upload a token give both AccessorID and SecretID as UUIDs", tok.AccessorID)
		}
		secret = tok.SecretID
	default:
		tok.AccessorID = structs.GenerateUUID()
		secret = structs.GenerateUUID()
	}
	if existing == nil {
		tok.CreateTime = time.Now().UTC()
		if tok.ExpirationTTL < 0 {
			return nil, structs.NewBadRequest("ExpirationTTL %v is negative", tok.ExpirationTTL)
		}
		if tok.ExpirationTTL > 0 {
			if tok.ExpirationTime != nil {
				return nil, structs.NewBadRequest("give ExpirationTTL or ExpirationTime, not both")
			}
			exp := tok.CreateTime.Add(tok.ExpirationTTL)
			tok.ExpirationTime = &exp
		} else if tok.ExpirationTime != nil && !tok.ExpirationTime.After(tok.CreateTime) {
			return nil, structs.NewBadRequest("ExpirationTime %s is in the past", tok.ExpirationTime.Format(time.RFC3339))
		}
		tok.ExpirationTTL = 0
		tok.Hash, tok.SecretID = structs.HashSecret(secret), ""
	}
	index, err := s.raftApply(ctx, structs.ACLTokenUpsertRequestType, &structs.ACLTokenUpsertRequest{Tokens: []*structs.ACLToken{tok}})
	if err != nil {
		return nil, err
	}
	out, err := s.state.ACLTokenByAccessorID(nil, tok.AccessorID)
	if err != nil || out == nil {
		return nil, fmt.Errorf("read back ACL token %s at index %d: %v", tok.AccessorID, index, err)
	}
	out = out.Redacted()
	out.SecretID = secret
	return out, nil
}

// resolveRoleLinks fills each link's ID and name from the role it names.
func (s *Server) resolveRoleLinks(links []*structs.ACLTokenRoleLink) ([]*structs.ACLTokenRoleLink, error) {
	var out []*structs.ACLTokenRoleLink
	for _, l := range links {
		if l == nil {
			continue
		}
		var (
			r   *structs.ACLRole
			err error
		)
		if l.ID != "" {
			r, err = s.state.ACLRoleByID(nil, l.ID)
		} else {
			r, err = s.state.ACLRoleByName(nil, l.Name)
		}
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, structs.NewBadRequest("ACL role %q does not exist; create it first (POST /v1/acl/role)", l.ID+l.Name)
		}
		if !slices.ContainsFunc(out, func(x *structs.ACLTokenRoleLink) bool { return x.ID == r.ID }) {
			out = append(out, &structs.ACLTokenRoleLink{ID: r.ID, Name: r.Name})
		}
	}
	return out, nil
}

// DeleteACLTokens removes tokens by accessor ID.
func (s *Server) DeleteACLTokens(ctx context.Context, accessorIDs []string) (uint64, error) {
	return s.raftApply(ctx, structs.ACLTokenDeleteRequestType, &structs.ACLTokenDeleteRequest{AccessorIDs: accessorIDs})
}

// UpsertACLRole creates (ID empty) or updates a role and returns it.
func (s *Server) UpsertACLRole(ctx context.Context, r *structs.ACLRole) (*structs.ACLRole, error) {
	if r == nil {
		return nil, structs.NewBadRequest("no ACL role given")
	}
	role := r.Copy()
	if err := structs.ValidateACLName("ACL role", role.Name); err != nil {
		return nil, err
	}
	if len(role.Policies) == 0 {
		return nil, structs.NewBadRequest("ACL role %q needs at least one policy", role.Name)
	}
	if role.ID == "" {
		role.ID = structs.GenerateUUID()
	} else if existing, err := s.state.ACLRoleByID(nil, role.ID); err != nil {
		return nil, err
	} else if existing == nil {
		return nil, structs.NewNotFound("ACL role %s not found", role.ID)
	}
	if _, err := s.raftApply(ctx, structs.ACLRoleUpsertRequestType, &structs.ACLRoleUpsertRequest{Roles: []*structs.ACLRole{role}}); err != nil {
		return nil, err
	}
	return s.state.ACLRoleByID(nil, role.ID)
}

// DeleteACLRoles removes roles by ID.
func (s *Server) DeleteACLRoles(ctx context.Context, ids []string) (uint64, error) {
	return s.raftApply(ctx, structs.ACLRoleDeleteRequestType, &structs.ACLRoleDeleteRequest{IDs: ids})
}

// UpsertNamespaces validates and stores namespaces.
func (s *Server) UpsertNamespaces(ctx context.Context, namespaces []*structs.Namespace) (uint64, error) {
	if len(namespaces) == 0 {
		return 0, structs.NewBadRequest("no namespace given")
	}
	for _, n := range namespaces {
		if err := n.Validate(); err != nil {
			return 0, err
		}
	}
	return s.raftApply(ctx, structs.NamespaceUpsertRequestType, &structs.NamespaceUpsertRequest{Namespaces: namespaces})
}

// DeleteNamespaces removes namespaces by name (not default, not with jobs).
func (s *Server) DeleteNamespaces(ctx context.Context, names []string) (uint64, error) {
	return s.raftApply(ctx, structs.NamespaceDeleteRequestType, &structs.NamespaceDeleteRequest{Names: names})
}

// checkNamespace refuses a job in a namespace that does not exist (a job
// never creates one).
func (s *Server) checkNamespace(namespace, jobID string) error {
	ns, err := s.state.NamespaceByName(nil, namespace)
	if err != nil {
		return fmt.Errorf("look up namespace %q: %w", namespace, err)
	}
	if ns == nil {
		return structs.NewBadRequest("job %q: namespace %q does not exist; create it first (POST /v1/namespace/%s) or choose an existing one (GET /v1/namespaces)", jobID, namespace, namespace)
	}
	return nil
}
