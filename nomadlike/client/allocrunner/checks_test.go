package allocrunner

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestServiceChecksRun(t *testing.T) {
	var healthy atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" || !healthy.Load() {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	_, p, _ := net.SplitHostPort(srv.Listener.Addr().String())
	port, _ := strconv.Atoi(p)

	task := shTask("web", "", false, "sleep 60")
	task.Services = []*structs.Service{{Name: "api", PortLabel: "http", Checks: []*structs.ServiceCheck{
		{Name: "alive", Type: "http", Path: "/health", Interval: time.Second, Timeout: time.Second},
		{Name: "port", Type: "tcp", Interval: time.Second, Timeout: time.Second},
	}}}
	job := &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{task},
		Networks: []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}},
	}}}
	r := startServiceRunnerPort(t, job, newFakeDiscovery(), port)
	status := func(name string) *structs.CheckQueryResult {
		for _, res := range r.Checks() {
			if res.Check == name {
				return res
			}
		}
		return nil
	}
	waitUntil(t, "tcp success and http failure", func() bool {
		h, c := status("alive"), status("port")
		return h != nil && c != nil && h.Status == structs.CheckFailure && h.StatusCode == 503 && c.Status == structs.CheckSuccess
	})
	healthy.Store(true)
	waitUntil(t, "http success", func() bool { return status("alive").Status == structs.CheckSuccess })
	res := status("alive")
	if res.ID != structs.CheckID(r.ID(), "g", "web", "api", "alive") || res.Task != "web" || res.Service != "api" || res.Group != "svc.g" || res.Mode != "healthiness" {
		t.Errorf("result: %+v", res)
	}
}

func TestWithChecks(t *testing.T) {
	since := time.Unix(1000, 0)
	u := &structs.UpdateStrategy{HealthCheck: structs.UpdateStrategyHealthCheckChecks, MinHealthyTime: 10 * time.Second, HealthyDeadline: time.Minute}
	healthy := healthVerdict{Decided: true, Healthy: true}
	r := &Runner{group: []*structs.Task{{Name: "web"}}}

	if v := r.withChecks(healthy, u, since, since); !v.Healthy {
		t.Errorf("no checks: the task verdict must stand, got %+v", v)
	}
	r.checks.set(&structs.CheckQueryResult{ID: "c", Status: structs.CheckFailure, Task: "web"}, since)
	if v := r.withChecks(healthy, u, since, since.Add(5*time.Second)); v.Decided || !v.Next.Equal(since.Add(time.Minute)) {
		t.Errorf("failing check: got %+v, want undecided until the deadline", v)
	}
	if v := r.withChecks(healthy, u, since, since.Add(time.Minute)); !v.Decided || v.Healthy || v.Events["web"] == "" {
		t.Errorf("failing check at the deadline: got %+v, want unhealthy with an event", v)
	}
	r.checks.set(&structs.CheckQueryResult{ID: "c", Status: structs.CheckSuccess}, since.Add(20*time.Second))
	if v := r.withChecks(healthy, u, since, since.Add(25*time.Second)); v.Decided || !v.Next.Equal(since.Add(30*time.Second)) {
		t.Errorf("passing for 5s: got %+v, want a re-check at min_healthy_time", v)
	}
	if v := r.withChecks(healthy, u, since, since.Add(30*time.Second)); !v.Decided || !v.Healthy {
		t.Errorf("passing for min_healthy_time: got %+v, want healthy", v)
	}
	u.HealthCheck = structs.UpdateStrategyHealthCheckTaskStates
	r.checks.set(&structs.CheckQueryResult{ID: "c", Status: structs.CheckFailure}, since)
	if v := r.withChecks(healthy, u, since, since); !v.Healthy {
		t.Errorf("task_states ignores checks, got %+v", v)
	}
}
