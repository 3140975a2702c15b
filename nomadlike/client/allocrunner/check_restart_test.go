package allocrunner

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestRestartWatch(t *testing.T) {
	start := time.Unix(1000, 0)
	w := newRestartWatch(&structs.CheckRestart{Limit: 2, Grace: 10 * time.Second})
	steps := []struct {
		status  string
		warning bool
		at      time.Duration
		want    bool
	}{
		{structs.CheckFailure, false, 5 * time.Second, false}, // in grace: not counted
		{structs.CheckFailure, false, 11 * time.Second, false},
		{structs.CheckSuccess, false, 12 * time.Second, false}, // resets
		{structs.CheckFailure, false, 13 * time.Second, false},
		{structs.CheckPending, false, 14 * time.Second, false}, // neither counts nor resets
		{structs.CheckFailure, false, 15 * time.Second, true},  // second consecutive failure
		{structs.CheckFailure, false, 16 * time.Second, false}, // count restarted
		{structs.CheckFailure, true, 17 * time.Second, true},   // a warning counts without ignore_warnings
	}
	for i, s := range steps {
		if got := w.observe(s.status, s.warning, start, start.Add(s.at)); got != s.want {
			t.Errorf("step %d (%s at %v): restart = %v, want %v", i, s.status, s.at, got, s.want)
		}
	}
	w = newRestartWatch(&structs.CheckRestart{Limit: 1, IgnoreWarnings: true})
	if w.observe(structs.CheckFailure, true, start, start) {
		t.Error("ignore_warnings: a warning must not restart")
	}
	if !w.observe(structs.CheckFailure, false, start, start) {
		t.Error("limit 1: the first failure restarts")
	}
	if newRestartWatch(&structs.CheckRestart{Limit: 0}) != nil || newRestartWatch(nil).observe(structs.CheckFailure, false, start, start) {
		t.Error("limit 0 or no block: never restart")
	}
}

// TestCheckRestartFailsTaskPerPolicy runs a task whose tcp check can never
// pass: check_restart restarts it after two failures, counted against the
// restart policy, which fails the task after its one attempt.
func TestCheckRestartFailsTaskPerPolicy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	_ = l.Close() // nothing listens: the check fails

	task := shTask("web", "", false, "sleep 60")
	task.Services = []*structs.Service{{Name: "api", PortLabel: "http", Checks: []*structs.ServiceCheck{
		{Name: "port", Type: "tcp", Interval: time.Second, Timeout: time.Second,
			CheckRestart: &structs.CheckRestart{Limit: 2, Grace: time.Millisecond}},
	}}}
	job := &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{task},
		Networks:      []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}},
		RestartPolicy: &structs.RestartPolicy{Attempts: 1, Interval: time.Hour, Delay: 10 * time.Millisecond, Mode: structs.RestartModeFail},
	}}}
	r := startServiceRunnerPort(t, job, newFakeDiscovery(), port)
	r.wait(t)
	st := r.Alloc().TaskStates["web"]
	if st.State != structs.TaskStateDead || !st.Failed || st.Restarts != 1 {
		t.Fatalf("task state %s failed=%v restarts=%d, want dead, failed, 1 restart", st.State, st.Failed, st.Restarts)
	}
	var signaled, notRestarting bool
	for _, ev := range st.Events {
		signaled = signaled || ev.Type == structs.TaskRestartSignal && ev.RestartReason == CheckRestartReason("port")
		notRestarting = notRestarting || ev.Type == structs.TaskNotRestarting
	}
	if !signaled || !notRestarting {
		t.Errorf("events: want a restart signal for the check and a not-restarting event, got %+v", st.Events)
	}
}

// TestScriptCheckAndInterpolation runs a group service named with
// ${NOMAD_JOB_NAME} whose script check runs in the task: exit 0 passes,
// exit 1 is a warning that on_update = "ignore_warnings" forgives.
func TestScriptCheckAndInterpolation(t *testing.T) {
	task := shTask("web", "", false, "sleep 60")
	task.Env = map[string]string{"CHECK_EXIT": "0"}
	job := &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{task},
		Services: []*structs.Service{{Name: "${NOMAD_JOB_NAME}-api", Tags: []string{"${node.datacenter}"}, Checks: []*structs.ServiceCheck{
			{Name: "ok", Type: "script", TaskName: "web", Command: "/bin/sh", Args: []string{"-c", "echo fine; exit $CHECK_EXIT"},
				Interval: time.Second, Timeout: 5 * time.Second},
			{Name: "warn", Type: "script", TaskName: "web", Command: "/bin/sh", Args: []string{"-c", "exit 1"},
				Interval: time.Second, Timeout: 5 * time.Second, OnUpdate: structs.OnUpdateIgnoreWarn},
		}}},
	}}}
	sd := newFakeDiscovery()
	r := startServiceRunner(t, job, sd)
	waitUntil(t, "both script checks ran", func() bool {
		n := 0
		for _, res := range r.Checks() {
			if res.Status != structs.CheckPending {
				n++
			}
		}
		return n == 2
	})
	for _, res := range r.Checks() {
		if res.Service != "svc-api" {
			t.Errorf("check %q: service %q, want the interpolated svc-api", res.Check, res.Service)
		}
		switch res.Check {
		case "ok":
			if res.Status != structs.CheckSuccess || !strings.Contains(res.Output, "fine") {
				t.Errorf("ok: %+v", res)
			}
		case "warn":
			if res.Status != structs.CheckFailure || !strings.Contains(res.Output, "warning") {
				t.Errorf("warn: %+v", res)
			}
		}
	}
	if bad := r.checks.unhealthy(); len(bad) != 0 {
		t.Errorf("on_update ignore_warnings: a warning must count as healthy, unhealthy: %+v", bad)
	}
	waitUntil(t, "registration", func() bool { return len(sd.registered(r.ID())) == 1 })
	reg := sd.registered(r.ID())[0]
	if reg.ServiceName != "svc-api" || len(reg.Tags) != 1 || reg.Tags[0] != "dc1" {
		t.Errorf("registration %+v, want svc-api tagged dc1", reg)
	}
}

func TestProbeHeaderMethodBody(t *testing.T) {
	var got *http.Request
	var body string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got, body = r, string(b)
	}))
	t.Cleanup(srv.Close)
	c := &structs.ServiceCheck{Type: "http", Method: "POST", Path: "/p", Body: `{"a":1}`, Timeout: 5 * time.Second,
		Header: map[string][]string{"X-Token": {"a", "b"}, "Host": {"example.test"}}}
	if status, _, out := probe(t.Context(), c, srv.Listener.Addr().String()); status != structs.CheckSuccess {
		t.Fatalf("probe: %s %s", status, out)
	}
	if got.Method != "POST" || body != `{"a":1}` || strings.Join(got.Header.Values("X-Token"), ",") != "a,b" || got.Host != "example.test" {
		t.Errorf("request: %s %s host %s headers %v body %q", got.Method, got.URL, got.Host, got.Header, body)
	}
}

func TestServiceAddressModes(t *testing.T) {
	alloc := &structs.Allocation{AllocatedResources: &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
		Ports:    []structs.PortMapping{{Label: "http", Value: 25000, To: 8080, HostIP: "10.0.0.5"}, {Label: "raw", Value: 25001, HostIP: "10.0.0.5"}},
		Networks: []*structs.NetworkResource{{IP: "10.0.0.5"}}}}}
	for _, tt := range []struct {
		label, mode string
		port        int
	}{
		{"http", structs.AddressModeHost, 25000},
		{"http", structs.AddressModeAuto, 25000},
		{"http", structs.AddressModeAlloc, 8080},
		{"http", structs.AddressModeDriver, 8080},
		{"raw", structs.AddressModeAlloc, 25001}, // no "to": the host port
		{"9001", structs.AddressModeAuto, 9001},  // a port number
	} {
		ip, port := serviceAddress(alloc, nil, tt.label, tt.mode)
		if ip != "10.0.0.5" || port != tt.port {
			t.Errorf("%s/%s: %s:%s, want 10.0.0.5:%d", tt.label, tt.mode, ip, strconv.Itoa(port), tt.port)
		}
	}
}

func TestCanaryTags(t *testing.T) {
	b := boundService{svc: &structs.Service{Tags: []string{"live"}, CanaryTags: []string{"canary"}}}
	alloc := &structs.Allocation{}
	if got := b.tags(alloc); got[0] != "live" {
		t.Errorf("not a canary: %v", got)
	}
	alloc.DeploymentStatus = &structs.AllocDeploymentStatus{Canary: true}
	if got := b.tags(alloc); got[0] != "canary" {
		t.Errorf("canary: %v", got)
	}
}
