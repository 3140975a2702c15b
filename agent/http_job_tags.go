package agent

import (
	"context"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// JobTagger is the part of a server that tags job versions;
// *server.Server implements it (an optional capability of ServerAPI).
type JobTagger interface {
	TagJobVersion(ctx context.Context, namespace, jobID, name, description string, version uint64) (*structs.JobVersionTag, uint64, error)
	UntagJobVersion(ctx context.Context, namespace, jobID, name string) (uint64, error)
}

// jobTagRequest is the body of PUT /v1/job/{id}/versions/{tag}/tag.
type jobTagRequest struct {
	JobID       string
	Version     uint64
	Description string
}

// jobTagResponse is the reply of a tag.
type jobTagResponse struct {
	Name        string
	Description string
	TaggedTime  int64
	Index       uint64
}

// jobVersionTag is PUT /v1/job/{id}/versions/{tag}/tag (`job tag apply`)
// and DELETE on it (`job tag unset`). ACL: namespace submit-job.
func (s *HTTPServer) jobVersionTag(w http.ResponseWriter, r *http.Request) (any, error) {
	t, ok := s.srv.(JobTagger)
	if !ok {
		return nil, notSupported("job version tags")
	}
	vars := mux.Vars(r)
	id, name := vars["id"], vars["tag"]
	ns, err := writeNamespace(r, "tag it")
	if err != nil {
		return nil, err
	}
	if r.Method == http.MethodDelete {
		index, err := t.UntagJobVersion(r.Context(), ns, id, name)
		if err != nil {
			return nil, err
		}
		setIndex(w, index)
		return &jobTagResponse{Name: name, Index: index}, nil
	}
	var req jobTagRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.JobID != "" && req.JobID != id {
		return nil, structs.NewBadRequest("job ID %q in the body does not match %q in the URL", req.JobID, id)
	}
	tag, index, err := t.TagJobVersion(r.Context(), ns, id, name, req.Description, req.Version)
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return &jobTagResponse{Name: tag.Name, Description: tag.Description, TaggedTime: tag.TaggedTime, Index: index}, nil
}
