package server

import (
	"context"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serviceReaperRetry is how long the service reaper waits after a failure.
const serviceReaperRetry = 5 * time.Second

// runServiceReaper (leader only) removes the service registrations of
// allocations that are gone or client-terminal (complete, failed, lost) and
// of nodes that are down, so a crashed client's services disappear too.
func (s *Server) runServiceReaper(ctx context.Context) {
	for {
		ws := memdb.NewWatchSet()
		ws.Add(s.state.AbandonCh())
		wait := time.Duration(-1)
		if err := s.reapServicesOnce(ctx, ws); err != nil && ctx.Err() == nil {
			s.logger.Error("service reaper step failed; retrying", "error", err, "retry_in", serviceReaperRetry)
			wait = serviceReaperRetry
		}
		if ctx.Err() != nil {
			return
		}
		waitForChange(ctx, ws, wait)
	}
}

// reapServicesOnce deletes the stale registrations, watching in ws the
// tables that can make more stale.
func (s *Server) reapServicesOnce(ctx context.Context, ws memdb.WatchSet) error {
	for _, t := range []string{"allocs", "nodes", "service_registrations"} {
		if _, err := s.state.WatchIndex(ws, t); err != nil {
			return err
		}
	}
	allocIDs, err := staleServiceAllocs(s.state)
	if err != nil || len(allocIDs) == 0 {
		return err
	}
	_, err = s.raftApply(ctx, structs.ServiceRegistrationDeleteRequestType, &structs.ServiceRegistrationDeleteRequest{AllocIDs: allocIDs})
	return err
}

// staleServiceAllocs returns the allocations whose registrations must go:
// missing or client-terminal allocations and those on down nodes.
func staleServiceAllocs(st *state.Store) ([]string, error) {
	regs, err := st.ServiceRegistrations(nil, "*")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range regs {
		if seen[r.AllocID] {
			continue
		}
		seen[r.AllocID] = true
		alloc, err := st.AllocByID(nil, r.AllocID)
		if err != nil {
			return nil, err
		}
		stale := alloc == nil || alloc.ClientTerminalStatus()
		if !stale {
			node, err := st.NodeByID(nil, alloc.NodeID)
			if err != nil {
				return nil, err
			}
			stale = node == nil || node.TerminalStatus()
		}
		if stale {
			out = append(out, r.AllocID)
		}
	}
	return out, nil
}
