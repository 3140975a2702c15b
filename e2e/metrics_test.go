package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

const meteredJob = `
job "metered" {
  datacenters = ["*"]
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      env { E2E_RUN = %q }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`

// TestMetricsTopAndDashboard (issue 17, metrics): with a job running,
// `operator top -once` shows the cluster's figures, and every metric the
// shipped Grafana dashboard queries is one the agent exports.
func TestMetricsTopAndDashboard(t *testing.T) {
	killLeftovers(t)
	a := startAgent(t, agentOpts{})
	dir := t.TempDir()
	f := writeFile(t, dir, "metered.nomad.hcl", fmt.Sprintf(meteredJob, runToken))
	if out, code := a.cli(dir, "job", "run", "-detach", f); code != 0 {
		t.Fatalf("job run: exit %d\n%s", code, out)
	}
	var top string
	waitFor(t, 60*time.Second, "operator top to show the running task", func() (bool, string) {
		out, code := a.cli(dir, "operator", "top", "-once")
		top = out
		// The server learns of the running task from the client's next update.
		return code == 0 && regexp.MustCompile(`Client running tasks\s+= .*raw_exec 1`).MatchString(out) &&
			regexp.MustCompile(`Allocations\s+= running 1,`).MatchString(out), out
	})
	for _, want := range []string{
		`Server\s+= leader`,
		`Nodes\s+= ready 1, down 0`,
		`Allocations\s+= running 1,`,
		`Eval broker\s+= ready 0, unacked 0`,
		`FSM apply\s+= p50 ≤`,
		`Driver start\s+= p50 ≤`,
		`HTTP requests\s+= \d+ total`,
	} {
		if !regexp.MustCompile(want).MatchString(top) {
			t.Errorf("operator top lacks %q:\n%s", want, top)
		}
	}

	prom, err := httpGet(a.addr + "/v1/metrics?format=prometheus")
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{}
	for _, line := range strings.Split(prom, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			exported[f[2]] = true
		}
	}
	raw, err := os.ReadFile("../dist/grafana/nomadlike.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	name := regexp.MustCompile(`\b(nomadlike_|nomad_|process_|go_)[a-zA-Z0-9_]+`)
	checked := 0
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			for _, m := range name.FindAllString(tg.Expr, -1) {
				family := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(m, "_bucket"), "_count"), "_sum")
				checked++
				if !exported[family] {
					t.Errorf("dashboard panel %q queries %s, which the agent does not export", p.Title, m)
				}
			}
		}
	}
	if checked < 15 {
		t.Errorf("checked only %d metric names in the dashboard", checked)
	}
}
