package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocCache is the session's record of the node's allocations: each one's
// AllocModifyIndex and job version, and each job version once (however
// many allocations run it). With keepAllocs (OnAllocs, which gets the
// whole list each time) it also keeps the last fetched version of each
// allocation; without (OnAllocChanges) only the changes not yet handed
// over are held.
type allocCache struct {
	entries map[string]cachedAlloc
	jobs    map[string]*cachedJob // by JobVersionKey
	// allocs is every allocation (keepAllocs only).
	allocs     map[string]*structs.Allocation
	keepAllocs bool
	// keepJob, when set, is what is kept of each job version received
	// (SessionConfig.KeepJob).
	keepJob func(key string, decode func() (*structs.Job, error)) (*structs.Job, error)
	// changed and gone are the changes since the last takeChanges: the
	// allocations new or with another AllocModifyIndex (the latest
	// version) and the IDs of those dropped. They outlive a sync that
	// fails halfway, so the consumer hears of every change once.
	changed map[string]*structs.Allocation
	gone    map[string]bool
	// pulls, when set, counts the fetches.
	pulls *atomic.Int64
}

// clientAllocsReply is structs.NodeClientAllocs (the watch's reply) as the
// cache decodes it: each job version stays encoded until the cache needs
// it, which it does not when it holds that version, or when KeepJob does
// (the node simulator's sessions share the versions: most replies carry
// a version another node decoded already, and decoding it was about a
// third of a simulated node's decoding).
type clientAllocsReply struct {
	Allocs  map[string]uint64
	Delta   bool
	Count   int
	Changed []*structs.Allocation
	JobKeys map[string]string
	Jobs    map[string]*encodedJob
}

// encodedJob is a job as received, in msgpack or in JSON.
type encodedJob struct {
	msgpack, json []byte
}

// CodecDecodeSelf keeps the msgpack value undecoded.
func (j *encodedJob) CodecDecodeSelf(d *codec.Decoder) {
	var raw codec.Raw
	d.MustDecode(&raw)
	j.msgpack = raw
}

// CodecEncodeSelf writes the msgpack value as received.
func (j *encodedJob) CodecEncodeSelf(e *codec.Encoder) { e.MustEncode(codec.Raw(j.msgpack)) }

// UnmarshalJSON keeps the JSON value undecoded.
func (j *encodedJob) UnmarshalJSON(b []byte) error {
	j.json = bytes.Clone(b)
	return nil
}

// decode decodes the job (nil for a missing one).
func (j *encodedJob) decode() (*structs.Job, error) {
	var out *structs.Job
	var err error
	switch {
	case j == nil:
	case j.json != nil:
		err = json.Unmarshal(j.json, &out)
	default:
		err = codec.NewDecoderBytes(j.msgpack, structs.WireMsgpackHandle).Decode(&out)
	}
	return out, err
}

// cachedAlloc is what the cache keeps of an allocation.
type cachedAlloc struct {
	modifyIndex uint64
	job         *cachedJob
}

// cachedJob is a job version and how many cached allocations run it.
type cachedJob struct {
	key  string
	job  *structs.Job
	refs int
}

func newAllocCache(keepAllocs bool) *allocCache {
	c := &allocCache{entries: map[string]cachedAlloc{}, jobs: map[string]*cachedJob{}, keepAllocs: keepAllocs,
		changed: map[string]*structs.Allocation{}, gone: map[string]bool{}}
	if keepAllocs {
		c.allocs = map[string]*structs.Allocation{}
	}
	return c
}

// sync waits (a blocking query) for a change to the node's allocations and
// brings the cache up to date.
//
// It asks for the delta form (?have=, see structs.NodeClientAllocs): the
// reply carries the allocations that changed since q.WaitIndex, so a
// change costs one round trip. A server without it answers with each
// allocation's AllocModifyIndex, and sync then fetches those that are new
// or changed. Either way allocations whose job version the reply lacks are
// fetched, and those gone are dropped. When the delta leaves the cache
// with another count than the server's, the returned meta's LastIndex is 0,
// so the next watch starts over with everything.
func (c *allocCache) sync(ctx context.Context, srv *api.Client, nodeID string, q *api.QueryOptions) (*api.QueryMeta, error) {
	q.Params = map[string]string{"have": strconv.Itoa(len(c.entries))}
	var idx clientAllocsReply
	meta, err := srv.NodeClientAllocsInto(ctx, nodeID, q, &idx)
	if err != nil {
		return nil, err
	}
	defer dropUnusedJobs(c, idx.Jobs)
	if err := c.addJobs(idx.Jobs); err != nil {
		return nil, err
	}
	var want []string
	wanted := map[string]bool{}
	for _, a := range idx.Changed {
		k := idx.JobKeys[a.ID]
		if j, ok := c.jobs[k]; ok {
			c.put(a, j)
		} else {
			want = append(want, a.ID) // the server sent no job for it: fetch both
			wanted[a.ID] = true
		}
	}
	// Count 0 in the delta form is the node without allocations: its
	// empty Allocs is left out of a JSON reply (omitempty), and what the
	// cache holds is gone.
	if !idx.Delta || idx.Allocs != nil || idx.Count == 0 {
		for id, mi := range idx.Allocs {
			if e, ok := c.entries[id]; (!ok || e.modifyIndex != mi) && !wanted[id] {
				want = append(want, id)
				wanted[id] = true
			}
		}
		c.dropExcept(idx.Allocs)
	}
	if len(want) > 0 {
		if err := c.pull(ctx, srv, nodeID, want); err != nil {
			return nil, err
		}
	}
	if idx.Delta && len(c.entries) != idx.Count {
		// Not the server's set (a reply lost or applied twice): start over.
		meta.LastIndex = 0
	}
	return meta, nil
}

// addJobs caches the job versions of a watch reply that the cache does
// not hold, decoding only those (a version's key names its content).
func (c *allocCache) addJobs(jobs map[string]*encodedJob) error {
	for k, ej := range jobs {
		if _, ok := c.jobs[k]; ok {
			continue
		}
		if _, err := c.addJob(k, ej.decode); err != nil {
			return fmt.Errorf("decode job version %q: %w", k, err)
		}
	}
	return nil
}

// addJob caches a job version, decoded by decode (unless KeepJob holds it
// already); a version received again replaces the one held, for the
// allocations put from now on. It returns the cache entry.
func (c *allocCache) addJob(k string, decode func() (*structs.Job, error)) (*cachedJob, error) {
	var j *structs.Job
	var err error
	if c.keepJob != nil {
		j, err = c.keepJob(k, decode)
	} else {
		j, err = decode()
	}
	if err != nil {
		return nil, err
	}
	cj, ok := c.jobs[k]
	if ok {
		cj.job = j
	} else {
		cj = &cachedJob{key: k, job: j}
		c.jobs[k] = cj
	}
	return cj, nil
}

// decoded is a decode function for a job decoded already.
func decoded(j *structs.Job) func() (*structs.Job, error) {
	return func() (*structs.Job, error) { return j, nil }
}

// dropUnusedJobs drops the versions among jobs (those a reply brought)
// that no cached allocation runs: a reply's job for an allocation that was
// then not kept.
func dropUnusedJobs[J any](c *allocCache, jobs map[string]J) {
	for k := range jobs {
		if j, ok := c.jobs[k]; ok && j.refs == 0 {
			delete(c.jobs, k)
		}
	}
}

// put records a as the latest version of its allocation, running j.
func (c *allocCache) put(a *structs.Allocation, j *cachedJob) {
	a.Job = j.job
	e, ok := c.entries[a.ID]
	if ok && e.job != j {
		c.unref(e.job)
	}
	if !ok || e.job != j {
		j.refs++
	}
	if !c.keepAllocs && (!ok || e.modifyIndex != a.AllocModifyIndex) {
		c.changed[a.ID] = a
		delete(c.gone, a.ID)
	}
	c.entries[a.ID] = cachedAlloc{modifyIndex: a.AllocModifyIndex, job: j}
	if c.keepAllocs {
		c.allocs[a.ID] = a
	}
}

func (c *allocCache) unref(j *cachedJob) {
	if j.refs--; j.refs <= 0 {
		delete(c.jobs, j.key)
	}
}

// putFull records a full list of the node's allocations (each with its
// Job, as GET /v1/node/{id}/allocations returns them): the ones listed
// replace the cache.
func (c *allocCache) putFull(allocs []*structs.Allocation) {
	keep := make(map[string]uint64, len(allocs))
	for _, a := range allocs {
		keep[a.ID] = a.AllocModifyIndex
		j, _ := c.addJob(structs.JobVersionKey(a.Job), decoded(a.Job))
		c.put(a, j)
	}
	c.dropExcept(keep)
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
	defer dropUnusedJobs(c, resp.Jobs)
	for k, j := range resp.Jobs {
		if _, err := c.addJob(k, decoded(j)); err != nil {
			return err
		}
	}
	for _, a := range resp.Allocs {
		k := resp.JobKeys[a.ID]
		j, ok := c.jobs[k]
		if !ok {
			return fmt.Errorf("fetch allocation %s: the server sent no job version %q for it", a.ID, k)
		}
		c.put(a, j)
	}
	return nil
}

// dropExcept drops the cached allocations not in keep.
func (c *allocCache) dropExcept(keep map[string]uint64) {
	for id, e := range c.entries {
		if _, ok := keep[id]; !ok {
			c.unref(e.job)
			delete(c.entries, id)
			delete(c.allocs, id)
			if !c.keepAllocs {
				delete(c.changed, id)
				c.gone[id] = true
			}
		}
	}
}

// list returns every cached allocation (keepAllocs only).
func (c *allocCache) list() []*structs.Allocation {
	out := make([]*structs.Allocation, 0, len(c.allocs))
	for _, a := range c.allocs {
		out = append(out, a)
	}
	return out
}

// takeChanges returns and forgets the changes since the last call: the
// allocations new or changed and the IDs of those gone.
func (c *allocCache) takeChanges() (changed []*structs.Allocation, gone []string) {
	if len(c.changed) > 0 {
		changed = make([]*structs.Allocation, 0, len(c.changed))
		for id, a := range c.changed {
			changed = append(changed, a)
			delete(c.changed, id)
		}
	}
	if len(c.gone) > 0 {
		gone = make([]string, 0, len(c.gone))
		for id := range c.gone {
			gone = append(gone, id)
			delete(c.gone, id)
		}
	}
	return changed, gone
}

// isMethodNotAllowed reports a 405 (a route the server has for other methods).
func isMethodNotAllowed(err error) bool {
	var e *api.Error
	return errors.As(err, &e) && e.StatusCode == http.StatusMethodNotAllowed
}
