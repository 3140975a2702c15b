package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const scaledParamJob = `
job "sized" {
  datacenters = ["*"]
  type        = "batch"
  priority    = 40

  parameterized {
    payload = "optional"
  }

  group "g" {
    count = 1

    scaling {
      min = 1
      max = 3

      policy {
        cooldown = "1m"
      }
    }

    task "t" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "true"]
      }

      env {
        E2E_RUN = "%s"
      }

      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// getJSON decodes GET addr+path into out and returns the HTTP status.
func getJSON(t *testing.T, addr, path string, out any) int {
	t.Helper()
	resp, err := http.Get(addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: decode: %v", path, err)
		}
	}
	return resp.StatusCode
}

// TestDispatchPrefixPriorityAndScalingPolicies dispatches from the CLI with
// -id-prefix-template and -priority, and reads the group scaling policies
// of the parent and its child over /v1/scaling.
func TestDispatchPrefixPriorityAndScalingPolicies(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	c := a.api()
	dir := t.TempDir()
	file := writeFile(t, dir, "sized.nomad.hcl", fmt.Sprintf(scaledParamJob, runToken))
	if out, code := a.cli(dir, "job", "run", file); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}

	out, code := a.cli(dir, "job", "dispatch", "-detach", "-id-prefix-template", "nightly", "-priority", "90", "sized")
	m := regexp.MustCompile(`Dispatched Job ID = (sized/dispatch-nightly-\d+-[0-9a-f]{8})`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("job dispatch -id-prefix-template nightly -priority 90: exit %d\n%s", code, out)
	}
	ctx, cancel := ctx10s()
	defer cancel()
	child, _, err := c.Job(ctx, m[1], nil)
	if err != nil || child.Priority != 90 {
		t.Fatalf("dispatched job: %+v, %v; want priority 90", child, err)
	}
	out, code = a.cli(dir, "job", "dispatch", "-priority", "0x", "sized")
	if code != 1 || !strings.Contains(out, "priority") {
		t.Errorf("job dispatch -priority 0x: exit %d, want 1 naming the flag\n%s", code, out)
	}

	var stubs []*structs.ScalingPolicyListStub
	if st := getJSON(t, a.addr, "/v1/scaling/policies", &stubs); st != http.StatusOK || len(stubs) != 2 {
		t.Fatalf("GET /v1/scaling/policies: %d, %d policies (parent and child), want 2", st, len(stubs))
	}
	var parentStubs []*structs.ScalingPolicyListStub
	getJSON(t, a.addr, "/v1/scaling/policies?job=sized", &parentStubs)
	if len(parentStubs) != 1 || parentStubs[0].Target["Job"] != "sized" || parentStubs[0].Type != "horizontal" {
		t.Fatalf("policies of job sized: %+v", parentStubs)
	}
	var p structs.ScalingPolicy
	if st := getJSON(t, a.addr, "/v1/scaling/policy/"+parentStubs[0].ID, &p); st != http.StatusOK ||
		p.Min != 1 || p.Max != 3 || p.Policy["cooldown"] != "1m" {
		t.Errorf("GET /v1/scaling/policy/%s: %d %+v", parentStubs[0].ID, st, p)
	}
	if st := getJSON(t, a.addr, "/v1/scaling/policy/nope", &p); st != http.StatusNotFound {
		t.Errorf("GET of an unknown policy: %d, want 404", st)
	}
}
