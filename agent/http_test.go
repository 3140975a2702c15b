package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// testAPI serves an HTTPServer over fake through httptest.
func testAPI(t *testing.T, fake *fakeServer, modify func(*HTTPConfig)) *httptest.Server {
	t.Helper()
	cfg := HTTPConfig{Server: fake, Agent: DevConfig(), Logger: testLogger(t)}
	cfg.Agent.Name = "test-agent"
	if modify != nil {
		modify(&cfg)
	}
	ts := httptest.NewServer(NewHTTPServer(cfg).Handler())
	t.Cleanup(ts.Close)
	return ts
}

// do sends a request and returns the status, headers and body.
func do(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHTTPErrors(t *testing.T) {
	fake := newFakeServer(t)
	fake.panicOn = "boom"
	ts := testAPI(t, fake, func(c *HTTPConfig) { c.MaxBodyBytes = 4096 })
	big := `{"Job": {"ID": "x", "Meta": {"k": "` + strings.Repeat("a", 5000) + `"}}}`
	tests := []struct {
		name, method, path, body string
		wantCode                 int
		wantMsg                  string
	}{
		{"type error names field", "PUT", "/v1/jobs", `{"Job": {"ID": "x", "Priority": "high"}}`, 400, `field "Job.Priority" must be int`},
		{"syntax error names offset", "PUT", "/v1/jobs", `{"Job": {"ID": }`, 400, "offset 16"},
		{"empty body", "PUT", "/v1/jobs", "", 400, "request body is empty"},
		{"no job", "PUT", "/v1/jobs", `{}`, 400, "request body has no Job"},
		{"validation error", "PUT", "/v1/jobs", `{"Job": {"ID": "bad id!", "TaskGroups": []}}`, 400, "ID"},
		{"panic becomes 500", "PUT", "/v1/jobs", mustJSON(t, map[string]any{"Job": testJob("boom")}), 500, "internal error"},
		{"body too large", "PUT", "/v1/jobs", big, 413, "larger than the limit of 4096 bytes"},
		{"unknown job", "GET", "/v1/job/nope", "", 404, `job "nope" not found in namespace "default"`},
		{"unknown job summary", "GET", "/v1/job/nope/summary", "", 404, `job "nope" not found`},
		{"unknown alloc", "GET", "/v1/allocation/1234", "", 404, `allocation "1234" not found`},
		{"unknown eval", "GET", "/v1/evaluation/abcd", "", 404, `evaluation "abcd" not found`},
		{"unknown node", "GET", "/v1/node/n1", "", 404, `node "n1" not found`},
		{"unknown node allocs", "GET", "/v1/node/n1/allocations", "", 200, `[]`},
		{"stop unknown alloc", "PUT", "/v1/allocation/zz/stop", "", 404, `allocation "zz" not found`},
		{"unknown endpoint", "GET", "/v1/nothing", "", 404, "no endpoint GET /v1/nothing"},
		{"wrong method", "DELETE", "/v1/jobs", "", 405, "method DELETE is not allowed"},
		{"malformed filter", "GET", "/v1/jobs?filter=Status%3D%3D", "", 400, "failed to read filter expression"},
		{"bad index", "GET", "/v1/jobs?index=x", "", 400, "index=\"x\""},
		{"bad wait", "GET", "/v1/jobs?index=1&wait=soon", "", 400, "wait=\"soon\""},
		{"heartbeat without secret", "PUT", "/v1/node/n1/heartbeat", "", 403, "X-Nomad-Token"},
		{"heartbeat wrong secret", "PUT", "/v1/node/n1/heartbeat?x", "", 403, "permission denied"},
		{"alloc stats of unknown alloc", "GET", "/v1/client/allocation/a1/stats", "", 404, `allocation "a1" not found`},
		{"restart of unknown alloc", "PUT", "/v1/client/allocation/a1/restart", `{"TaskName":"web"}`, 404, `allocation "a1" not found`},
		{"signal of unknown alloc", "PUT", "/v1/client/allocation/a1/signal", `{"Task":"web","Signal":"SIGHUP"}`, 404, `allocation "a1" not found`},
		{"exec without task", "GET", "/v1/client/allocation/a1/exec?command=%5B%22sh%22%5D", "", 400, "task= is required"},
		{"exec with a bad command", "GET", "/v1/client/allocation/a1/exec?task=web&command=sh", "", 400, "not a JSON array"},
		{"exec in unknown alloc", "GET", "/v1/client/allocation/a1/exec?task=web&command=%5B%22sh%22%5D", "", 404, `allocation "a1" not found`},
		{"host stats of unknown node", "GET", "/v1/client/stats?node_id=n9", "", 404, `node "n9" not found`},
		{"logs without task", "GET", "/v1/client/fs/logs/a1?type=stdout", "", 400, "task= is required"},
		{"logs of unknown alloc", "GET", "/v1/client/fs/logs/a1?task=t&type=stdout", "", 404, `allocation "a1" not found`},
		{"wrong region", "GET", "/v1/jobs?region=mars", "", 400, `region "mars" is unknown`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hdr []string
			if strings.HasSuffix(tc.path, "?x") {
				hdr = []string{"Authorization", "Bearer wrong"}
			}
			code, _, body := do(t, tc.method, ts.URL+tc.path, tc.body, hdr...)
			if code != tc.wantCode {
				t.Errorf("got status %d, want %d (body %q)", code, tc.wantCode, body)
			}
			if !strings.Contains(body, tc.wantMsg) {
				t.Errorf("got body %q, want it to contain %q", body, tc.wantMsg)
			}
		})
	}
	// The server survived the panic.
	if code, _, body := do(t, "GET", ts.URL+"/v1/jobs", ""); code != 200 {
		t.Errorf("after the panic: got status %d (%s), want 200", code, body)
	}
}

func TestHTTPJobLifecycle(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)

	code, hdr, body := do(t, "PUT", ts.URL+"/v1/jobs", mustJSON(t, map[string]any{"Job": testJob("web")}))
	if code != 200 {
		t.Fatalf("register: got %d %s, want 200", code, body)
	}
	var reg structs.JobRegisterResponse
	if err := json.Unmarshal([]byte(body), &reg); err != nil {
		t.Fatal(err)
	}
	if reg.EvalID == "" || hdr.Get("X-Nomad-Index") != strconv.FormatUint(reg.Index, 10) {
		t.Errorf("got reply %+v and X-Nomad-Index %q, want an eval ID and the index", reg, hdr.Get("X-Nomad-Index"))
	}

	code, hdr, body = do(t, "GET", ts.URL+"/v1/job/web?pretty", "")
	if code != 200 || !strings.Contains(body, "\n    \"ID\": \"web\"") {
		t.Fatalf("info: got %d %s, want 200 with indented JSON", code, body)
	}
	if hdr.Get("X-Nomad-KnownLeader") != "true" || hdr.Get("X-Nomad-LastContact") == "" {
		t.Errorf("got headers %v, want X-Nomad-KnownLeader true and X-Nomad-LastContact", hdr)
	}

	for path, want := range map[string]string{
		"/v1/jobs":                                       `"JobSummary":`,
		"/v1/job/web/summary":                            `"JobID":"web"`,
		"/v1/job/web/versions":                           `"Diffs":null`,
		"/v1/job/web/evaluations":                        reg.EvalID,
		"/v1/job/web/allocations":                        `[]`,
		"/v1/job/web/deployment":                         `null`,
		"/v1/job/web/deployments":                        `[]`,
		"/v1/evaluation/" + reg.EvalID + "?related=true": `"JobID":"web"`,
	} {
		code, hdr, body := do(t, "GET", ts.URL+path, "")
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: got %d %s, want 200 containing %s", path, code, body, want)
		}
		if hdr.Get("X-Nomad-Index") == "" {
			t.Errorf("GET %s: no X-Nomad-Index", path)
		}
	}

	code, _, body = do(t, "DELETE", ts.URL+"/v1/job/web?purge=true", "")
	if code != 200 {
		t.Fatalf("purge: got %d %s", code, body)
	}
	if code, _, _ := do(t, "GET", ts.URL+"/v1/job/web", ""); code != 404 {
		t.Errorf("after purge: got %d, want 404", code)
	}
}

func TestHTTPValidate(t *testing.T) {
	ts := testAPI(t, newFakeServer(t), nil)
	bad := testJob("web")
	bad.TaskGroups[0].Tasks[0].Driver = ""
	tests := []struct {
		name     string
		job      *structs.Job
		wantErrs int
	}{
		{"valid", testJob("web"), 0},
		{"no driver", bad, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, body := do(t, "PUT", ts.URL+"/v1/validate/job", mustJSON(t, map[string]any{"Job": tc.job}))
			var got structs.JobValidateResponse
			if code != 200 || json.Unmarshal([]byte(body), &got) != nil {
				t.Fatalf("got %d %s, want 200 with a JobValidateResponse", code, body)
			}
			if len(got.ValidationErrors) != tc.wantErrs {
				t.Errorf("got errors %q, want %d", got.ValidationErrors, tc.wantErrs)
			}
		})
	}
}

func TestHTTPBlockingQuery(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	do(t, "PUT", ts.URL+"/v1/jobs", mustJSON(t, map[string]any{"Job": testJob("a")}))
	_, hdr, _ := do(t, "GET", ts.URL+"/v1/jobs", "")
	idx, err := strconv.ParseUint(hdr.Get("X-Nomad-Index"), 10, 64)
	if err != nil || idx == 0 {
		t.Fatalf("got X-Nomad-Index %q, want a positive index", hdr.Get("X-Nomad-Index"))
	}

	type result struct {
		code  int
		index string
		body  string
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Get(ts.URL + "/v1/jobs?index=" + strconv.FormatUint(idx, 10) + "&wait=30s")
		if err != nil {
			done <- result{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		done <- result{resp.StatusCode, resp.Header.Get("X-Nomad-Index"), string(b)}
	}()
	select {
	case r := <-done:
		t.Fatalf("blocking query returned before any write: %+v", r)
	case <-time.After(200 * time.Millisecond):
		// Still blocked, as it should be. (A bound on the negative check, not synchronisation.)
	}
	do(t, "PUT", ts.URL+"/v1/jobs", mustJSON(t, map[string]any{"Job": testJob("b")}))
	select {
	case r := <-done:
		got, _ := strconv.ParseUint(r.index, 10, 64)
		if r.code != 200 || got <= idx || !strings.Contains(r.body, `"ID":"b"`) {
			t.Errorf("got %d index %s body %s, want 200, an index above %d and job b", r.code, r.index, r.body, idx)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query did not return within 10s of a write")
	}

	// A wait that elapses answers with the current data.
	start := time.Now()
	code, hdr, _ := do(t, "GET", ts.URL+"/v1/jobs?index=1000&wait=50ms", "")
	if code != 200 || hdr.Get("X-Nomad-Index") == "" {
		t.Errorf("timed-out blocking query: got %d, index %q; want 200 with an index", code, hdr.Get("X-Nomad-Index"))
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timed-out blocking query took %v, want about 50ms", time.Since(start))
	}
}

func TestHTTPPagination(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	for _, id := range []string{"e", "a", "d", "c", "b"} {
		do(t, "PUT", ts.URL+"/v1/jobs", mustJSON(t, map[string]any{"Job": testJob(id)}))
	}
	pages := func(query string) []string {
		var out []string
		token := ""
		for i := 0; i < 10; i++ {
			url := ts.URL + "/v1/jobs?per_page=2" + query
			if token != "" {
				url += "&next_token=" + token
			}
			code, hdr, body := do(t, "GET", url, "")
			if code != 200 {
				t.Fatalf("GET %s: %d %s", url, code, body)
			}
			var stubs []*structs.JobListStub
			if err := json.Unmarshal([]byte(body), &stubs); err != nil {
				t.Fatal(err)
			}
			var page []string
			for _, s := range stubs {
				page = append(page, s.ID)
			}
			out = append(out, strings.Join(page, ","))
			if token = hdr.Get("X-Nomad-NextToken"); token == "" {
				return out
			}
		}
		t.Fatal("pagination did not end")
		return nil
	}
	tests := []struct {
		name, query string
		want        []string
	}{
		{"forward", "", []string{"a,b", "c,d", "e"}},
		{"reverse", "&reverse=true", []string{"e,d", "c,b", "a"}},
		{"prefix", "&prefix=c", []string{"c"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := cmp.Diff(tc.want, pages(tc.query)); d != "" {
				t.Errorf("pages (-want +got):\n%s", d)
			}
		})
	}
}

func TestHTTPNodeEndpoints(t *testing.T) {
	fake := newFakeServer(t)
	ts := testAPI(t, fake, nil)
	node := &structs.Node{ID: "11111111-2222-3333-4444-555555555555", SecretID: fake.secret, Datacenter: "dc1", Name: "n1",
		NodeResources: &structs.NodeResources{}, Status: structs.NodeStatusReady}
	code, _, body := do(t, "PUT", ts.URL+"/v1/node/register", mustJSON(t, structs.NodeRegisterRequest{Node: node}))
	if code != 200 {
		t.Fatalf("register: got %d %s", code, body)
	}
	code, _, body = do(t, "GET", ts.URL+"/v1/node/"+node.ID, "")
	if code != 200 || strings.Contains(body, fake.secret) {
		t.Errorf("node info: got %d %s, want 200 without the secret", code, body)
	}
	code, _, body = do(t, "PUT", ts.URL+"/v1/node/"+node.ID+"/heartbeat", "", "X-Nomad-Token", fake.secret)
	if code != 200 || !strings.Contains(body, "HeartbeatTTL") {
		t.Errorf("heartbeat: got %d %s", code, body)
	}
	job := testJob("web")
	job.Canonicalize()
	if err := fake.st.UpsertJob(fake.next(), job); err != nil {
		t.Fatal(err)
	}
	alloc := fake.upsertAlloc(job, "aaaaaaaa-0000-0000-0000-000000000000", node.ID)
	code, _, body = do(t, "GET", ts.URL+"/v1/node/"+node.ID+"/allocations", "")
	if code != 200 || !strings.Contains(body, `"Job":{`) {
		t.Errorf("node allocations: got %d %s, want full allocations with jobs", code, body)
	}
	upd := alloc.Copy()
	upd.ClientStatus = structs.AllocClientStatusRunning
	code, _, body = do(t, "PUT", ts.URL+"/v1/node/"+node.ID+"/allocations",
		mustJSON(t, structs.NodeAllocUpdateRequest{Allocs: []*structs.Allocation{upd}}), "Authorization", "Bearer "+fake.secret)
	if code != 200 {
		t.Fatalf("alloc update: got %d %s", code, body)
	}
	got, err := fake.st.AllocByID(nil, alloc.ID)
	if err != nil || got.ClientStatus != structs.AllocClientStatusRunning {
		t.Errorf("alloc after update: got %+v, %v; want client status running", got, err)
	}
	for path, want := range map[string]string{
		"/v1/nodes":                     `"Name":"n1"`,
		"/v1/allocations?prefix=aaaa":   alloc.ID,
		"/v1/allocation/" + alloc.ID:    `"ClientStatus":"running"`,
		"/v1/agent/self":                `"member":{"Name":"test-agent.global"`,
		"/v1/agent/members":             `"role":"nomad"`,
		"/v1/agent/health":              `"server":{"ok":true`,
		"/v1/status/leader":             `"127.0.0.1:4647"`,
		"/v1/status/peers":              `["127.0.0.1:4647"]`,
		"/v1/regions":                   `["global"]`,
		"/v1/metrics":                   `"Counters":`,
		"/v1/metrics?format=prometheus": "nomadlike_http_requests_total",
		"/ui/":                          "<title>nomadlike</title>",
	} {
		code, _, body := do(t, "GET", ts.URL+path, "")
		if code != 200 || !strings.Contains(body, want) {
			t.Errorf("GET %s: got %d %.300s, want 200 containing %s", path, code, body, want)
		}
	}
}

func TestHTTPJobsParse(t *testing.T) {
	var gotVars map[string]string
	ts := testAPI(t, newFakeServer(t), func(c *HTTPConfig) {
		c.ParseJob = func(filename string, src []byte, vars map[string]string) (*structs.Job, error) {
			gotVars = vars
			if strings.Contains(string(src), "broken") {
				return nil, structs.NewBadRequest("%s:1:5: broken job", filename)
			}
			return testJob("parsed"), nil
		}
	})
	code, _, body := do(t, "PUT", ts.URL+"/v1/jobs/parse", `{"JobHCL": "job \"parsed\" {}", "Variables": "count = 3\nname = \"x\"", "Canonicalize": true}`)
	if code != 200 || !strings.Contains(body, `"ID":"parsed"`) || !strings.Contains(body, `"Namespace":"default"`) {
		t.Errorf("parse: got %d %s, want the canonicalized job", code, body)
	}
	if d := cmp.Diff(map[string]string{"count": "3", "name": "x"}, gotVars); d != "" {
		t.Errorf("variables (-want +got):\n%s", d)
	}
	code, _, body = do(t, "PUT", ts.URL+"/v1/jobs/parse", `{"JobHCL": "broken"}`)
	if code != 400 || !strings.Contains(body, "input.hcl:1:5") {
		t.Errorf("parse error: got %d %s, want 400 with the location", code, body)
	}
}

func TestHTTPShutdownEndsBlockingQueries(t *testing.T) {
	fake := newFakeServer(t)
	h := NewHTTPServer(HTTPConfig{Server: fake, Logger: testLogger(t)}).Handler()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest("GET", "/v1/jobs?index=100&wait=5m", nil).WithContext(ctx)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, req)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("blocking query did not end when its context was cancelled")
	}
}
