package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

const parameterizedJob = `
job "render" {
  datacenters = ["*"]
  type        = "batch"

  meta {
    color = "blue"
  }

  parameterized {
    payload       = "required"
    meta_required = ["who"]
    meta_optional = ["greeting"]
  }

  group "g" {
    task "t" {
      driver = "raw_exec"

      dispatch_payload {
        file = "input.txt"
      }

      config {
        command = "/bin/sh"
        args    = ["-c", "echo payload=$(cat $NOMAD_TASK_DIR/input.txt); echo who=$NOMAD_META_who color=$NOMAD_META_color"]
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

// TestDispatchJob dispatches a parameterized job from the CLI with a payload
// file and -meta: the task reads its payload and meta; a dispatch missing a
// required meta key fails with the key named and creates nothing.
func TestDispatchJob(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{dev: true})
	c := a.api()
	dir := t.TempDir()
	file := writeFile(t, dir, "render.nomad.hcl", fmt.Sprintf(parameterizedJob, runToken))
	out, code := a.cli(dir, "job", "run", file)
	if code != 0 || !strings.Contains(out, "Job registration successful") {
		t.Fatalf("job run of a parameterized job: exit %d\n%s", code, out)
	}
	input := writeFile(t, dir, "input.txt", "hello-payload")

	out, code = a.cli(dir, "job", "dispatch", "render", input)
	if code != 1 || !strings.Contains(out, "missing required meta keys: who") {
		t.Errorf("dispatch without -meta who: exit %d, want 1 naming the key\n%s", code, out)
	}
	if ch := children(t, c, "render"); len(ch) != 0 {
		t.Fatalf("a failed dispatch created %d children", len(ch))
	}

	out, code = a.cli(dir, "job", "dispatch", "-meta", "who=alice", "render", input)
	m := regexp.MustCompile(`Dispatched Job ID = (render/dispatch-\d+-[0-9a-f]{8})`).FindStringSubmatch(out)
	if code != 0 || m == nil || !strings.Contains(out, "Evaluation ID     = ") || !strings.Contains(out, "Monitoring evaluation") {
		t.Fatalf("job dispatch: exit %d\n%s", code, out)
	}
	childID := m[1]
	var allocID string
	waitFor(t, 30*time.Second, "the dispatched job to complete", func() (bool, string) {
		ctx, cancel := ctx10s()
		defer cancel()
		allocs, _, err := c.JobAllocations(ctx, childID, nil)
		if err != nil || len(allocs) != 1 {
			return false, fmt.Sprintf("%d allocations, %v", len(allocs), err)
		}
		allocID = allocs[0].ID
		return allocs[0].ClientStatus == structs.AllocClientStatusComplete, "alloc " + allocs[0].ClientStatus
	})
	out, _ = a.cli(dir, "alloc", "logs", allocID[:8])
	for _, want := range []string{"payload=hello-payload", "who=alice color=blue"} {
		if !strings.Contains(out, want) {
			t.Errorf("alloc logs: missing %q", want)
		}
	}
	out, code = a.cli(dir, "job", "status", "render")
	for _, want := range []string{`Parameterized\s+= true`, `Required Metadata = who`, `Dispatched Jobs`, regexp.QuoteMeta(childID) + `\s+dead`} {
		if code != 0 || !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("job status render: no match for %q", want)
		}
	}

	// The same idempotency token twice gives one child.
	out1, code1 := a.cli(dir, "job", "dispatch", "-detach", "-idempotency-token", "tok", "-meta", "who=bob", "render", input)
	out2, code2 := a.cli(dir, "job", "dispatch", "-detach", "-idempotency-token", "tok", "-meta", "who=bob", "render", input)
	re := regexp.MustCompile(`Dispatched Job ID = (\S+)`)
	m1, m2 := re.FindStringSubmatch(out1), re.FindStringSubmatch(out2)
	if code1 != 0 || code2 != 0 || m1 == nil || m2 == nil || m1[1] != m2[1] || !strings.Contains(out2, "already dispatched") {
		t.Errorf("idempotent dispatch: exits %d %d, IDs %v %v", code1, code2, m1, m2)
	}
	if ch := children(t, c, "render"); len(ch) != 2 {
		t.Errorf("%d children after two dispatches and one repeat, want 2", len(ch))
	}
}
