package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Dynamic node metadata (Nomad's /v1/client/metadata): served by the node's
// own agent, which keeps it in its client state; any other agent with a
// server forwards to the node named by node_id (GET) or NodeID (POST).
// ACL: node:read to read, node:write to apply.

// nodeMetaClient is what the endpoint needs of the local client;
// *client.Client implements it.
type nodeMetaClient interface {
	NodeMeta() *structs.NodeMetaResponse
	ApplyNodeMeta(ctx context.Context, req *structs.NodeMetaApplyRequest) (*structs.NodeMetaResponse, error)
}

func (s *HTTPServer) localMeta() (nodeMetaClient, error) {
	if s.client == nil {
		return nil, &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: "this agent runs no client; name a node with node_id to reach its agent"}
	}
	m, ok := s.client.(nodeMetaClient)
	if !ok {
		return nil, &structs.CodedError{Code: http.StatusNotImplemented, Msg: "this agent's client does not keep dynamic node metadata"}
	}
	return m, nil
}

// clientMetaRead is GET /v1/client/metadata[?node_id=].
func (s *HTTPServer) clientMetaRead(w http.ResponseWriter, r *http.Request) (any, error) {
	nodeID := r.URL.Query().Get("node_id")
	if !s.routeToNode(w, r, nodeID, "node metadata") {
		return nil, errHandled
	}
	m, err := s.localMeta()
	if err != nil {
		return nil, err
	}
	if nodeID != "" && nodeID != s.client.NodeID() {
		return nil, structs.NewNotFound("node %q is not this agent's node (%s); send the request to a server, which forwards it", nodeID, s.client.NodeID())
	}
	return m.NodeMeta(), nil
}

// clientMetaApply is POST (or PUT) /v1/client/metadata with
// {"NodeID": "...", "Meta": {"k": "v", "removed": null}}.
func (s *HTTPServer) clientMetaApply(w http.ResponseWriter, r *http.Request) (any, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, structs.NewBadRequest("read the request body: %v", err)
	}
	// Meta values are strings or null (remove the key): decoded raw, as the
	// body decoder refuses nulls in maps.
	var wire struct {
		NodeID string
		Meta   map[string]json.RawMessage
	}
	if err := decodeJSON(body, &wire); err != nil {
		return nil, err
	}
	req := structs.NodeMetaApplyRequest{NodeID: wire.NodeID, Meta: make(map[string]*string, len(wire.Meta))}
	for k, raw := range wire.Meta {
		var v *string
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, structs.NewBadRequest("Meta[%q] must be a string or null (null removes the key), not %s", k, raw)
		}
		req.Meta[k] = v
	}
	if req.NodeID == "" {
		req.NodeID = r.URL.Query().Get("node_id")
	}
	r.Body = io.NopCloser(bytes.NewReader(body)) // for a forward
	r.ContentLength = int64(len(body))
	if !s.routeToNode(w, r, req.NodeID, "node metadata") {
		return nil, errHandled
	}
	m, err := s.localMeta()
	if err != nil {
		return nil, err
	}
	if req.NodeID != "" && req.NodeID != s.client.NodeID() {
		return nil, structs.NewNotFound("node %q is not this agent's node (%s); send the request to a server, which forwards it", req.NodeID, s.client.NodeID())
	}
	return m.ApplyNodeMeta(r.Context(), &req)
}
