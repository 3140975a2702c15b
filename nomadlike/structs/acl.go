package structs

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// ACL token types.
const (
	ACLManagementToken = "management"
	ACLClientToken     = "client"
)

// AnonymousPolicyName is the policy that applies to requests without a token.
const AnonymousPolicyName = "anonymous"

// validACLName is the shape of policy and role names (Nomad's rule).
var validACLName = regexp.MustCompile(`^[a-zA-Z0-9-]{1,128}$`)

// ACLPolicy is a named set of rules in Nomad's ACL policy language (HCL).
type ACLPolicy struct {
	Name        string
	Description string
	Rules       string
	// JobACL attaches the policy to a job's workload identity (stored, not enforced).
	JobACL      *JobACL `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// JobACL attaches a policy to a job, group or task.
type JobACL struct {
	Namespace string
	JobID     string
	Group     string
	Task      string
}

// ACLPolicyListStub is a policy in a list.
type ACLPolicyListStub struct {
	Name        string
	Description string
	JobACL      *JobACL `json:",omitempty"`
	CreateIndex uint64
	ModifyIndex uint64
}

// Stub returns the policy's list form.
func (p *ACLPolicy) Stub() *ACLPolicyListStub {
	return &ACLPolicyListStub{Name: p.Name, Description: p.Description, JobACL: p.JobACL, CreateIndex: p.CreateIndex, ModifyIndex: p.ModifyIndex}
}

// Copy returns a deep copy.
func (p *ACLPolicy) Copy() *ACLPolicy {
	if p == nil {
		return nil
	}
	c := *p
	if p.JobACL != nil {
		j := *p.JobACL
		c.JobACL = &j
	}
	return &c
}

// ValidateACLName checks a policy or role name (what names the kind in the error).
func ValidateACLName(what, name string) error {
	if !validACLName.MatchString(name) {
		return NewBadRequest("%s name %q is invalid: use 1 to 128 letters, digits and dashes", what, name)
	}
	return nil
}

// ACLTokenRoleLink links a token to a role, by ID or by name.
type ACLTokenRoleLink struct {
	ID   string
	Name string
}

// ACLToken is a bearer credential. The state store keeps only a hash of
// its secret: SecretID is set only in the reply that creates the token.
type ACLToken struct {
	AccessorID string
	SecretID   string
	Name       string
	Type       string
	Policies   []string
	Roles      []*ACLTokenRoleLink
	Global     bool
	CreateTime time.Time
	// ExpirationTime is when the token stops working (nil: never).
	ExpirationTime *time.Time `json:",omitempty"`
	// ExpirationTTL is a create-time convenience: ExpirationTime = CreateTime + TTL.
	ExpirationTTL time.Duration `json:",omitempty"`
	// Hash is the SHA-256 of the secret; never served.
	Hash        []byte `json:"-"`
	CreateIndex uint64
	ModifyIndex uint64
}

// HashSecret returns the SHA-256 of a token secret, as stored.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// MatchesSecret reports, in constant time, whether secret is the token's.
func (t *ACLToken) MatchesSecret(secret string) bool {
	return len(t.Hash) == sha256.Size && subtle.ConstantTimeCompare(t.Hash, HashSecret(secret)) == 1
}

// IsManagement reports whether the token is a management token.
func (t *ACLToken) IsManagement() bool { return t != nil && t.Type == ACLManagementToken }

// IsExpired reports whether the token has expired at now.
func (t *ACLToken) IsExpired(now time.Time) bool {
	return t != nil && t.ExpirationTime != nil && !t.ExpirationTime.IsZero() && !now.Before(*t.ExpirationTime)
}

// Copy returns a deep copy.
func (t *ACLToken) Copy() *ACLToken {
	if t == nil {
		return nil
	}
	c := *t
	c.Policies = slices.Clone(t.Policies)
	c.Roles = make([]*ACLTokenRoleLink, 0, len(t.Roles))
	for _, l := range t.Roles {
		if l != nil {
			v := *l
			c.Roles = append(c.Roles, &v)
		}
	}
	if t.ExpirationTime != nil {
		e := *t.ExpirationTime
		c.ExpirationTime = &e
	}
	c.Hash = slices.Clone(t.Hash)
	return &c
}

// Redacted returns a copy without secret or hash, as read endpoints serve it.
func (t *ACLToken) Redacted() *ACLToken {
	c := t.Copy()
	c.SecretID, c.Hash = "", nil
	return c
}

// ACLTokenListStub is a token in a list.
type ACLTokenListStub struct {
	AccessorID     string
	Name           string
	Type           string
	Policies       []string
	Roles          []*ACLTokenRoleLink
	Global         bool
	CreateTime     time.Time
	ExpirationTime *time.Time `json:",omitempty"`
	CreateIndex    uint64
	ModifyIndex    uint64
}

// Stub returns the token's list form.
func (t *ACLToken) Stub() *ACLTokenListStub {
	c := t.Copy()
	return &ACLTokenListStub{AccessorID: c.AccessorID, Name: c.Name, Type: c.Type, Policies: c.Policies, Roles: c.Roles,
		Global: c.Global, CreateTime: c.CreateTime, ExpirationTime: c.ExpirationTime, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex}
}

// MarshalJSON sends ExpirationTTL as a duration string ("2m0s"), as Nomad does.
func (t *ACLToken) MarshalJSON() ([]byte, error) {
	type alias ACLToken
	out := struct {
		ExpirationTTL string `json:",omitempty"`
		*alias
	}{alias: (*alias)(t)}
	if t.ExpirationTTL != 0 {
		out.ExpirationTTL = t.ExpirationTTL.String()
	}
	return json.Marshal(out)
}

// UnmarshalJSON takes ExpirationTTL as a duration string or nanoseconds.
func (t *ACLToken) UnmarshalJSON(data []byte) error {
	type alias ACLToken
	aux := struct {
		ExpirationTTL any
		*alias
	}{alias: (*alias)(t)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	switch v := aux.ExpirationTTL.(type) {
	case nil:
	case string:
		if v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				return fmt.Errorf("field \"ExpirationTTL\": %q is not a duration like \"1h30m\": %w", v, err)
			}
			t.ExpirationTTL = d
		}
	case float64:
		t.ExpirationTTL = time.Duration(v)
	default:
		return fmt.Errorf("field \"ExpirationTTL\" must be a duration string like \"1h\", not %T", v)
	}
	return nil
}

// ACLRolePolicyLink links a role to a policy by name.
type ACLRolePolicyLink struct {
	Name string
}

// ACLRole groups policies under a name; tokens link to roles.
type ACLRole struct {
	ID          string
	Name        string
	Description string
	Policies    []*ACLRolePolicyLink
	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a deep copy.
func (r *ACLRole) Copy() *ACLRole {
	if r == nil {
		return nil
	}
	c := *r
	c.Policies = make([]*ACLRolePolicyLink, 0, len(r.Policies))
	for _, p := range r.Policies {
		if p != nil {
			v := *p
			c.Policies = append(c.Policies, &v)
		}
	}
	return &c
}

// PolicyNames returns the names of the role's policies.
func (r *ACLRole) PolicyNames() []string {
	out := make([]string, 0, len(r.Policies))
	for _, p := range r.Policies {
		if p != nil {
			out = append(out, p.Name)
		}
	}
	return out
}

// ACLRoleListStub is a role in a list.
type ACLRoleListStub struct {
	ID          string
	Name        string
	Description string
	Policies    []*ACLRolePolicyLink
	CreateIndex uint64
	ModifyIndex uint64
}

// Stub returns the role's list form.
func (r *ACLRole) Stub() *ACLRoleListStub {
	c := r.Copy()
	return &ACLRoleListStub{ID: c.ID, Name: c.Name, Description: c.Description, Policies: c.Policies, CreateIndex: c.CreateIndex, ModifyIndex: c.ModifyIndex}
}

// ACLBootstrapRequest is the optional body of PUT /v1/acl/bootstrap.
type ACLBootstrapRequest struct {
	// BootstrapSecret is an operator-chosen secret for the bootstrap token.
	BootstrapSecret string
}

// ACLPolicyUpsertRequest stores policies (Raft ACLPolicyUpsertRequestType).
type ACLPolicyUpsertRequest struct {
	Policies []*ACLPolicy
}

// ACLPolicyDeleteRequest removes policies by name (Raft ACLPolicyDeleteRequestType).
type ACLPolicyDeleteRequest struct {
	Names []string
}

// ACLTokenUpsertRequest stores tokens (Raft ACLTokenUpsertRequestType). The
// tokens carry the hash of their secret, never the secret.
type ACLTokenUpsertRequest struct {
	Tokens []*ACLToken
}

// ACLTokenDeleteRequest removes tokens by accessor ID (Raft ACLTokenDeleteRequestType).
type ACLTokenDeleteRequest struct {
	AccessorIDs []string
}

// ACLTokenBootstrapRequest stores the first management token (Raft
// ACLTokenBootstrapRequestType). ResetIndex, when non-zero, must equal the
// index of the previous bootstrap: the operator's reset.
type ACLTokenBootstrapRequest struct {
	Token      *ACLToken
	ResetIndex uint64
}

// ACLRoleUpsertRequest stores roles (Raft ACLRoleUpsertRequestType).
type ACLRoleUpsertRequest struct {
	Roles []*ACLRole
}

// ACLRoleDeleteRequest removes roles by ID (Raft ACLRoleDeleteRequestType).
type ACLRoleDeleteRequest struct {
	IDs []string
}
