package structs

import "time"

// Workload identities: a JWT the leader signs for each task with the
// keyring's active key (EdDSA), verifiable against /.well-known/jwks.json
// (identity.go holds the identity block).

// WorkloadIdentityDefaultAudience is the default identity's audience (Nomad's).
const WorkloadIdentityDefaultAudience = "nomadproject.io"

// IdentityName is the identity's name, "default" for the default one.
func (w *WorkloadIdentity) IdentityName() string {
	if w == nil || w.Name == "" {
		return WorkloadIdentityDefaultName
	}
	return w.Name
}

// TaskIdentities returns the identities the client signs for a task: the
// default one (always, as Nomad's; templates read variables with it) and
// the named ones.
func (t *Task) TaskIdentities() []*WorkloadIdentity {
	def := t.Identity
	if def == nil {
		def = &WorkloadIdentity{}
	}
	def = def.Copy()
	def.Name = WorkloadIdentityDefaultName
	return append([]*WorkloadIdentity{def}, t.Identities...)
}

// LookupIdentity returns the task's identity name, nil if it has none.
func (t *Task) LookupIdentity(name string) *WorkloadIdentity {
	for _, w := range t.TaskIdentities() {
		if w.IdentityName() == name {
			return w
		}
	}
	return nil
}

// WorkloadIdentityRequest asks for one task identity of an allocation.
type WorkloadIdentityRequest struct {
	AllocID      string
	TaskName     string
	IdentityName string
}

// SignIdentitiesRequest is a client's request for its tasks' identities
// (PUT /v1/node/{id}/identities, with the node's secret).
type SignIdentitiesRequest struct {
	Identities []*WorkloadIdentityRequest
}

// SignedWorkloadIdentity is one signed identity: the JWT and when it expires
// (zero: with the allocation).
type SignedWorkloadIdentity struct {
	AllocID      string
	TaskName     string
	IdentityName string
	JWT          string
	Expiration   time.Time
}

// SignIdentitiesResponse carries the signed identities.
type SignIdentitiesResponse struct {
	SignedIdentities []*SignedWorkloadIdentity
}

// IdentityClaims are a workload identity's JWT claims, Nomad's names.
type IdentityClaims struct {
	Namespace    string   `json:"nomad_namespace"`
	JobID        string   `json:"nomad_job_id"`
	AllocationID string   `json:"nomad_allocation_id"`
	Task         string   `json:"nomad_task,omitempty"`
	Service      string   `json:"nomad_service,omitempty"`
	Subject      string   `json:"sub"`
	Audience     []string `json:"aud"`
	IssuedAt     int64    `json:"iat"`
	NotBefore    int64    `json:"nbf"`
	Expiry       int64    `json:"exp,omitempty"`
	ID           string   `json:"jti"`
	Issuer       string   `json:"iss,omitempty"`
}
