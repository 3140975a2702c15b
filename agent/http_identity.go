package agent

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// IdentityServer is the part of a server that signs and verifies workload
// identities; *server.Server implements it (an optional capability of
// ServerAPI).
type IdentityServer interface {
	SignIdentities(nodeID, secretID string, req *structs.SignIdentitiesRequest) (*structs.SignIdentitiesResponse, error)
	VerifyWorkloadIdentity(token string) (*structs.WorkloadClaims, error)
	PublicKeys() ([]server.JWK, uint64, error)
}

var _ IdentityServer = (*server.Server)(nil)

// nodeSignIdentities is PUT /v1/node/{id}/identities: a client (with its
// node secret) gets the workload identities of its allocations' tasks.
func (s *HTTPServer) nodeSignIdentities(_ http.ResponseWriter, r *http.Request) (any, error) {
	is, ok := s.srv.(IdentityServer)
	if !ok {
		return nil, notSupported("workload identities")
	}
	secret, err := nodeSecret(r)
	if err != nil {
		return nil, err
	}
	var req structs.SignIdentitiesRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	return is.SignIdentities(mux.Vars(r)["id"], secret, &req)
}
