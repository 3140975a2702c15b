package server

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func periodicJob(id, spec string, overlap bool) *structs.Job {
	j := mockJob(id, 1, 100, 64)
	j.Type = structs.JobTypeBatch
	j.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: spec, ProhibitOverlap: overlap}
	return j
}

func TestNextLaunch(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skipf("no tzdata: %v", err)
	}
	p := &structs.PeriodicConfig{Enabled: true, Spec: "0 3 * * *", TimeZone: "America/New_York"}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC) // 08:00 in New York
	got, err := nextLaunch(p, now, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 6, 2, 3, 0, 0, 0, ny); !got.Equal(want) {
		t.Errorf("next = %v, want %v (03:00 New York)", got, want)
	}
	// A last launch later than now wins.
	last := time.Date(2026, 6, 5, 3, 0, 0, 0, ny)
	if got, _ = nextLaunch(p, now, last); !got.Equal(last.AddDate(0, 0, 1)) {
		t.Errorf("next after last = %v, want %v", got, last.AddDate(0, 0, 1))
	}
	// A seconds field needs 7 fields (6 fields are minutes..years).
	sec := &structs.PeriodicConfig{Enabled: true, Spec: "*/2 * * * * * *"}
	if got, _ = nextLaunch(sec, now, time.Time{}); !got.Equal(now.Add(2 * time.Second)) {
		t.Errorf("seconds spec: next = %v, want %v", got, now.Add(2*time.Second))
	}
}

func TestTemplateJobsGetNoEval(t *testing.T) {
	s := newTestServer(t, nil)
	resp := registerJob(t, s, periodicJob("cron", "0 0 1 1 *", false))
	if resp.EvalID != "" {
		t.Errorf("periodic register EvalID = %q, want none", resp.EvalID)
	}
	job, _ := s.state.JobByID(nil, "", "cron")
	if job.Status != structs.JobStatusRunning {
		t.Errorf("status = %q, want running", job.Status)
	}
	evals, _ := s.state.EvalsByJob(nil, "default", "cron")
	if len(evals) != 0 {
		t.Errorf("%d evals for a template job, want 0", len(evals))
	}
	sum, _ := s.state.JobSummaryByID(nil, "", "cron")
	if sum == nil || sum.Children == nil {
		t.Fatalf("summary %+v has no Children", sum)
	}
}

func TestForcePeriodicAndChildren(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	registerJob(t, s, periodicJob("cron", "0 0 1 1 *", true))
	resp, err := s.ForcePeriodicJob(ctx, "", "cron")
	if err != nil {
		t.Fatal(err)
	}
	if resp.EvalID == "" {
		t.Fatal("force returned no eval")
	}
	children, _ := s.state.ChildJobs(nil, "default", "cron")
	if len(children) != 1 {
		t.Fatalf("%d children, want 1", len(children))
	}
	c := children[0]
	if c.ParentID != "cron" || c.Periodic != nil || !strings.HasPrefix(c.ID, "cron/periodic-") {
		t.Errorf("child %q parent %q periodic %v", c.ID, c.ParentID, c.Periodic)
	}
	sum, _ := s.state.JobSummaryByID(nil, "", "cron")
	if sum.Children == nil || sum.Children.Pending+sum.Children.Running != 1 {
		t.Errorf("children summary %+v, want one pending or running", sum.Children)
	}
	l, _ := s.state.PeriodicLaunchByID(nil, "", "cron")
	if l == nil || l.Launch.IsZero() {
		t.Errorf("launch not recorded: %+v", l)
	}
	// The live child prohibits an overlapping launch by the dispatcher.
	if alive, _ := s.liveChild(mustJob(t, s, "cron")); alive != c.ID {
		t.Errorf("liveChild = %q, want %q", alive, c.ID)
	}

	// Errors: not periodic, unknown.
	registerJob(t, s, mockJob("svc", 1, 100, 64))
	_, err = s.ForcePeriodicJob(ctx, "", "svc")
	wantCode(t, err, http.StatusBadRequest, "not periodic")
	_, err = s.ForcePeriodicJob(ctx, "", "nope")
	wantCode(t, err, http.StatusNotFound, "not found")
}

func TestPeriodicDispatcherLaunches(t *testing.T) {
	s := newTestServer(t, nil)
	registerJob(t, s, periodicJob("tick", "* * * * * * *", false))
	waitFor(t, 10*time.Second, "two periodic children", func() (bool, string) {
		c, _ := s.state.ChildJobs(nil, "default", "tick")
		return len(c) >= 2, "children so far: " + strconv.Itoa(len(c))
	})
	// Stopping the job disarms it.
	if _, err := s.DeregisterJob(context.Background(), "", "tick", false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "job stopped", func() (bool, string) {
		return mustJob(t, s, "tick").Stop, "not stopped"
	})
	// A dispatcher step over the stopped job drops its armed launch.
	d := &periodicDispatcher{srv: s, armed: map[jobKey]armedLaunch{{"default", "tick"}: {at: time.Now().Add(-time.Second)}}}
	if wake := d.step(context.Background(), []*structs.Job{mustJob(t, s, "tick")}, time.Now()); !wake.IsZero() || len(d.armed) != 0 {
		t.Errorf("stopped job still armed: wake %v, armed %+v", wake, d.armed)
	}
}

func TestDispatcherSkipsOverlap(t *testing.T) {
	s := newTestServer(t, nil)
	job := periodicJob("ov", "0 0 1 1 *", true)
	registerJob(t, s, job)
	if _, err := s.ForcePeriodicJob(context.Background(), "", "ov"); err != nil {
		t.Fatal(err)
	}
	d := &periodicDispatcher{srv: s, armed: map[jobKey]armedLaunch{}}
	stored := mustJob(t, s, "ov")
	d.armed[jobKey{"default", "ov"}] = armedLaunch{at: time.Now().Add(-time.Second), jobIndex: stored.JobModifyIndex}
	d.step(context.Background(), []*structs.Job{stored}, time.Now())
	if c, _ := s.state.ChildJobs(nil, "default", "ov"); len(c) != 1 {
		t.Errorf("%d children after an overlapping launch, want 1 (skipped)", len(c))
	}
	if a := d.armed[jobKey{"default", "ov"}]; a.at.Before(time.Now()) {
		t.Errorf("not re-armed after the skipped launch: %v", a.at)
	}
}

func TestDispatchJob(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	p := mockJob("param", 1, 100, 64)
	p.Type = structs.JobTypeBatch
	p.Meta = map[string]string{"base": "1", "who": "parent"}
	p.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"who"}, MetaOptional: []string{"x"}}
	if r := registerJob(t, s, p); r.EvalID != "" {
		t.Errorf("parameterized register made eval %q", r.EvalID)
	}

	_, err := s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "param", Payload: []byte("hi")})
	wantCode(t, err, http.StatusBadRequest, "missing required meta keys: who")
	_, err = s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "param", Meta: map[string]string{"who": "me"}})
	wantCode(t, err, http.StatusBadRequest, "requires a payload")
	_, err = s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "param", Payload: []byte("x"), Meta: map[string]string{"who": "me", "bad": "1"}})
	wantCode(t, err, http.StatusBadRequest, "bad")
	if c, _ := s.state.ChildJobs(nil, "default", "param"); len(c) != 0 {
		t.Fatalf("failed dispatches created %d children", len(c))
	}

	req := &structs.JobDispatchRequest{JobID: "param", Payload: []byte("hello"), Meta: map[string]string{"who": "me"}, IdempotencyToken: "tok"}
	resp, err := s.DispatchJob(ctx, "", req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.EvalID == "" || !strings.HasPrefix(resp.DispatchedJobID, "param/dispatch-") {
		t.Fatalf("resp %+v", resp)
	}
	child := mustJob(t, s, resp.DispatchedJobID)
	if !child.Dispatched || string(child.Payload) != "hello" || child.Meta["who"] != "me" || child.Meta["base"] != "1" || child.ParentID != "param" {
		t.Errorf("child %+v", child)
	}
	again, err := s.DispatchJob(ctx, "", req)
	if err != nil {
		t.Fatal(err)
	}
	if again.DispatchedJobID != resp.DispatchedJobID || again.EvalID != "" {
		t.Errorf("idempotent dispatch = %+v, want the first child %q without an eval", again, resp.DispatchedJobID)
	}

	registerJob(t, s, mockJob("svc", 1, 100, 64))
	_, err = s.DispatchJob(ctx, "", &structs.JobDispatchRequest{JobID: "svc"})
	wantCode(t, err, http.StatusBadRequest, "not parameterized")
}

func TestScaleJob(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	registerJob(t, s, mockJob("web", 1, 100, 64))
	n := func(v int64) *int64 { return &v }
	resp, err := s.ScaleJob(ctx, "", "web", &structs.ScalingRequest{Count: n(3), Target: map[string]string{"Group": "web"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.EvalID == "" {
		t.Error("scale made no eval")
	}
	job := mustJob(t, s, "web")
	if job.TaskGroups[0].Count != 3 || job.Version != 1 {
		t.Errorf("count %d version %d, want 3 and 1", job.TaskGroups[0].Count, job.Version)
	}
	_, err = s.ScaleJob(ctx, "", "web", &structs.ScalingRequest{Count: n(1), Target: map[string]string{"Group": "db"}})
	wantCode(t, err, http.StatusBadRequest, `its groups are "web"`)
	_, err = s.ScaleJob(ctx, "", "web", &structs.ScalingRequest{Count: n(-1), Target: map[string]string{"Group": "web"}})
	wantCode(t, err, http.StatusBadRequest, "negative")
	_, err = s.ScaleJob(ctx, "", "web", &structs.ScalingRequest{Count: n(2), Error: true, Target: map[string]string{"Group": "web"}})
	wantCode(t, err, http.StatusBadRequest, "should not contain count")
	// Without a count (an error report), only the event is recorded.
	resp2, err := s.ScaleJob(ctx, "", "web", &structs.ScalingRequest{Error: true, Message: "no metrics", Target: map[string]string{"Group": "web"}})
	if err != nil || resp2.EvalID != "" {
		t.Fatalf("error-only scale: %+v, %v; want no eval", resp2, err)
	}
	if job := mustJob(t, s, "web"); job.TaskGroups[0].Count != 3 || job.Version != 1 {
		t.Errorf("after an error-only scale: count %d version %d, want 3 and 1", job.TaskGroups[0].Count, job.Version)
	}
	evs, err := s.state.ScalingEventsByJob(nil, "default", "web")
	if err != nil || evs == nil || len(evs.ScalingEvents["web"]) != 2 {
		t.Fatalf("scaling events %+v, %v; want 2 for group web", evs, err)
	}
	newest, first := evs.ScalingEvents["web"][0], evs.ScalingEvents["web"][1]
	if !newest.Error || newest.Count != nil || newest.PreviousCount != 3 || newest.Message != "no metrics" || newest.EvalID != nil {
		t.Errorf("error event %+v", newest)
	}
	if first.Error || first.Count == nil || *first.Count != 3 || first.PreviousCount != 1 || first.EvalID == nil || *first.EvalID != resp.EvalID || first.CreateIndex == 0 || first.Time == 0 {
		t.Errorf("scale event %+v, want count 3 from 1 with eval %s", first, resp.EvalID)
	}

	sys := mockJob("sys", 1, 100, 64)
	sys.Type = structs.JobTypeSystem
	registerJob(t, s, sys)
	_, err = s.ScaleJob(ctx, "", "sys", &structs.ScalingRequest{Count: n(2), Target: map[string]string{"Group": "web"}})
	wantCode(t, err, http.StatusBadRequest, "system job")
	registerJob(t, s, periodicJob("cron", "0 0 1 1 *", false))
	_, err = s.ScaleJob(ctx, "", "cron", &structs.ScalingRequest{Count: n(2), Target: map[string]string{"Group": "web"}})
	wantCode(t, err, http.StatusBadRequest, "periodic or parameterized")
	_, err = s.ScaleJob(ctx, "", "nope", &structs.ScalingRequest{Count: n(2), Target: map[string]string{"Group": "web"}})
	wantCode(t, err, http.StatusNotFound, "not found")
}

func mustJob(t *testing.T, s *Server, id string) *structs.Job {
	t.Helper()
	j, err := s.state.JobByID(nil, "", id)
	if err != nil || j == nil {
		t.Fatalf("job %q: %v %v", id, j, err)
	}
	return j
}

func wantCode(t *testing.T, err error, code int, substr string) {
	t.Helper()
	var ce *structs.CodedError
	if !errors.As(err, &ce) || ce.Code != code {
		t.Fatalf("err = %v, want a %d CodedError", err, code)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Errorf("err = %q, want it to mention %q", err, substr)
	}
}

// BenchmarkPeriodicStep measures one dispatcher pass over 1000 armed
// periodic jobs with nothing due: the work done on every jobs table change.
func BenchmarkPeriodicStep(b *testing.B) {
	st, err := state.NewStore()
	if err != nil {
		b.Fatal(err)
	}
	s := &Server{state: st, logger: discardLogger()}
	d := &periodicDispatcher{srv: s, armed: map[jobKey]armedLaunch{}}
	jobs := make([]*structs.Job, 1000)
	for i := range jobs {
		j := periodicJob("p"+strconv.Itoa(i), "0 0 1 1 *", false)
		j.Canonicalize()
		j.JobModifyIndex = 1
		jobs[i] = j
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	d.step(context.Background(), jobs, now)
	b.ResetTimer()
	for b.Loop() {
		d.step(context.Background(), jobs, now)
	}
}
