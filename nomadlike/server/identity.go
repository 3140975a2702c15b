package server

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Workload identities are JWTs (EdDSA, header "kid" = the root key's ID)
// signed by the keyring's active root key with its Ed25519 key; any server
// verifies them with the key the kid names (its own unwrapped copy).

// jwtHeader is a workload identity's JOSE header.
type jwtHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
	Typ string `json:"typ"`
}

var b64 = base64.RawURLEncoding

// signJWT signs claims with root key m.
func signJWT(m *rootKeyMaterial, claims any) (string, error) {
	h, err := json.Marshal(jwtHeader{Alg: "EdDSA", Kid: m.id, Typ: "JWT"})
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	signing := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	return signing + "." + b64.EncodeToString(ed25519.Sign(m.signer, []byte(signing))), nil
}

// errBadIdentity is a token that is no valid workload identity.
func errBadIdentity(format string, args ...any) error {
	return &structs.CodedError{Code: http.StatusForbidden, Err: structs.ErrPermissionDenied,
		Msg: "Permission denied: invalid workload identity: " + fmt.Sprintf(format, args...)}
}

// LooksLikeJWT reports whether a secret has a JWT's shape (three base64url
// parts, the first a JSON object), so token resolution tries it as a
// workload identity.
func LooksLikeJWT(s string) bool {
	return strings.HasPrefix(s, "eyJ") && strings.Count(s, ".") == 2
}

// VerifyWorkloadIdentity checks a workload identity's signature, times and
// allocation (it must exist and not be terminal) and returns the task it names.
func (s *Server) VerifyWorkloadIdentity(token string) (*structs.WorkloadClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errBadIdentity("not a JWT")
	}
	hb, err := b64.DecodeString(parts[0])
	if err != nil {
		return nil, errBadIdentity("header: %v", err)
	}
	var h jwtHeader
	if err := json.Unmarshal(hb, &h); err != nil || h.Alg != "EdDSA" || h.Kid == "" {
		return nil, errBadIdentity("the header must name alg EdDSA and a kid")
	}
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		return nil, errBadIdentity("signature: %v", err)
	}
	m, err := s.enc.key(h.Kid)
	if err != nil {
		return nil, errBadIdentity("signing key %s: %v", h.Kid, err)
	}
	if !ed25519.Verify(m.signer.Public().(ed25519.PublicKey), []byte(parts[0]+"."+parts[1]), sig) {
		return nil, errBadIdentity("bad signature")
	}
	cb, err := b64.DecodeString(parts[1])
	if err != nil {
		return nil, errBadIdentity("claims: %v", err)
	}
	var c structs.IdentityClaims
	if err := json.Unmarshal(cb, &c); err != nil {
		return nil, errBadIdentity("claims: %v", err)
	}
	now := time.Now().Unix()
	if c.Expiry != 0 && now >= c.Expiry {
		return nil, errBadIdentity("expired at %s", time.Unix(c.Expiry, 0).UTC().Format(time.RFC3339))
	}
	if now+60 < c.NotBefore {
		return nil, errBadIdentity("not valid before %s", time.Unix(c.NotBefore, 0).UTC().Format(time.RFC3339))
	}
	alloc, err := s.state.AllocByID(nil, c.AllocationID)
	if err != nil {
		return nil, err
	}
	if alloc == nil || alloc.ClientTerminalStatus() {
		return nil, errBadIdentity("allocation %s is gone or terminal", structs.ShortID(c.AllocationID))
	}
	return &structs.WorkloadClaims{Namespace: c.Namespace, JobID: c.JobID, TaskGroup: alloc.TaskGroup, Task: c.Task, AllocationID: c.AllocationID}, nil
}

// SignIdentities signs the identities a node asks for its allocations'
// tasks with the active root key. nodeID and secretID authenticate the node.
func (s *Server) SignIdentities(nodeID, secretID string, req *structs.SignIdentitiesRequest) (*structs.SignIdentitiesResponse, error) {
	if _, err := s.authNode(nodeID, secretID); err != nil {
		return nil, err
	}
	if req == nil || len(req.Identities) == 0 {
		return nil, structs.NewBadRequest("no identity asked: send {\"Identities\": [{\"AllocID\", \"TaskName\", \"IdentityName\"}]}")
	}
	m, err := s.enc.active()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	out := &structs.SignIdentitiesResponse{}
	for i, r := range req.Identities {
		if r == nil {
			return nil, structs.NewBadRequest("Identities[%d] is empty", i)
		}
		alloc, err := s.state.AllocByID(nil, r.AllocID)
		if err != nil {
			return nil, err
		}
		if alloc == nil || alloc.NodeID != nodeID {
			return nil, structs.NewBadRequest("Identities[%d]: allocation %s is not placed on node %s", i, structs.ShortID(r.AllocID), structs.ShortID(nodeID))
		}
		if alloc.ClientTerminalStatus() {
			return nil, structs.NewBadRequest("Identities[%d]: allocation %s is terminal; its tasks get no identity", i, structs.ShortID(r.AllocID))
		}
		var task *structs.Task
		if alloc.Job != nil {
			if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil {
				task = tg.LookupTask(r.TaskName)
			}
		}
		if task == nil {
			return nil, structs.NewBadRequest("Identities[%d]: allocation %s has no task %q", i, structs.ShortID(r.AllocID), r.TaskName)
		}
		w := task.LookupIdentity(r.IdentityName)
		if w == nil {
			return nil, structs.NewBadRequest("Identities[%d]: task %q has no identity %q", i, r.TaskName, r.IdentityName)
		}
		aud := w.Audience
		if w.IdentityName() == structs.WorkloadIdentityDefaultName && len(aud) == 0 {
			aud = []string{structs.WorkloadIdentityDefaultAudience}
		}
		c := structs.IdentityClaims{Namespace: alloc.Namespace, JobID: alloc.JobID, AllocationID: alloc.ID, Task: task.Name,
			Subject:  strings.Join([]string{s.cfg.Region, alloc.Namespace, alloc.JobID, alloc.TaskGroup, task.Name, w.IdentityName()}, ":"),
			Audience: aud, IssuedAt: now.Unix(), NotBefore: now.Unix(), ID: structs.GenerateUUID()}
		signed := &structs.SignedWorkloadIdentity{AllocID: alloc.ID, TaskName: task.Name, IdentityName: w.IdentityName()}
		if w.TTL > 0 {
			signed.Expiration = now.Add(w.TTL).UTC()
			c.Expiry = signed.Expiration.Unix()
		}
		if signed.JWT, err = signJWT(m, c); err != nil {
			return nil, err
		}
		out.SignedIdentities = append(out.SignedIdentities, signed)
	}
	return out, nil
}

// JWK is one public key of /.well-known/jwks.json (RFC 8037 OKP key).
type JWK struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	KeyID     string `json:"kid"`
	Use       string `json:"use"`
	Algorithm string `json:"alg"`
}

// PublicKeys returns the keyring's identity-verifying public keys (every
// key this server can unwrap; deprecated ones excepted) and the index.
func (s *Server) PublicKeys() ([]JWK, uint64, error) {
	keys, err := s.state.RootKeys(nil)
	if err != nil {
		return nil, 0, err
	}
	idx, err := s.state.Index("root_keys")
	if err != nil {
		return nil, 0, err
	}
	out := []JWK{}
	var errs []error
	for _, k := range keys {
		if k.State == structs.RootKeyStateDeprecated {
			continue
		}
		m, err := s.enc.key(k.KeyID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, JWK{KeyType: "OKP", Curve: "Ed25519", X: b64.EncodeToString(m.signer.Public().(ed25519.PublicKey)),
			KeyID: k.KeyID, Use: "sig", Algorithm: "EdDSA"})
	}
	if len(out) == 0 && len(errs) > 0 {
		return nil, 0, errors.Join(errs...)
	}
	return out, idx, nil
}
