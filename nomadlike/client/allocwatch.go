package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocCache is the session's copy of the node's allocations: the last
// fetched version of each, with its Job shared from jobs (one per job
// version, however many allocations run it).
type allocCache struct {
	allocs map[string]*structs.Allocation
	keys   map[string]string // alloc ID -> JobVersionKey
	jobs   map[string]*structs.Job
}

func newAllocCache() *allocCache {
	return &allocCache{allocs: map[string]*structs.Allocation{}, keys: map[string]string{}, jobs: map[string]*structs.Job{}}
}

// sync waits (a blocking query) for the AllocModifyIndex of each of the
// node's allocations, fetches those that are new or changed, drops those
// gone, and returns all of them.
func (c *allocCache) sync(ctx context.Context, srv *api.Client, nodeID string, q *api.QueryOptions) ([]*structs.Allocation, *api.QueryMeta, error) {
	idx, meta, err := srv.NodeClientAllocs(ctx, nodeID, q)
	if err != nil {
		return nil, nil, err
	}
	var want []string
	for id, mi := range idx.Allocs {
		if a, ok := c.allocs[id]; !ok || a.AllocModifyIndex != mi {
			want = append(want, id)
		}
	}
	if len(want) > 0 {
		have := make([]string, 0, len(c.jobs))
		for k := range c.jobs {
			have = append(have, k)
		}
		resp, err := srv.PullNodeAllocs(ctx, nodeID, &structs.NodeAllocsPullRequest{AllocIDs: want, HaveJobs: have})
		if err != nil {
			return nil, nil, fmt.Errorf("fetch %d changed allocations: %w", len(want), err)
		}
		for k, j := range resp.Jobs {
			c.jobs[k] = j
		}
		for _, a := range resp.Allocs {
			k := resp.JobKeys[a.ID]
			job, ok := c.jobs[k]
			if !ok {
				return nil, nil, fmt.Errorf("fetch allocation %s: the server sent no job version %q for it", a.ID, k)
			}
			a.Job = job
			c.allocs[a.ID], c.keys[a.ID] = a, k
		}
	}
	for id := range c.allocs {
		if _, ok := idx.Allocs[id]; !ok {
			delete(c.allocs, id)
			delete(c.keys, id)
		}
	}
	used := make(map[string]bool, len(c.jobs))
	out := make([]*structs.Allocation, 0, len(c.allocs))
	for id, a := range c.allocs {
		used[c.keys[id]] = true
		out = append(out, a)
	}
	for k := range c.jobs {
		if !used[k] {
			delete(c.jobs, k)
		}
	}
	return out, meta, nil
}

// isMethodNotAllowed reports a 405 (a route the server has for other methods).
func isMethodNotAllowed(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.StatusCode == http.StatusMethodNotAllowed
}
