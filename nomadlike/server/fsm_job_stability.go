package server

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// applyJobStability marks one version of a job stable or not.
func (f *fsm) applyJobStability(buf []byte, index uint64) error {
	var req structs.JobStabilityRequest
	if err := decodeBody(buf, &req); err != nil {
		return fmt.Errorf("decode job stability request: %w", err)
	}
	if err := f.state.UpdateJobStability(index, req.Namespace, req.JobID, req.JobVersion, req.Stable); err != nil {
		return fmt.Errorf("mark version %d of job %q stable=%t: %w", req.JobVersion, req.JobID, req.Stable, err)
	}
	return nil
}
