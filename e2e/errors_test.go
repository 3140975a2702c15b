package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestPlacementFailuresExplained: a job no node can hold is accepted but
// `job run` says why nothing runs, in plain words, and exits 2.
func TestPlacementFailuresExplained(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()
	cases := []struct {
		name, group, want string
	}{
		{"huge", `resources { memory = 900000000 }`, `exhausted memory (asked 900000000 MB`},
		{"windows", `resources { memory = 32 }
      constraint {
        attribute = "${attr.kernel.name}"
        value     = "windows"
      }`, "${attr.kernel.name} = windows"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := fmt.Sprintf(`
job "e2e-%s" {
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      env { E2E_RUN = %q }
      %s
    }
  }
}
`, tc.name, runToken, tc.group)
			f := writeFile(t, dir, tc.name+".nomad.hcl", job)
			out, code := a.cli(dir, "job", "run", f)
			if code != 2 {
				t.Errorf("job run exited %d, want 2 (placement failure)", code)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("job run output does not explain the failure with %q:\n%s", tc.want, out)
			}
			a.cli(dir, "job", "stop", "-purge", "e2e-"+tc.name)
		})
	}
}

// TestBadInputChangesNothing: syntax errors are reported with file:line:col
// and malformed API requests are 400s; nothing is registered.
func TestBadInputChangesNothing(t *testing.T) {
	a := startAgent(t, agentOpts{dev: true})
	dir := t.TempDir()

	bad := writeFile(t, dir, "bad.nomad.hcl", "job \"bad\" {\n  group \"g\" {\n    cuont = 3\n    task \"t\" { driver = \"raw_exec\" }\n  }\n}\n")
	out, code := a.cli(dir, "job", "run", bad)
	if code != 1 {
		t.Errorf("job run of a bad file exited %d, want 1", code)
	}
	if !strings.Contains(out, "bad.nomad.hcl:3:") {
		t.Errorf("error does not locate the problem at bad.nomad.hcl:3:\n%s", out)
	}

	neg := writeFile(t, dir, "neg.nomad.hcl", "job \"neg\" {\n  group \"g\" {\n    count = -1\n    task \"t\" {\n      driver = \"raw_exec\"\n      config { command = \"/bin/true\" }\n    }\n  }\n}\n")
	if out, code := a.cli(dir, "job", "run", neg); code != 1 || !strings.Contains(out, "neg.nomad.hcl:") {
		t.Errorf("negative count: exit %d, output:\n%s", code, out)
	}

	for _, tc := range []struct {
		method, path, body string
		want               int
	}{
		{"PUT", "/v1/jobs", `{"Job": {"ID": "x", "TaskGroups": [`, 400},
		{"PUT", "/v1/jobs", `{"Job": {"ID": 42}}`, 400},
		{"PUT", "/v1/jobs", `{"Job": {"ID": "nogroups"}}`, 400},
		{"PUT", "/v1/jobs", `{"Job": {"ID": "dock", "TaskGroups": [{"Name": "g", "Tasks": [{"Name": "t", "Driver": "docker", "Resources": {"CPU": 2000000000}}]}]}}`, 400},
		{"GET", "/v1/job/does-not-exist", "", 404},
		{"GET", "/v1/allocation/00000000-0000-0000-0000-000000000000", "", 404},
		{"GET", "/v1/evaluation/nope", "", 404},
		{"GET", "/v1/node/nope", "", 404},
	} {
		req, _ := http.NewRequest(tc.method, a.addr+tc.path, strings.NewReader(tc.body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s %s: status %d, want %d (%s)", tc.method, tc.path, tc.body, resp.StatusCode, tc.want, msg)
		}
		if len(strings.TrimSpace(string(msg))) == 0 {
			t.Errorf("%s %s: error without a message", tc.method, tc.path)
		}
	}

	ctx, cancel := ctx10s()
	defer cancel()
	jobs, _, err := a.api().ListJobs(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 0 {
		t.Errorf("bad input registered %d jobs, want none", len(jobs))
	}
}
