package agent

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// TestCompatPauseBrokerAndDeleteEvals pauses the eval broker through the
// scheduler configuration, deletes evaluations by ID and by filter as
// `nomad eval delete` does, and resumes the broker, through HashiCorp's
// official Go client.
func TestCompatPauseBrokerAndDeleteEvals(t *testing.T) {
	a := startDevAgent(t)
	c, err := nomad.NewClient(&nomad.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	register := func(id string) string {
		t.Helper()
		j := nomad.NewBatchJob(id, id, "global", 50)
		j.AddTaskGroup(nomad.NewTaskGroup("g", 1).AddTask(nomad.NewTask("t", "raw_exec").SetConfig("command", "/bin/true")))
		resp, _, err := c.Jobs().Register(j, nil)
		if err != nil {
			t.Fatalf("Register %s: %v", id, err)
		}
		return resp.EvalID
	}
	evalStatus := func(id string) string {
		t.Helper()
		e, _, err := c.Evaluations().Info(id, nil)
		if err != nil {
			t.Fatalf("eval %s: %v", id, err)
		}
		return e.Status
	}
	setPaused := func(paused bool) {
		t.Helper()
		cur, _, err := c.Operator().SchedulerGetConfiguration(nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg := cur.SchedulerConfig
		cfg.PauseEvalBroker = paused
		if resp, _, err := c.Operator().SchedulerSetConfiguration(cfg, nil); err != nil || !resp.Updated {
			t.Fatalf("set PauseEvalBroker=%v: %+v, %v", paused, resp, err)
		}
	}

	// Not paused: refused with Nomad's message.
	first := register("first")
	waitFor(t, "the first eval to complete", 30*time.Second, func() (bool, string) {
		s := evalStatus(first)
		return s == "complete", s
	})
	if _, err := c.Evaluations().Delete([]string{first}, nil); err == nil ||
		!strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "eval broker is enabled; eval broker must be paused to delete evals") {
		t.Fatalf("Delete while the broker runs: %v, want a 400", err)
	}

	setPaused(true)
	got, _, err := c.Operator().SchedulerGetConfiguration(nil)
	if err != nil || !got.SchedulerConfig.PauseEvalBroker {
		t.Fatalf("configuration after pausing: %+v, %v", got, err)
	}
	// Paused: new evaluations stay pending.
	var pending []string
	for i := 0; i < 3; i++ {
		pending = append(pending, register(fmt.Sprintf("paused-%d", i)))
	}
	stats := func() string {
		self, err := c.Agent().Self()
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(self.Stats["nomad"])
	}
	if s := evalStatus(pending[0]); s != "pending" {
		t.Errorf("eval registered while paused is %q, want pending (%s)", s, stats())
	}
	if s := stats(); !strings.Contains(s, "broker_paused:true") {
		t.Errorf("agent self stats do not say the broker is paused: %s", s)
	}

	// Bad requests, as Nomad answers them.
	for _, tc := range []struct {
		what string
		req  *nomad.EvalDeleteRequest
		want string
	}{
		{"neither", &nomad.EvalDeleteRequest{}, "evals must be deleted by either ID or filter"},
		{"both", &nomad.EvalDeleteRequest{EvalIDs: []string{first}, Filter: `Status == "pending"`}, "evals cannot be deleted by both ID and filter"},
		{"bad filter", &nomad.EvalDeleteRequest{Filter: `Status ==`}, "filter"},
		{"unknown ID", &nomad.EvalDeleteRequest{EvalIDs: []string{"00000000-0000-0000-0000-000000000000"}}, "not found"},
	} {
		if _, _, err := c.Evaluations().DeleteOpts(tc.req, nil); err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "500") {
			t.Errorf("%s: %v, want a 4xx with %q", tc.what, err, tc.want)
		}
	}

	// ?filter= in the query, without a body (curl users): paused-2 only.
	req, err := http.NewRequest(http.MethodDelete, "http://"+a.HTTPAddr()+"/v1/evaluations?filter="+
		url.QueryEscape(`JobID == "paused-2"`), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(raw.Body)
	raw.Body.Close()
	if raw.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != `{"Count":1}` {
		t.Fatalf("DELETE ?filter=: %d %s", raw.StatusCode, body)
	}

	// By ID (`nomad eval delete <id>`).
	if _, err := c.Evaluations().Delete([]string{pending[0]}, nil); err != nil {
		t.Fatalf("Delete by ID: %v", err)
	}
	if _, _, err := c.Evaluations().Info(pending[0], nil); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("deleted eval still readable: %v", err)
	}
	// By filter (`nomad eval delete -filter`): the CLI counts them first,
	// then deletes them (the one pending eval left of the three).
	filter := `Status == "pending" and JobID matches "^paused-"`
	if n, _, err := c.Evaluations().Count(&nomad.QueryOptions{Filter: filter}); err != nil || n.Count != 1 {
		t.Errorf("Count(filter): %+v, %v; want 1", n, err)
	}
	all, _, err := c.Evaluations().List(nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _, err := c.Evaluations().Count(nil); err != nil || n.Count != len(all) {
		t.Errorf("Count(): %+v, %v; want %d, as many as the list", n, err, len(all))
	}
	resp, _, err := c.Evaluations().DeleteOpts(&nomad.EvalDeleteRequest{Filter: filter}, nil)
	if err != nil || resp.Count != 1 {
		t.Fatalf("DeleteOpts by filter: %+v, %v; want 1 deleted", resp, err)
	}
	left, _, err := c.Evaluations().List(&nomad.QueryOptions{Params: map[string]string{"status": "pending"}})
	if err != nil || len(left) != 0 {
		t.Errorf("pending evals after the deletes: %d, %v", len(left), err)
	}

	// Resumed: an eval left pending while paused is scheduled.
	later := register("later")
	setPaused(false)
	waitFor(t, "the eval left pending while paused to complete after resuming", 30*time.Second, func() (bool, string) {
		s := evalStatus(later)
		return s == "complete", s + " " + stats()
	})
	if _, err := c.Evaluations().Delete([]string{later}, nil); err == nil || !strings.Contains(err.Error(), "must be paused") {
		t.Errorf("Delete after resuming: %v, want refused", err)
	}
}
