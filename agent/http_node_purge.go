package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/server"
)

// NodePurger is the part of a server that purges nodes; *server.Server
// implements it (an optional capability of ServerAPI).
type NodePurger interface {
	PurgeNode(ctx context.Context, nodeID string) (*server.NodePurgeResponse, error)
}

// nodePurge is PUT /v1/node/{id}/purge (`node purge`). ACL: node write.
func (s *HTTPServer) nodePurge(w http.ResponseWriter, r *http.Request) (any, error) {
	p, ok := s.srv.(NodePurger)
	if !ok {
		return nil, notSupported("node purge")
	}
	resp, err := p.PurgeNode(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
