package agent

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestMetricsOfARunningCluster: a dev agent that ran a service job reports,
// in Prometheus text and in Nomad's JSON, what an operator pages on: FSM
// applies by message type, Raft (through the go-metrics bridge), broker
// and plan queue depths, nodes and allocations by status, the client's
// driver start latency and running tasks, and HTTP requests labelled by
// route template rather than by path.
func TestMetricsOfARunningCluster(t *testing.T) {
	a := startDevAgent(t)
	ctx := context.Background()
	c, err := api.NewClient(api.Config{Address: "http://" + a.HTTPAddr()})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dev node to be ready", 30*time.Second, func() (bool, string) {
		nodes, _, err := c.ListNodes(ctx, nil)
		return err == nil && len(nodes) == 1 && nodes[0].Status == structs.NodeStatusReady, "not ready"
	})
	job := &structs.Job{ID: "metered", Type: structs.JobTypeService, Datacenters: []string{"dc1"}, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec", Config: map[string]any{
			"command": "/bin/sleep", "args": []any{"300"},
		}}},
	}}}
	if _, err := c.RegisterJob(ctx, &structs.JobRegisterRequest{Job: job}); err != nil {
		t.Fatalf("register: %v", err)
	}
	waitFor(t, "the allocation to run", 60*time.Second, func() (bool, string) {
		allocs, _, err := c.JobAllocations(ctx, "metered", nil)
		return err == nil && len(allocs) == 1 && allocs[0].ClientStatus == structs.AllocClientStatusRunning, "not running"
	})
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get("http://" + a.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		return string(b)
	}
	// The alloc runner reports running through the session: wait for the
	// client-side gauges too.
	var prom string
	waitFor(t, "the client's metrics to show the running task", 30*time.Second, func() (bool, string) {
		prom = get("/v1/metrics?format=prometheus")
		return strings.Contains(prom, `nomadlike_client_tasks_running{driver="raw_exec"} 1`), "no running raw_exec task in the metrics"
	})
	for _, want := range []string{
		`nomadlike_fsm_apply_seconds_count{type="JobRegisterRequest"} 1`,
		`nomadlike_fsm_apply_seconds_count{type="ApplyPlanResultsRequest"}`,
		`nomadlike_server_is_leader 1`,
		`nomadlike_broker_evals{state="ready"}`,
		`nomadlike_broker_evals{state="blocked"} 0`,
		`nomadlike_plan_queue_depth 0`,
		`nomadlike_plan_evaluate_seconds_count 1`,
		`nomadlike_worker_dequeue_to_ack_seconds_count{outcome="ack",type="service"} 1`,
		`nomadlike_nodes{status="ready"} 1`,
		`nomadlike_allocations{client_status="running"} 1`,
		`nomadlike_client_driver_start_seconds_count{driver="raw_exec"} 1`,
		`nomadlike_client_alloc_start_seconds_count 1`,
		`nomadlike_client_allocations{client_status="running"} 1`,
		`nomadlike_http_requests_total{code="200",method="PUT",route="/v1/jobs"} 1`,
		`route="/v1/job/{id}/allocations"`,
		`nomadlike_http_blocking_queries_in_flight`,
		`nomad_raft_apply`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(prom, want) {
			t.Errorf("Prometheus metrics lack %s", want)
		}
	}
	if strings.Contains(prom, `route="/v1/job/metered`) {
		t.Errorf("an HTTP route label holds a job ID (labels must be route templates)")
	}
	js := get("/v1/metrics")
	for _, want := range []string{`"Name":"nomadlike_nodes"`, `"Name":"nomadlike_fsm_apply_seconds"`, `"Gauges":`, `"Samples":`} {
		if !strings.Contains(js, want) {
			t.Errorf("JSON metrics lack %s", want)
		}
	}
}
