package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// NodeDrainer is the part of a server that drains nodes and sets their
// eligibility; *server.Server implements it. It is an optional capability
// of ServerAPI, found by type assertion, called concurrently from request
// goroutines.
type NodeDrainer interface {
	UpdateNodeDrain(ctx context.Context, req *structs.NodeUpdateDrainRequest) (*structs.NodeDrainUpdateResponse, error)
	UpdateNodeEligibility(ctx context.Context, req *structs.NodeUpdateEligibilityRequest) (*structs.NodeEligibilityUpdateResponse, error)
}

// nodeDrain is PUT /v1/node/{id}/drain: body {DrainSpec, MarkEligible, Meta};
// a null DrainSpec ends the drain.
func (s *HTTPServer) nodeDrain(w http.ResponseWriter, r *http.Request) (any, error) {
	d, ok := s.srv.(NodeDrainer)
	if !ok {
		return nil, notSupported("node drain")
	}
	var req structs.NodeUpdateDrainRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	if req.NodeID != "" && req.NodeID != id {
		return nil, structs.NewBadRequest("NodeID %q in the body does not match %q in the URL", req.NodeID, id)
	}
	req.NodeID = id
	if tok := identity(r).ACLToken; tok != nil {
		req.AccessorID = tok.AccessorID
	}
	resp, err := d.UpdateNodeDrain(r.Context(), &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}

// nodeEligibility is PUT /v1/node/{id}/eligibility: body {Eligibility}.
func (s *HTTPServer) nodeEligibility(w http.ResponseWriter, r *http.Request) (any, error) {
	d, ok := s.srv.(NodeDrainer)
	if !ok {
		return nil, notSupported("node eligibility")
	}
	var req structs.NodeUpdateEligibilityRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	id := mux.Vars(r)["id"]
	if req.NodeID != "" && req.NodeID != id {
		return nil, structs.NewBadRequest("NodeID %q in the body does not match %q in the URL", req.NodeID, id)
	}
	req.NodeID = id
	if req.Eligibility == "" {
		return nil, structs.NewBadRequest("request body has no Eligibility: send {\"Eligibility\": \"eligible\"} or \"ineligible\"")
	}
	resp, err := d.UpdateNodeEligibility(r.Context(), &req)
	if err != nil {
		return nil, err
	}
	setIndex(w, resp.Index)
	return resp, nil
}
