package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// SetSchedulerConfig stores the operator's scheduler configuration through
// Raft. With cas set it is stored only if the stored configuration's
// ModifyIndex is casIndex (0: none stored yet); Updated says whether it was.
// An invalid configuration is a 400.
func (s *Server) SetSchedulerConfig(ctx context.Context, config *structs.SchedulerConfig, cas bool, casIndex uint64) (*structs.SchedulerSetConfigResponse, error) {
	if config == nil {
		return nil, structs.NewBadRequest("request body has no scheduler configuration: send {\"SchedulerAlgorithm\": \"binpack\", \"PreemptionConfig\": {...}}")
	}
	if err := config.Validate(); err != nil {
		var ve *structs.ValidationError
		if errors.As(err, &ve) {
			return nil, &structs.CodedError{Code: http.StatusBadRequest, Msg: "scheduler configuration is invalid", Err: err}
		}
		return nil, structs.NewBadRequest("scheduler configuration is invalid: %v", err)
	}
	req := &structs.SchedulerSetConfigRequest{Config: *config.Copy(), CAS: cas, Index: casIndex}
	req.Config.CreateIndex, req.Config.ModifyIndex = 0, 0
	index, err := s.raftApply(ctx, structs.SchedulerConfigRequestType, req)
	if err != nil {
		return nil, fmt.Errorf("set scheduler configuration: %w", err)
	}
	stored, err := s.state.SchedulerConfig()
	if err != nil {
		return nil, fmt.Errorf("read back scheduler configuration: %w", err)
	}
	// A refused CAS left the stored configuration's ModifyIndex older.
	updated := stored != nil && stored.ModifyIndex == index
	return &structs.SchedulerSetConfigResponse{Updated: updated, Index: index}, nil
}
