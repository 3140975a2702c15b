package server

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// UpsertNodePools validates and stores node pools (not the built-in ones).
func (s *Server) UpsertNodePools(ctx context.Context, pools []*structs.NodePool) (uint64, error) {
	if len(pools) == 0 {
		return 0, structs.NewBadRequest("no node pool given: send {\"Name\": ..., \"Description\": ..., \"Meta\": {...}}")
	}
	for _, p := range pools {
		if err := p.Validate(); err != nil {
			return 0, err
		}
		if structs.IsBuiltInNodePool(p.Name) {
			return 0, structs.NewBadRequest("node pool %q is built in and cannot be modified; apply a pool of another name", p.Name)
		}
	}
	return s.raftApply(ctx, structs.NodePoolUpsertRequestType, &structs.NodePoolUpsertRequest{NodePools: pools})
}

// DeleteNodePools removes node pools by name: not the built-in ones, and
// only pools no node and no live job uses (the state store checks, in the
// same transaction as the delete).
func (s *Server) DeleteNodePools(ctx context.Context, names []string) (uint64, error) {
	for _, n := range names {
		if structs.IsBuiltInNodePool(n) {
			return 0, structs.NewBadRequest("node pool %q is built in and cannot be deleted", n)
		}
	}
	return s.raftApply(ctx, structs.NodePoolDeleteRequestType, &structs.NodePoolDeleteRequest{Names: names})
}

// checkNodePool refuses a job in a node pool that does not exist (as Nomad:
// nodes create pools when they register, jobs never do).
func (s *Server) checkNodePool(job *structs.Job) error {
	p, err := s.state.NodePoolByName(nil, job.NodePool)
	if err != nil {
		return fmt.Errorf("look up node pool %q: %w", job.NodePool, err)
	}
	if p == nil {
		return structs.NewBadRequest("job %q is in nonexistent node pool %q: create it first (POST /v1/node/pools), start a client with node_pool = %q, or choose an existing pool (GET /v1/node/pools)",
			job.ID, job.NodePool, job.NodePool)
	}
	return nil
}
