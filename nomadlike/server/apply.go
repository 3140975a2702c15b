package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// notLeaderError tells the caller which server to send the write to.
func (s *Server) notLeaderError() error {
	leader := s.Leader()
	msg := "this server is not the cluster leader and the cluster has no leader yet; retry shortly"
	if leader != "" {
		msg = fmt.Sprintf("this server is not the cluster leader (the leader is %s); send writes to the leader", leader)
	}
	return &structs.CodedError{Code: http.StatusServiceUnavailable, Msg: msg, Err: structs.ErrNotLeader}
}

// raftApply writes one entry to the Raft log and waits until the FSM has
// applied it on this server. It returns the entry's index.
func (s *Server) raftApply(ctx context.Context, t structs.MessageType, body any) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("raft apply (type %d): %w", t, err)
	}
	if !s.IsLeader() {
		return 0, s.notLeaderError()
	}
	buf, err := encodeEntry(t, body)
	if err != nil {
		return 0, err
	}
	f := s.raft.Apply(buf, raftApplyTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) || errors.Is(err, raft.ErrLeadershipTransferInProgress) {
			return 0, s.notLeaderError()
		}
		return 0, fmt.Errorf("raft apply (type %d): %w", t, err)
	}
	if resp, ok := f.Response().(error); ok && resp != nil {
		return f.Index(), resp
	}
	return f.Index(), nil
}
