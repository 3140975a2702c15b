package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHTTPNodeClientAllocs: the client protocol's watch gives the node's
// allocations' AllocModifyIndex; the fetch returns the asked-for
// allocations without jobs (nor scheduler metrics) plus the job versions
// the client lacks; both
// refuse anything but the node's own secret.
func TestHTTPNodeClientAllocs(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	node := &structs.Node{ID: "11111111-2222-3333-4444-555555555555", SecretID: fake.secret, Datacenter: "dc1", Name: "n1",
		NodeResources: &structs.NodeResources{}, Status: structs.NodeStatusReady}
	if code, _, body := do(t, "PUT", ts.URL+"/v1/node/register", mustJSON(t, structs.NodeRegisterRequest{Node: node})); code != 200 {
		t.Fatalf("register: got %d %s", code, body)
	}
	job := testJob("web")
	job.Canonicalize()
	if err := fake.st.UpsertJob(fake.next(), job); err != nil {
		t.Fatal(err)
	}
	a1 := fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000001", node.ID)
	a2 := fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000002", node.ID)
	other := fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000003", "99999999-2222-3333-4444-555555555555")
	url := ts.URL + "/v1/node/" + node.ID + "/client-allocations"

	code, _, body := do(t, "GET", url, "", "X-Nomad-Token", fake.secret)
	var idx structs.NodeClientAllocs
	if code != 200 || json.Unmarshal([]byte(body), &idx) != nil {
		t.Fatalf("watch: got %d %s", code, body)
	}
	if len(idx.Allocs) != 2 || idx.Allocs[a1.ID] != a1.AllocModifyIndex || idx.Allocs[a2.ID] != a2.AllocModifyIndex {
		t.Errorf("watch: got %v, want the AllocModifyIndex of %s and %s only", idx.Allocs, a1.ID, a2.ID)
	}

	pull := func(req structs.NodeAllocsPullRequest) structs.NodeAllocsPullResponse {
		t.Helper()
		code, _, body := do(t, "PUT", url, mustJSON(t, req), "X-Nomad-Token", fake.secret)
		var resp structs.NodeAllocsPullResponse
		if code != 200 || json.Unmarshal([]byte(body), &resp) != nil {
			t.Fatalf("fetch: got %d %s", code, body)
		}
		return resp
	}
	resp := pull(structs.NodeAllocsPullRequest{AllocIDs: []string{a1.ID, a2.ID, other.ID, "gone"}})
	if len(resp.Allocs) != 2 {
		t.Fatalf("fetch: got %d allocations, want 2 (another node's and unknown IDs left out)", len(resp.Allocs))
	}
	key := structs.JobVersionKey(a1.Job)
	for _, a := range resp.Allocs {
		if a.Job != nil || resp.JobKeys[a.ID] != key || a.Metrics != nil {
			t.Errorf("fetched %s: Job %v, key %q, metrics %+v; want no job, key %q, no metrics", a.ID, a.Job, resp.JobKeys[a.ID], a.Metrics, key)
		}
	}
	if len(resp.Jobs) != 1 || resp.Jobs[key] == nil || resp.Jobs[key].ID != job.ID {
		t.Errorf("fetch: jobs %v, want the one job version once", resp.Jobs)
	}
	if resp := pull(structs.NodeAllocsPullRequest{AllocIDs: []string{a1.ID}, HaveJobs: []string{key}}); len(resp.Jobs) != 0 || len(resp.Allocs) != 1 {
		t.Errorf("fetch with the job cached: %d jobs, %d allocations; want 0 and 1", len(resp.Jobs), len(resp.Allocs))
	}

	for _, tok := range []string{"", "wrong"} {
		if code, _, body := do(t, "GET", url, "", "X-Nomad-Token", tok); code != 403 {
			t.Errorf("watch with token %q: got %d %s, want 403", tok, code, body)
		}
		if code, _, body := do(t, "PUT", url, `{"AllocIDs":[]}`, "X-Nomad-Token", tok); code != 403 {
			t.Errorf("fetch with token %q: got %d %s, want 403", tok, code, body)
		}
	}
}

// TestHTTPNodeClientAllocsDelta: with ?have= the watch answers with the
// allocations that changed since ?index= (without jobs or scheduler
// metrics, with the job
// versions no unchanged allocation runs), does not return for the node's
// own status reports, and sends the full ID map only when an allocation
// the client holds is gone.
func TestHTTPNodeClientAllocsDelta(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	node := &structs.Node{ID: "11111111-2222-3333-4444-555555555555", SecretID: fake.secret, Datacenter: "dc1", Name: "n1",
		NodeResources: &structs.NodeResources{}, Status: structs.NodeStatusReady}
	if code, _, body := do(t, "PUT", ts.URL+"/v1/node/register", mustJSON(t, structs.NodeRegisterRequest{Node: node})); code != 200 {
		t.Fatalf("register: got %d %s", code, body)
	}
	job := testJob("web")
	job.Canonicalize()
	if err := fake.st.UpsertJob(fake.next(), job); err != nil {
		t.Fatal(err)
	}
	a1 := fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000001", node.ID)
	a2 := fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000002", node.ID)
	fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000003", "99999999-2222-3333-4444-555555555555")
	watch := func(index uint64, have int, wait string) (structs.NodeClientAllocs, uint64) {
		t.Helper()
		url := fmt.Sprintf("%s/v1/node/%s/client-allocations?index=%d&have=%d&wait=%s", ts.URL, node.ID, index, have, wait)
		code, hdr, body := do(t, "GET", url, "", "X-Nomad-Token", fake.secret)
		var out structs.NodeClientAllocs
		if code != 200 || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("watch: got %d %s", code, body)
		}
		if !out.Delta {
			t.Fatalf("watch with have=%d: not the delta form: %s", have, body)
		}
		idx, _ := strconv.ParseUint(hdr.Get("X-Nomad-Index"), 10, 64)
		return out, idx
	}
	key := structs.JobVersionKey(a1.Job)

	// From nothing: both allocations with their one job version.
	got, i1 := watch(0, 0, "1s")
	if len(got.Changed) != 2 || got.Count != 2 || got.Allocs != nil || len(got.Jobs) != 1 || got.Jobs[key] == nil {
		t.Fatalf("first watch: %d changed, count %d, map %v, jobs %d; want 2, 2, none, the one job", len(got.Changed), got.Count, got.Allocs, len(got.Jobs))
	}
	for _, a := range got.Changed {
		if a.Job != nil || got.JobKeys[a.ID] != key || a.Metrics != nil {
			t.Errorf("changed %s: Job %v, key %q, metrics %+v; want no job, key %q, no metrics", a.ID, a.Job, got.JobKeys[a.ID], a.Metrics, key)
		}
	}

	// The node's own status report changes nothing the client is told: the
	// watch waits it out and answers "unchanged" at the same index.
	if err := fake.st.UpdateAllocsFromClient(fake.next(), []*structs.Allocation{{ID: a1.ID, ClientStatus: structs.AllocClientStatusRunning}}); err != nil {
		t.Fatal(err)
	}
	if got, idx := watch(i1, 2, "200ms"); len(got.Changed) != 0 || got.Allocs != nil || got.Count != 2 || idx != i1 {
		t.Errorf("watch after the node's own report: %d changed, map %v, count %d, index %d; want nothing new at index %d", len(got.Changed), got.Allocs, got.Count, idx, i1)
	}

	// A server change (stop a1): a1 alone, without the job the client holds
	// for a2, and its client status as reported.
	stop := a1.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	if err := fake.st.UpsertAllocs(fake.next(), []*structs.Allocation{stop}); err != nil {
		t.Fatal(err)
	}
	got, i2 := watch(i1, 2, "5s")
	if len(got.Changed) != 1 || got.Changed[0].ID != a1.ID || got.Changed[0].DesiredStatus != structs.AllocDesiredStatusStop ||
		got.Changed[0].ClientStatus != structs.AllocClientStatusRunning || len(got.Jobs) != 0 || got.Allocs != nil || i2 <= i1 {
		t.Fatalf("watch after stopping a1: %+v at index %d; want a1 stopped (running), no jobs, no map, index past %d", got, i2, i1)
	}

	// a2 is collected: the full map, which no longer has it.
	if err := fake.st.DeleteEvals(fake.next(), nil, []string{a2.ID}); err != nil {
		t.Fatal(err)
	}
	got, i3 := watch(i2, 2, "5s")
	if len(got.Changed) != 0 || got.Count != 1 || len(got.Allocs) != 1 || got.Allocs[a1.ID] == 0 || i3 <= i2 {
		t.Errorf("watch after a2 is collected: %+v at index %d; want the map of a1 only, count 1", got, i3)
	}

	// A client that held nothing at a later index (it lost its cache) gets
	// the map too, and every job version of what changed since.
	got, _ = watch(0, 5, "1s")
	if len(got.Changed) != 1 || len(got.Allocs) != 1 || got.Jobs[key] == nil {
		t.Errorf("watch from index 0 holding 5: %+v; want a1 with its job and the map", got)
	}

	if code, _, body := do(t, "GET", ts.URL+"/v1/node/"+node.ID+"/client-allocations?have=x", "", "X-Nomad-Token", fake.secret); code != 400 || !strings.Contains(body, "have=") {
		t.Errorf("have=x: got %d %s, want a 400 naming have", code, body)
	}
}

// TestHeldJobVersions: the versions the client holds are exactly those of
// the changed allocations that an unchanged allocation also has, compared
// by namespace, ID, version and job modify index (not by pointer).
func TestHeldJobVersions(t *testing.T) {
	job := func(id string, version, jmi uint64) *structs.Job {
		return &structs.Job{Namespace: "default", ID: id, Version: version, JobModifyIndex: jmi}
	}
	alloc := func(j *structs.Job, modify uint64) state.NodeAlloc {
		return state.NodeAlloc{Job: j, AllocModifyIndex: modify}
	}
	webV1, webV1Copy, webV2, api := job("web", 1, 10), job("web", 1, 10), job("web", 2, 20), job("api", 1, 10)
	allocs := []state.NodeAlloc{
		alloc(webV1, 5),                           // unchanged: holds web v1
		alloc(api, 30),                            // changed, and nothing unchanged has api
		alloc(webV1Copy, 31),                      // changed, web v1 held (another pointer, same version)
		alloc(webV2, 32),                          // changed, web v2 not held
		alloc(job("db", 1, 10), 6), alloc(nil, 7), // unchanged, not asked about
	}
	got := heldJobVersions(allocs, 20)
	want := map[string]bool{structs.JobVersionKey(webV1): true}
	if len(got) != len(want) || !got[structs.JobVersionKey(webV1)] {
		t.Errorf("held = %v, want %v", got, want)
	}
	if got := heldJobVersions(allocs, 40); len(got) != 0 {
		t.Errorf("nothing changed: held = %v, want none", got)
	}
}

// TestClientAllocsDeltaLaggingServer: a server whose state is not past
// the client's index (a follower that took over) answers "unchanged" at
// the client's index, never an older set.
func TestClientAllocsDeltaLaggingServer(t *testing.T) {
	a := state.NodeAlloc{ID: "a", CreateIndex: 5, AllocModifyIndex: 5}
	out, idx, err := clientAllocsDelta(nil, []state.NodeAlloc{a}, 20, 2, 18)
	if err != nil || idx != 20 || out.Count != 2 || len(out.Changed) != 0 || out.Allocs != nil {
		t.Errorf("lagging server: %+v at %d (%v); want nothing new, count 2, at index 20", out, idx, err)
	}
}

// TestHTTPClientProtocolMsgpack: the client protocol's endpoints answer
// in msgpack when asked (Accept) and read msgpack bodies; api.Client asks
// for it, decodes either encoding, sends msgpack bodies only once the
// agent answered in it, and JSON again after a 415. Other endpoints keep
// JSON; a malformed msgpack body is a 400 naming the encoding.
func TestHTTPClientProtocolMsgpack(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	node := &structs.Node{ID: "11111111-2222-3333-4444-555555555555", SecretID: fake.secret, Datacenter: "dc1", Name: "n1",
		NodeResources: &structs.NodeResources{}, Status: structs.NodeStatusReady}
	if err := fake.st.UpsertNode(fake.next(), node); err != nil {
		t.Fatal(err)
	}
	job := testJob("web")
	job.Canonicalize()
	if err := fake.st.UpsertJob(fake.next(), job); err != nil {
		t.Fatal(err)
	}
	a1 := fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000001", node.ID)

	// What goes over the wire, seen by a proxy in front of the agent.
	var mu sync.Mutex
	var seen []string // "METHOD path: request type -> reply type"
	refuse := false   // answer msgpack bodies 415, as an agent without them might
	target, _ := url.Parse(ts.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		ref := refuse
		mu.Unlock()
		if ref && r.Header.Get("Content-Type") == structs.MsgpackContentType {
			http.Error(w, "unsupported", http.StatusUnsupportedMediaType)
			return
		}
		rec := httptest.NewRecorder()
		proxy.ServeHTTP(rec, r)
		mu.Lock()
		seen = append(seen, fmt.Sprintf("%s %s: %s -> %s", r.Method, r.URL.Path, r.Header.Get("Content-Type"), rec.Header().Get("Content-Type")))
		mu.Unlock()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	defer front.Close()
	c, err := api.NewClient(api.Config{Address: front.URL, Token: fake.secret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	update := func() {
		t.Helper()
		up := &structs.Allocation{ID: a1.ID, ClientStatus: structs.AllocClientStatusRunning, TaskStates: map[string]*structs.TaskState{
			"t": {State: structs.TaskStateRunning, StartedAt: time.Unix(1700000000, 0).UTC()}}}
		if _, err := c.UpdateAllocations(ctx, node.ID, []*structs.Allocation{up}, structs.GenerateUUID()); err != nil {
			t.Fatalf("update: %v", err)
		}
	}
	update() // JSON: the agent has not answered in msgpack yet (it does now)
	idx, _, err := c.NodeClientAllocs(ctx, node.ID, &api.QueryOptions{Params: map[string]string{"have": "0"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Changed) != 1 || idx.Changed[0].ID != a1.ID || idx.Changed[0].ClientStatus != structs.AllocClientStatusRunning ||
		idx.Jobs[structs.JobVersionKey(a1.Job)] == nil || idx.Jobs[structs.JobVersionKey(a1.Job)].TaskGroups[0].Tasks[0].Config["command"] != "/bin/true" {
		t.Fatalf("watch in msgpack: %+v; want a1 running with its job", idx)
	}
	update() // msgpack now
	got, err := fake.st.AllocByID(nil, a1.ID)
	if err != nil || got.TaskStateMap()["t"] == nil || !got.TaskStateMap()["t"].StartedAt.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("stored after the msgpack update: %+v (%v); want task t started at the reported time", got, err)
	}
	mu.Lock()
	refuse = true
	mu.Unlock()
	update() // 415: JSON again
	mu.Lock()
	want := []string{
		"PUT /v1/node/" + node.ID + "/allocations: application/json -> " + structs.MsgpackContentType,
		"GET /v1/node/" + node.ID + "/client-allocations:  -> " + structs.MsgpackContentType,
		"PUT /v1/node/" + node.ID + "/allocations: " + structs.MsgpackContentType + " -> " + structs.MsgpackContentType,
		"PUT /v1/node/" + node.ID + "/allocations: application/json -> " + structs.MsgpackContentType,
	}
	if !slices.Equal(seen, want) {
		t.Errorf("on the wire:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
	mu.Unlock()

	// Without Accept: JSON, as before.
	code, hdr, body := do(t, "GET", ts.URL+"/v1/node/"+node.ID+"/client-allocations", "", "X-Nomad-Token", fake.secret)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || !strings.Contains(body, a1.ID) {
		t.Errorf("watch without Accept: %d %s %s; want JSON", code, hdr.Get("Content-Type"), body)
	}
	// Another endpoint ignores the Accept.
	code, hdr, _ = do(t, "GET", ts.URL+"/v1/jobs", "", "Accept", structs.MsgpackContentType)
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
		t.Errorf("GET /v1/jobs with Accept msgpack: %d %s; want JSON", code, hdr.Get("Content-Type"))
	}
	// A malformed msgpack body.
	code, _, body = do(t, "PUT", ts.URL+"/v1/node/"+node.ID+"/allocations", "\xc1\xc1garbage", "X-Nomad-Token", fake.secret, "Content-Type", structs.MsgpackContentType)
	if code != 400 || !strings.Contains(body, "msgpack") {
		t.Errorf("malformed msgpack body: %d %s; want a 400 naming msgpack", code, body)
	}
}

// TestClientProtocolRoutesFirst: the client protocol's routes come first
// in the router, yet a node pool named like one of their suffixes is
// still served by the node pool routes, as before the move.
func TestClientProtocolRoutesFirst(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	for _, name := range []string{"allocations", "client-allocations", "heartbeat"} {
		code, _, body := do(t, "GET", ts.URL+"/v1/node/pool/"+name, "")
		if code != 404 || !strings.Contains(body, "node pool \""+name+"\" not found") {
			t.Errorf("GET /v1/node/pool/%s: got %d %s, want the node pool route's 404", name, code, body)
		}
	}
}
