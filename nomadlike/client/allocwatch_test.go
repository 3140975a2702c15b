package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// scriptedServer answers the client protocol's watch with the next
// scripted reply and its fetch from pullable, recording what it was asked.
type scriptedServer struct {
	mu       sync.Mutex
	replies  []scriptedReply
	pullable map[string]*structs.Allocation // by ID, with Job
	haves    []string                       // ?have= of each watch
	pulled   [][]string                     // AllocIDs of each fetch
}

type scriptedReply struct {
	index uint64
	body  structs.NodeClientAllocs
}

func (s *scriptedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		s.haves = append(s.haves, r.URL.Query().Get("have"))
		rep := s.replies[0]
		s.replies = s.replies[1:]
		w.Header().Set("X-Nomad-Index", strconv.FormatUint(rep.index, 10))
		_ = json.NewEncoder(w).Encode(rep.body)
	case http.MethodPut:
		var req structs.NodeAllocsPullRequest
		_ = json.NewDecoder(r.Body).Decode(&req)
		s.pulled = append(s.pulled, req.AllocIDs)
		out := structs.NodeAllocsPullResponse{JobKeys: map[string]string{}, Jobs: map[string]*structs.Job{}}
		for _, id := range req.AllocIDs {
			a, ok := s.pullable[id]
			if !ok {
				http.Error(w, "scripted failure", http.StatusInternalServerError)
				return
			}
			k := structs.JobVersionKey(a.Job)
			out.JobKeys[id] = k
			if !slices.Contains(req.HaveJobs, k) {
				out.Jobs[k] = a.Job
			}
			c := *a
			c.Job = nil
			out.Allocs = append(out.Allocs, &c)
		}
		_ = json.NewEncoder(w).Encode(out)
	}
}

// TestAllocCacheDelta: the cache applies delta replies (changed
// allocations with the job versions sent or held), fetches an allocation
// whose job version the reply lacks, drops what the full map leaves out,
// starts over (index 0) when its count disagrees with the server's, and
// falls back to fetching what changed from a server that ignores ?have=.
func TestAllocCacheDelta(t *testing.T) {
	job := &structs.Job{ID: "web", Namespace: "default", Version: 1, JobModifyIndex: 3}
	job2 := &structs.Job{ID: "db", Namespace: "default", Version: 0, JobModifyIndex: 4}
	k1, k2 := structs.JobVersionKey(job), structs.JobVersionKey(job2)
	mk := func(id string, ami uint64) *structs.Allocation {
		return &structs.Allocation{ID: id, AllocModifyIndex: ami, DesiredStatus: structs.AllocDesiredStatusRun}
	}
	srv := &scriptedServer{pullable: map[string]*structs.Allocation{
		"c": {ID: "c", AllocModifyIndex: 12, Job: job2},
		"d": {ID: "d", AllocModifyIndex: 20, Job: job},
	}}
	srv.replies = []scriptedReply{
		// 1: a and b, with their job.
		{10, structs.NodeClientAllocs{Delta: true, Count: 2, Changed: []*structs.Allocation{mk("a", 5), mk("b", 10)},
			JobKeys: map[string]string{"a": k1, "b": k1}, Jobs: map[string]*structs.Job{k1: job}}},
		// 2: b changed (job held by a, not sent); c new with a job the
		// reply forgot: fetched.
		{12, structs.NodeClientAllocs{Delta: true, Count: 3, Changed: []*structs.Allocation{mk("b", 11), mk("c", 12)},
			JobKeys: map[string]string{"b": k1, "c": k2}}},
		// 3: a gone: the full map.
		{15, structs.NodeClientAllocs{Delta: true, Count: 2, Allocs: map[string]uint64{"b": 11, "c": 12}}},
		// 4: a count the cache cannot reach from the delta.
		{16, structs.NodeClientAllocs{Delta: true, Count: 5}},
		// 5: a server without the delta form: d fetched, c dropped.
		{20, structs.NodeClientAllocs{Allocs: map[string]uint64{"b": 11, "d": 20}}},
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ac, err := api.NewClient(api.Config{Address: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := newAllocCache(true)
	ctx := context.Background()
	watch := func(index uint64) (map[string]uint64, uint64) {
		t.Helper()
		meta, err := c.sync(ctx, ac, "node", &api.QueryOptions{WaitIndex: index})
		if err != nil {
			t.Fatalf("sync from %d: %v", index, err)
		}
		got := map[string]uint64{}
		for _, a := range c.list() {
			if a.Job == nil {
				t.Errorf("allocation %s has no job", a.ID)
			}
			got[a.ID] = a.AllocModifyIndex
		}
		return got, meta.LastIndex
	}
	want := func(step int, got, want map[string]uint64) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("step %d: got %v, want %v", step, got, want)
			return
		}
		for id, mi := range want {
			if got[id] != mi {
				t.Errorf("step %d: got %v, want %v", step, got, want)
				return
			}
		}
	}
	got, idx := watch(0)
	want(1, got, map[string]uint64{"a": 5, "b": 10})
	got, idx = watch(idx)
	want(2, got, map[string]uint64{"a": 5, "b": 11, "c": 12})
	if c.allocs["c"].Job.ID != "db" {
		t.Errorf("c runs %v, want the fetched job db", c.allocs["c"].Job)
	}
	got, idx = watch(idx)
	want(3, got, map[string]uint64{"b": 11, "c": 12})
	if _, idx = watch(idx); idx != 0 {
		t.Errorf("step 4: count 5 for a cache of 2: next index %d, want 0 (start over)", idx)
	}
	got, _ = watch(idx)
	want(5, got, map[string]uint64{"b": 11, "d": 20})
	if _, ok := c.jobs[k2]; ok {
		t.Errorf("job version %q kept after its last allocation left", k2)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if !slices.Equal(srv.haves, []string{"0", "2", "3", "2", "2"}) {
		t.Errorf("?have= sent: %q, want the cache's size before each watch", srv.haves)
	}
	if len(srv.pulled) != 2 || !slices.Equal(srv.pulled[0], []string{"c"}) || !slices.Equal(srv.pulled[1], []string{"d"}) {
		t.Errorf("fetches: %q, want [c] (its job was missing) then [d] (the full form)", srv.pulled)
	}
}

// TestAllocCacheChanges: without keepAllocs (OnAllocChanges) the cache
// keeps no allocation, hands over each change once (the latest version of
// what is new or changed, the IDs gone), also across a sync that failed
// halfway, keeps what KeepJob returns of each job version and drops a
// version when its last allocation goes.
func TestAllocCacheChanges(t *testing.T) {
	job := &structs.Job{ID: "web", Namespace: "default", Version: 1, JobModifyIndex: 3, Type: structs.JobTypeService}
	job2 := &structs.Job{ID: "db", Namespace: "default", Version: 0, JobModifyIndex: 4}
	k1, k2 := structs.JobVersionKey(job), structs.JobVersionKey(job2)
	mk := func(id string, ami uint64) *structs.Allocation {
		return &structs.Allocation{ID: id, AllocModifyIndex: ami, DesiredStatus: structs.AllocDesiredStatusRun}
	}
	srv := &scriptedServer{pullable: map[string]*structs.Allocation{"c": {ID: "c", AllocModifyIndex: 12, Job: job2}}}
	gone := map[string]uint64{"b": 11, "c": 12, "e": 30}
	srv.replies = []scriptedReply{
		{10, structs.NodeClientAllocs{Delta: true, Count: 2, Changed: []*structs.Allocation{mk("a", 5), mk("b", 10)},
			JobKeys: map[string]string{"a": k1, "b": k1}, Jobs: map[string]*structs.Job{k1: job}}},
		{12, structs.NodeClientAllocs{Delta: true, Count: 3, Changed: []*structs.Allocation{mk("b", 11), mk("c", 12)},
			JobKeys: map[string]string{"b": k1, "c": k2}}},
		// a gone, e new and not fetchable: the sync fails after dropping a.
		{30, structs.NodeClientAllocs{Delta: true, Count: 3, Allocs: gone}},
		// The same again, e fetchable now.
		{30, structs.NodeClientAllocs{Delta: true, Count: 3, Allocs: gone}},
		// c gone: its job version goes with it.
		{31, structs.NodeClientAllocs{Delta: true, Count: 2, Allocs: map[string]uint64{"b": 11, "e": 30}}},
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ac, err := api.NewClient(api.Config{Address: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	c := newAllocCache(false)
	kept := map[string]*structs.Job{}
	c.keepJob = func(k string, decode func() (*structs.Job, error)) (*structs.Job, error) {
		if kept[k] == nil {
			j, err := decode()
			if err != nil {
				return nil, err
			}
			kept[k] = &structs.Job{ID: j.ID, Namespace: j.Namespace, Version: j.Version, JobModifyIndex: j.JobModifyIndex, Type: j.Type}
		}
		return kept[k], nil
	}
	ctx := context.Background()
	var index uint64
	step := func(n int, wantErr bool, wantChanged map[string]uint64, wantGone ...string) {
		t.Helper()
		meta, err := c.sync(ctx, ac, "node", &api.QueryOptions{WaitIndex: index})
		if wantErr {
			if err == nil {
				t.Fatalf("step %d: sync succeeded, want the fetch's failure", n)
			}
			return
		}
		if err != nil {
			t.Fatalf("step %d: %v", n, err)
		}
		index = meta.LastIndex
		changed, goneIDs := c.takeChanges()
		got := map[string]uint64{}
		for _, a := range changed {
			got[a.ID] = a.AllocModifyIndex
			if a.Job == nil || a.Job != kept[structs.JobVersionKey(a.Job)] {
				t.Errorf("step %d: allocation %s runs %p, want the job KeepJob returned", n, a.ID, a.Job)
			}
		}
		if len(got) != len(wantChanged) {
			t.Errorf("step %d: changed %v, want %v", n, got, wantChanged)
		}
		for id, mi := range wantChanged {
			if got[id] != mi {
				t.Errorf("step %d: changed %v, want %v", n, got, wantChanged)
			}
		}
		slices.Sort(goneIDs)
		if !slices.Equal(goneIDs, wantGone) {
			t.Errorf("step %d: gone %q, want %q", n, goneIDs, wantGone)
		}
		if c.allocs != nil {
			t.Errorf("step %d: the cache keeps %d allocations, want none", n, len(c.allocs))
		}
	}
	step(1, false, map[string]uint64{"a": 5, "b": 10})
	step(2, false, map[string]uint64{"b": 11, "c": 12})
	step(3, true, nil)
	srv.mu.Lock()
	srv.pullable["e"] = &structs.Allocation{ID: "e", AllocModifyIndex: 30, Job: job}
	srv.mu.Unlock()
	step(4, false, map[string]uint64{"e": 30}, "a")
	if len(c.jobs) != 2 {
		t.Errorf("job versions %d, want 2 (web for b and e, db for c)", len(c.jobs))
	}
	step(5, false, nil, "c")
	if _, ok := c.jobs[k2]; ok || len(c.jobs) != 1 {
		t.Errorf("job versions %v: want only %q once c, the last allocation of %q, is gone", c.jobs, k1, k2)
	}
}

// TestAllocCachePutFullChanges: full lists (a server without the client
// protocol's endpoint) become changes too: what is new or changed, and
// what the list no longer has.
func TestAllocCachePutFullChanges(t *testing.T) {
	job := &structs.Job{ID: "web", Namespace: "default"}
	mk := func(id string, ami uint64) *structs.Allocation {
		return &structs.Allocation{ID: id, AllocModifyIndex: ami, Job: job}
	}
	c := newAllocCache(false)
	ids := func(allocs []*structs.Allocation) []string {
		var out []string
		for _, a := range allocs {
			out = append(out, a.ID)
		}
		slices.Sort(out)
		return out
	}
	c.putFull([]*structs.Allocation{mk("a", 1), mk("b", 2)})
	changed, gone := c.takeChanges()
	if !slices.Equal(ids(changed), []string{"a", "b"}) || gone != nil {
		t.Errorf("first list: changed %q, gone %q; want [a b] and none", ids(changed), gone)
	}
	c.putFull([]*structs.Allocation{mk("b", 2), mk("c", 3), mk("a", 4)})
	if changed, gone = c.takeChanges(); !slices.Equal(ids(changed), []string{"a", "c"}) || gone != nil {
		t.Errorf("second list: changed %q, gone %q; want [a c] (b is unchanged) and none", ids(changed), gone)
	}
	c.putFull([]*structs.Allocation{mk("c", 3)})
	if changed, gone = c.takeChanges(); changed != nil || !slices.Equal(slices.Sorted(slices.Values(gone)), []string{"a", "b"}) {
		t.Errorf("third list: changed %q, gone %q; want none and [a b]", ids(changed), gone)
	}
	if len(c.jobs) != 1 || c.jobs[structs.JobVersionKey(job)].refs != 1 {
		t.Errorf("job versions %v, want web once, run by c", c.jobs)
	}
}

// TestAllocCacheKeepJobSkipsDecode: a job version KeepJob holds already is
// not decoded (here it cannot be: the reply's copy is not a job), one it
// lacks is, and a job that cannot be decoded fails the sync.
func TestAllocCacheKeepJobSkipsDecode(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Nomad-Index", "10")
		fmt.Fprint(w, `{"Delta": true, "Count": 1, "Changed": [{"ID": "a", "AllocModifyIndex": 10}], "JobKeys": {"a": "k"}, "Jobs": {"k": 12}}`)
	}))
	defer hs.Close()
	ac, err := api.NewClient(api.Config{Address: hs.URL})
	if err != nil {
		t.Fatal(err)
	}
	held := &structs.Job{ID: "web"}
	for _, tc := range []struct {
		name    string
		held    bool
		wantErr bool
	}{{"held", true, false}, {"not held", false, true}} {
		c := newAllocCache(false)
		c.keepJob = func(k string, decode func() (*structs.Job, error)) (*structs.Job, error) {
			if tc.held {
				return held, nil
			}
			return decode()
		}
		_, err := c.sync(context.Background(), ac, "node", &api.QueryOptions{})
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: sync error %v, want an error: %v", tc.name, err, tc.wantErr)
		}
		if changed, _ := c.takeChanges(); !tc.wantErr && (len(changed) != 1 || changed[0].Job != held) {
			t.Errorf("%s: changed %v, want a running the held job", tc.name, changed)
		}
	}
}

// TestClientAllocsReplyMsgpack: the watch's reply decoded from msgpack (as
// the servers answer it) keeps each job encoded, and decoding it gives the
// job sent.
func TestClientAllocsReplyMsgpack(t *testing.T) {
	job := &structs.Job{ID: "web", Namespace: "default", Version: 3, Type: structs.JobTypeBatch,
		TaskGroups: []*structs.TaskGroup{{Name: "g", Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec"}}}}}
	k := structs.JobVersionKey(job)
	var b []byte
	in := &structs.NodeClientAllocs{Delta: true, Count: 1, Changed: []*structs.Allocation{{ID: "a", AllocModifyIndex: 7}},
		JobKeys: map[string]string{"a": k}, Jobs: map[string]*structs.Job{k: job}}
	if err := codec.NewEncoderBytes(&b, structs.WireMsgpackReplyHandle).Encode(in); err != nil {
		t.Fatal(err)
	}
	var out clientAllocsReply
	if err := codec.NewDecoderBytes(b, structs.WireMsgpackHandle).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if !out.Delta || out.Count != 1 || len(out.Changed) != 1 || out.Changed[0].AllocModifyIndex != 7 || out.JobKeys["a"] != k {
		t.Fatalf("reply decoded as %+v", out)
	}
	got, err := out.Jobs[k].decode()
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != "web" || got.Version != 3 || got.Type != structs.JobTypeBatch || len(got.TaskGroups) != 1 || got.TaskGroups[0].Tasks[0].Driver != "raw_exec" {
		t.Errorf("job decoded as %+v", got)
	}
}

// TestAllocCacheLastAllocationGone: when the node's last allocations go
// (garbage collected, purged), the delta reply's Allocs is an empty map,
// which a JSON reply leaves out (omitempty; msgpack keeps it): Count 0
// then says every allocation the client holds is gone. Before, the cache
// kept them, its count disagreed with the server's, and it started over
// from index 0 again and again (each watch answered at once), never
// dropping them: against a server answering JSON, the client went on
// running allocations the servers no longer had.
func TestAllocCacheLastAllocationGone(t *testing.T) {
	job := &structs.Job{ID: "web", Namespace: "default", Version: 1, JobModifyIndex: 3}
	k := structs.JobVersionKey(job)
	for _, keepAllocs := range []bool{true, false} {
		srv := &scriptedServer{}
		srv.replies = []scriptedReply{
			{10, structs.NodeClientAllocs{Delta: true, Count: 1,
				Changed: []*structs.Allocation{{ID: "a", AllocModifyIndex: 5}},
				JobKeys: map[string]string{"a": k}, Jobs: map[string]*structs.Job{k: job}}},
			// a gone: the server's Allocs is empty, and left out.
			{20, structs.NodeClientAllocs{Delta: true, Count: 0, Allocs: map[string]uint64{}}},
		}
		hs := httptest.NewServer(srv)
		ac, err := api.NewClient(api.Config{Address: hs.URL})
		if err != nil {
			t.Fatal(err)
		}
		c := newAllocCache(keepAllocs)
		ctx := context.Background()
		meta, err := c.sync(ctx, ac, "node", &api.QueryOptions{})
		if err != nil {
			t.Fatal(err)
		}
		c.takeChanges()
		meta, err = c.sync(ctx, ac, "node", &api.QueryOptions{WaitIndex: meta.LastIndex})
		hs.Close()
		if err != nil {
			t.Fatal(err)
		}
		if meta.LastIndex != 20 {
			t.Errorf("keepAllocs %v: next index %d, want 20 (not a start over)", keepAllocs, meta.LastIndex)
		}
		if len(c.entries) != 0 || len(c.jobs) != 0 {
			t.Errorf("keepAllocs %v: the cache holds %d allocations and %d job versions, want none", keepAllocs, len(c.entries), len(c.jobs))
		}
		if keepAllocs {
			if l := c.list(); len(l) != 0 {
				t.Errorf("OnAllocs would get %d allocations, want none", len(l))
			}
		} else if _, gone := c.takeChanges(); !slices.Equal(gone, []string{"a"}) {
			t.Errorf("gone %q, want [a]", gone)
		}
	}
}
