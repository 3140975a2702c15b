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
	f, err := s.raftApplyAsync(ctx, t, body)
	if err != nil {
		return 0, err
	}
	NoticeWait(ctx)
	return s.raftApplyResult(t, f)
}

// raftApplyAsync hands one entry to Raft without waiting for it to commit;
// raftApplyResult waits for the returned future (the plan applier
// evaluates the next plan meanwhile).
func (s *Server) raftApplyAsync(ctx context.Context, t structs.MessageType, body any) (raft.ApplyFuture, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("raft apply (type %d): %w", t, err)
	}
	if !s.IsLeader() {
		return nil, s.notLeaderError()
	}
	buf, err := encodeEntry(t, body)
	if err != nil {
		return nil, err
	}
	return s.applyGate.Apply(buf, raftApplyTimeout), nil
}

// raftApplyResult waits until the entry of f is applied by the FSM on this
// server and returns its index, or why it was not committed or applied.
func (s *Server) raftApplyResult(t structs.MessageType, f raft.ApplyFuture) (uint64, error) {
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
