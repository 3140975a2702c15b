package agent

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAttackBadBodies is issue 12 item 10 and issue 13 items 3 and 7: an
// HCL job nested 60,000 deep killed the agent (stack overflow); JSON nested
// past msgpack's 1,024 levels was a 500 from the Raft apply; `[null]` in a
// list panicked job register; data after the JSON object was accepted.
// Each is now a 400 naming the limit or the field, and the agent lives on.
func TestAttackBadBodies(t *testing.T) {
	a := startDevAgentWith(t, func(c *Config) { c.Client.Enabled = false })
	addr := a.HTTPAddr()
	job := func(tg string) string {
		return `{"Job":{"ID":"j","Type":"service","Datacenters":["dc1"],"TaskGroups":[` + tg + `]}}`
	}
	group := func(task string, extra string) string {
		return `{"Name":"g","Count":1` + extra + `,"Tasks":[` + task + `]}`
	}
	task := func(extra string) string {
		return `{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true"}` + extra + `}`
	}
	deepJSON := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	hclJob := func(meta string) string {
		b, _ := json.Marshal(map[string]any{"JobHCL": `job "x" { meta { a = ` + meta + ` } }`})
		return string(b)
	}
	cases := []struct {
		name, method, path, body string
		want                     []string
	}{
		{"HCL nested 60,000 deep", "PUT", "/v1/jobs/parse", hclJob(strings.Repeat("[", 60000) + strings.Repeat("]", 60000)), []string{"nest more than 100 deep", "input.hcl:1:"}},
		{"HCL interpolations nested", "PUT", "/v1/jobs/parse", hclJob(strings.Repeat(`"${`, 5000) + strings.Repeat(`}"`, 5000)), []string{"nest more than 100 deep"}},
		{"HCL Variables nested", "PUT", "/v1/jobs/parse", `{"JobHCL":"job \"x\" {}","Variables":"a = ` + strings.Repeat("[", 60000) + `"}`, []string{"nest more than 100 deep"}},
		{"JSON nested past msgpack's limit", "PUT", "/v1/jobs", job(group(`{"Name":"t","Driver":"raw_exec","Config":{"command":"/bin/true","x":`+deepJSON(1100)+`}}`, "")), []string{"more than 100 deep", "offset"}},
		{"JSON nested 150 deep in task config", "PUT", "/v1/jobs", job(group(`{"Name":"t","Driver":"raw_exec","Config":`+deepJSON(150)+`}`, "")), []string{"more than 100 deep"}},
		{"trailing garbage", "PUT", "/v1/jobs", job(group(task(""), "")) + `garbage`, []string{"data after the JSON value"}},
		{"a second object", "PUT", "/v1/jobs", job(group(task(""), "")) + `{}`, []string{"data after the JSON value"}},
		{"TaskGroups:[null]", "PUT", "/v1/jobs", job(`null`), []string{"Job.TaskGroups[0] is null"}},
		{"Tasks:[null]", "PUT", "/v1/jobs", job(group(`null`, "")), []string{"Job.TaskGroups[0].Tasks[0] is null"}},
		{"Constraints:[null]", "PUT", "/v1/jobs", job(group(task(`,"Constraints":[null]`), "")), []string{"Tasks[0].Constraints[0] is null"}},
		{"Networks:[null]", "PUT", "/v1/jobs", job(group(task(""), `,"Networks":[null]`)), []string{"Job.TaskGroups[0].Networks[0] is null"}},
		{"Templates:[null]", "PUT", "/v1/jobs", job(group(task(`,"Templates":[null]`), "")), []string{"Tasks[0].Templates[0] is null"}},
		{"SpreadTarget:[null]", "PUT", "/v1/jobs", job(group(task(""), `,"Spreads":[{"Attribute":"x","SpreadTarget":[null]}]`)), []string{"Spreads[0].SpreadTarget[0] is null"}},
		{"plan with Tasks:[null]", "PUT", "/v1/job/j/plan", job(group(`null`, "")), []string{"Tasks[0] is null"}},
		{"validate with TaskGroups:[null]", "PUT", "/v1/validate/job", job(`null`), []string{"TaskGroups[0] is null"}},
	}
	for _, c := range cases {
		code, msg := send(t, addr, c.method, c.path, "", c.body)
		if code != http.StatusBadRequest {
			t.Errorf("%s: %s %s got %d %.300q, want 400", c.name, c.method, c.path, code, msg)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: message %.300q does not say %q", c.name, msg, w)
			}
		}
	}
	if code, msg := send(t, addr, "GET", "/v1/agent/health", "", ""); code != http.StatusOK {
		t.Errorf("agent health after the bad bodies: %d %s", code, msg)
	}
	// A good body still registers, with trailing white space.
	if code, msg := send(t, addr, "PUT", "/v1/jobs", "", job(group(task(""), ""))+"\n \n"); code != http.StatusOK {
		t.Errorf("good job: %d %s", code, msg)
	}
}
