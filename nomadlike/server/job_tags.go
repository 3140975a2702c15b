package server

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TagJobVersion tags version of a job with name (`job tag apply`). The tag
// time is chosen here, before the Raft entry.
func (s *Server) TagJobVersion(ctx context.Context, namespace, jobID, name, description string, version uint64) (*structs.JobVersionTag, uint64, error) {
	switch {
	case name == "":
		return nil, 0, structs.NewBadRequest("a version tag needs a name")
	case len(name) > structs.MaxVersionTagNameLen:
		return nil, 0, structs.NewBadRequest("tag name is %d characters long, more than %d", len(name), structs.MaxVersionTagNameLen)
	case len(description) > structs.MaxVersionTagDescriptionLen:
		return nil, 0, structs.NewBadRequest("tag description is %d characters long, more than %d", len(description), structs.MaxVersionTagDescriptionLen)
	}
	tag := &structs.JobVersionTag{Name: name, Description: description, TaggedTime: time.Now().UnixNano()}
	req := &structs.JobVersionTagRequest{Namespace: namespace, JobID: jobID, Version: version, Tag: tag}
	index, err := s.raftApply(ctx, structs.JobVersionTagRequestType, req)
	if err != nil {
		return nil, 0, fmt.Errorf("tag version %d of job %q: %w", version, jobID, err)
	}
	return tag, index, nil
}

// UntagJobVersion removes the tag name from the job's version that has it
// (`job tag unset`).
func (s *Server) UntagJobVersion(ctx context.Context, namespace, jobID, name string) (uint64, error) {
	req := &structs.JobVersionTagRequest{Namespace: namespace, JobID: jobID, Name: name}
	index, err := s.raftApply(ctx, structs.JobVersionTagRequestType, req)
	if err != nil {
		return 0, fmt.Errorf("untag %q of job %q: %w", name, jobID, err)
	}
	return index, nil
}
