package agent

import (
	"encoding/json"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestHTTPNodeClientAllocs: the client protocol's watch gives the node's
// allocations' AllocModifyIndex; the fetch returns the asked-for
// allocations without jobs plus the job versions the client lacks; both
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
		if a.Job != nil || resp.JobKeys[a.ID] != key {
			t.Errorf("fetched %s: Job %v, key %q; want no job and key %q", a.ID, a.Job, resp.JobKeys[a.ID], key)
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
