package agent

import (
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The ingress's live routing table (GET /v1/client/ingress/routes
// [?node_id=]): served by the node's own agent, forwarded there by any
// agent with a server, as /v1/client/stats is. ACL: node:read, and only
// the instances of namespaces where the token has read-job (a route whose
// instances are all hidden is left out).

// ingressClient is what the endpoint needs of the local client;
// *client.Client implements it.
type ingressClient interface {
	IngressRoutes() *structs.IngressRoutes
}

// clientIngressRoutes is GET /v1/client/ingress/routes[?node_id=].
func (s *HTTPServer) clientIngressRoutes(w http.ResponseWriter, r *http.Request) (any, error) {
	nodeID := r.URL.Query().Get("node_id")
	if !s.routeToNode(w, r, nodeID, "ingress routes") {
		return nil, errHandled
	}
	if s.client == nil {
		return nil, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client; name a node with ?node_id= to ask its agent"}
	}
	ic, ok := s.client.(ingressClient)
	if !ok {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this agent's client has no ingress"}
	}
	if nodeID != "" && nodeID != s.client.NodeID() {
		return nil, structs.NewNotFound("node %q is not this agent's node (%s); send the request to a server, which forwards it", nodeID, s.client.NodeID())
	}
	return ic.IngressRoutes().Filter(s.nsFilter(r, capRead)), nil
}
