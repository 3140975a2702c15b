package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/jobspec"
	"github.com/nomadlike/nomadlike/nomadlike/scheduler/schedtest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The JSON API fuzz targets (issue 13 item 3): every body an endpoint
// decodes ends in success or a 4xx, never a panic or a 5xx. Each target
// drives the real HTTP handler of a real in-memory dev server (no client)
// with one fake node registered; bodies may name "@NODE@", "@ALLOC@",
// "@JOB@" and "@DEPLOYMENT@", replaced by IDs of that server's objects.
// `make test` runs each for a few seconds; `make fuzz` for longer.

// fuzzTarget is the server a fuzz process drives, set up once.
type fuzzTarget struct {
	h                          http.Handler
	node, secret, alloc, depID string
}

var (
	fuzzOnce sync.Once
	fuzzSrv  *fuzzTarget
)

// fuzzSetup starts the server and registers a node, a service job with an
// update block (its allocations and deployment) and a parameterized job.
func fuzzSetup(t testing.TB) *fuzzTarget {
	fuzzOnce.Do(func() {
		cfg := DevConfig()
		cfg.Name = "fuzz"
		cfg.Ports.HTTP = 0
		cfg.Client.Enabled = false
		cfg.LogLevel = "error"
		dir, err := os.MkdirTemp("", "nomadlike-fuzz-")
		if err != nil {
			t.Fatal(err)
		}
		cfg.DataDir = dir
		a, err := New(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := a.Start(ctx); err != nil {
			t.Fatal(err)
		}
		// The agent lives as long as the fuzz process.
		ft := &fuzzTarget{h: a.http.Handler()}
		node := schedtest.Node()
		ft.node, ft.secret = node.ID, node.SecretID
		mustServe(t, ft, "PUT", "/v1/node/register", mustJSON(t, map[string]any{"Node": node}), http.StatusOK)
		mustServe(t, ft, "PUT", "/v1/jobs", fuzzSeedJob(t, "update.nomad.hcl", "@JOB@"), http.StatusOK)
		mustServe(t, ft, "PUT", "/v1/jobs", fuzzSeedJob(t, "parameterized.nomad.hcl", "transcode"), http.StatusOK)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && (ft.alloc == "" || ft.depID == "") {
			var allocs []*structs.AllocListStub
			_ = json.Unmarshal([]byte(mustServe(t, ft, "GET", "/v1/job/fuzz/allocations", "", http.StatusOK)), &allocs)
			if len(allocs) > 0 {
				ft.alloc = allocs[0].ID
			}
			var dep *structs.Deployment
			_ = json.Unmarshal([]byte(mustServe(t, ft, "GET", "/v1/job/fuzz/deployment", "", http.StatusOK)), &dep)
			if dep != nil {
				ft.depID = dep.ID
			}
			time.Sleep(20 * time.Millisecond) // polling the scheduler under a deadline
		}
		if ft.alloc == "" || ft.depID == "" {
			t.Fatalf("the fuzz job got no allocation or deployment (alloc %q, deployment %q)", ft.alloc, ft.depID)
		}
		fuzzSrv = ft
	})
	if fuzzSrv == nil {
		t.Fatal("fuzz server setup failed")
	}
	return fuzzSrv
}

// serve sends one request to the handler; body placeholders are replaced.
func (ft *fuzzTarget) serve(method, path, body string) *httptest.ResponseRecorder {
	r := strings.NewReplacer("@NODE@", ft.node, "@ALLOC@", ft.alloc, "@JOB@", "fuzz", "@DEPLOYMENT@", ft.depID)
	req := httptest.NewRequest(method, r.Replace(path), strings.NewReader(r.Replace(body)))
	req.Header.Set("X-Nomad-Token", ft.secret)
	rec := httptest.NewRecorder()
	ft.h.ServeHTTP(rec, req)
	return rec
}

func mustServe(t testing.TB, ft *fuzzTarget, method, path, body string, want int) string {
	t.Helper()
	rec := ft.serve(method, path, body)
	if rec.Code != want {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// fuzzSeedJob is a job register body made from a jobspec test file.
func fuzzSeedJob(t testing.TB, file, id string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "jobspec", "testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	job, err := jobspec.Parse(file, src)
	if err != nil {
		t.Fatal(err)
	}
	if id == "@JOB@" {
		job.ID, job.Name = "fuzz", "fuzz"
	}
	return mustJSON(t, map[string]any{"Job": job})
}

// fuzzBodies runs the fuzz target: each body sent to every path, in turn,
// must get a reply below 500.
func fuzzBodies(f *testing.F, method string, paths []string, seeds ...string) {
	ft := fuzzSetup(f)
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// Shapes that broke decoders before: nulls, trailing data, deep nesting.
	f.Add([]byte(`{"Job":{"TaskGroups":[null]}}`))
	f.Add([]byte(`{} x`))
	f.Add([]byte(strings.Repeat("[", 200)))
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, p := range paths {
			rec := ft.serve(method, p, string(body))
			if rec.Code >= 500 {
				t.Fatalf("%s %s with body %.500q: %d %s", method, p, body, rec.Code, rec.Body.String())
			}
		}
	})
}

func FuzzJobRegister(f *testing.F) {
	fuzzBodies(f, "PUT", []string{"/v1/jobs", "/v1/validate/job"},
		fuzzSeedJob(f, "full.nomad.hcl", ""), fuzzSeedJob(f, "minimal.nomad.hcl", ""),
		fuzzSeedJob(f, "periodic.nomad.hcl", ""), fuzzSeedJob(f, "volumes.nomad.hcl", ""))
}

func FuzzJobPlan(f *testing.F) {
	full := fuzzSeedJob(f, "full.nomad.hcl", "")
	fuzzBodies(f, "PUT", []string{"/v1/job/@JOB@/plan", "/v1/job/example/plan"},
		strings.Replace(full, `{"Job":`, `{"Diff":true,"Job":`, 1), fuzzSeedJob(f, "update.nomad.hcl", "@JOB@"))
}

func FuzzNodeRegister(f *testing.F) {
	n := schedtest.Node()
	fuzzBodies(f, "PUT", []string{"/v1/node/register"},
		mustJSON(f, map[string]any{"Node": n}),
		`{"Node":{"ID":"@NODE@","SecretID":"x","Datacenter":"dc1","Name":"n","Drivers":{"raw_exec":null}}}`)
}

func FuzzAllocUpdates(f *testing.F) {
	fuzzBodies(f, "PUT", []string{"/v1/node/@NODE@/allocations"},
		`{"Allocs":[{"ID":"@ALLOC@","ClientStatus":"running","TaskStates":{"t":{"State":"running","Events":[{"Type":"Started","Time":1}]}}}]}`,
		`{"Allocs":[{"ID":"@ALLOC@","ClientStatus":"failed","DeploymentStatus":{"Healthy":false,"Timestamp":"2024-01-01T00:00:00Z"}}]}`,
		`{"Allocs":[{"ID":"@ALLOC@","ClientStatus":"complete","NetworkStatus":{"Address":"10.0.0.1"}}]}`)
}

func FuzzJobScale(f *testing.F) {
	fuzzBodies(f, "PUT", []string{"/v1/job/@JOB@/scale"},
		`{"Count":3,"Target":{"Group":"web"},"Message":"up","Meta":{"a":1}}`,
		`{"Count":-1,"Target":{"Group":"nope"},"EnforceIndex":true,"JobModifyIndex":1}`,
		`{"Error":true,"Message":"scaler failed","Target":{"Group":"web"}}`)
}

func FuzzJobDispatch(f *testing.F) {
	fuzzBodies(f, "PUT", []string{"/v1/job/transcode/dispatch", "/v1/job/@JOB@/dispatch"},
		`{"Payload":"eyJhIjoxfQ==","Meta":{"input":"x.mp4","profile":"small"}}`,
		`{"Payload":"","Meta":{},"IdempotencyToken":"t","IdPrefixTemplate":"p","Priority":50}`)
}

func FuzzDeploymentOps(f *testing.F) {
	fuzzBodies(f, "PUT", []string{"/v1/deployment/fail/@DEPLOYMENT@", "/v1/deployment/pause/@DEPLOYMENT@",
		"/v1/deployment/promote/@DEPLOYMENT@", "/v1/deployment/allocation-health/@DEPLOYMENT@"},
		`{"DeploymentID":"@DEPLOYMENT@","Pause":true}`,
		`{"DeploymentID":"@DEPLOYMENT@","All":true,"Groups":["web"]}`,
		`{"HealthyAllocationIDs":["@ALLOC@"],"UnhealthyAllocationIDs":[]}`)
}
