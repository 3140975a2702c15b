package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"

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
	// pulls, when set, counts the fetches.
	pulls *atomic.Int64
}

func newAllocCache() *allocCache {
	return &allocCache{allocs: map[string]*structs.Allocation{}, keys: map[string]string{}, jobs: map[string]*structs.Job{}}
}

// sync waits (a blocking query) for a change to the node's allocations and
// brings the cache up to date; it returns all of them.
//
// It asks for the delta form (?have=, see structs.NodeClientAllocs): the
// reply carries the allocations that changed since q.WaitIndex, so a
// change costs one round trip. A server without it answers with each
// allocation's AllocModifyIndex, and sync then fetches those that are new
// or changed. Either way allocations whose job version the reply lacks are
// fetched, and those gone are dropped. When the delta leaves the cache
// with another count than the server's, the returned meta's LastIndex is 0,
// so the next watch starts over with everything.
func (c *allocCache) sync(ctx context.Context, srv *api.Client, nodeID string, q *api.QueryOptions) ([]*structs.Allocation, *api.QueryMeta, error) {
	q.Params = map[string]string{"have": strconv.Itoa(len(c.allocs))}
	idx, meta, err := srv.NodeClientAllocs(ctx, nodeID, q)
	if err != nil {
		return nil, nil, err
	}
	c.addJobs(idx.Jobs)
	var want []string
	for _, a := range idx.Changed {
		if job, ok := c.jobs[idx.JobKeys[a.ID]]; ok {
			a.Job = job
			c.allocs[a.ID], c.keys[a.ID] = a, idx.JobKeys[a.ID]
		} else {
			want = append(want, a.ID) // the server sent no job for it: fetch both
		}
	}
	if !idx.Delta || idx.Allocs != nil {
		for id, mi := range idx.Allocs {
			if a, ok := c.allocs[id]; !ok || a.AllocModifyIndex != mi {
				if !slices.Contains(want, id) {
					want = append(want, id)
				}
			}
		}
		c.dropExcept(idx.Allocs)
	}
	if len(want) > 0 {
		if err := c.pull(ctx, srv, nodeID, want); err != nil {
			return nil, nil, err
		}
	}
	if idx.Delta && len(c.allocs) != idx.Count {
		// Not the server's set (a reply lost or applied twice): start over.
		meta.LastIndex = 0
	}
	return c.list(), meta, nil
}

// addJobs caches job versions by JobVersionKey.
func (c *allocCache) addJobs(jobs map[string]*structs.Job) {
	for k, j := range jobs {
		c.jobs[k] = j
	}
}

// pull fetches allocations by ID with the job versions the cache lacks.
func (c *allocCache) pull(ctx context.Context, srv *api.Client, nodeID string, ids []string) error {
	have := make([]string, 0, len(c.jobs))
	for k := range c.jobs {
		have = append(have, k)
	}
	if c.pulls != nil {
		c.pulls.Add(1)
	}
	resp, err := srv.PullNodeAllocs(ctx, nodeID, &structs.NodeAllocsPullRequest{AllocIDs: ids, HaveJobs: have})
	if err != nil {
		return fmt.Errorf("fetch %d changed allocations: %w", len(ids), err)
	}
	c.addJobs(resp.Jobs)
	for _, a := range resp.Allocs {
		k := resp.JobKeys[a.ID]
		job, ok := c.jobs[k]
		if !ok {
			return fmt.Errorf("fetch allocation %s: the server sent no job version %q for it", a.ID, k)
		}
		a.Job = job
		c.allocs[a.ID], c.keys[a.ID] = a, k
	}
	return nil
}

// dropExcept drops the cached allocations not in keep.
func (c *allocCache) dropExcept(keep map[string]uint64) {
	for id := range c.allocs {
		if _, ok := keep[id]; !ok {
			delete(c.allocs, id)
			delete(c.keys, id)
		}
	}
}

// list returns the cached allocations and drops the job versions none of
// them runs.
func (c *allocCache) list() []*structs.Allocation {
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
	return out
}

// isMethodNotAllowed reports a 405 (a route the server has for other methods).
func isMethodNotAllowed(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.StatusCode == http.StatusMethodNotAllowed
}
