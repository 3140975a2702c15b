package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// evalTriggerPeriodicJob is the trigger of a periodic child's evaluation (Nomad's).
const evalTriggerPeriodicJob = "periodic-job"

// periodicRetryDelay is how long the dispatcher waits after it could not
// read the state.
const periodicRetryDelay = time.Second

// errPeriodicOverlap is returned when a launch is skipped because of
// prohibit_overlap.
var errPeriodicOverlap = errors.New("a previous launch is still running and the job prohibits overlap")

// armedLaunch is the dispatcher's next launch of one periodic job, computed
// from the job version with JobModifyIndex jobIndex.
type armedLaunch struct {
	at       time.Time
	jobIndex uint64
}

// periodicDispatcher launches periodic jobs' children on the leader. It
// lives in runPeriodicDispatcher's goroutine; the state (jobs and their
// last launches) is the truth, so it is rebuilt on every leadership change.
type periodicDispatcher struct {
	srv   *Server
	armed map[jobKey]armedLaunch
}

// runPeriodicDispatcher launches periodic jobs until ctx ends: it arms a
// launch for each enabled, running periodic job, sleeps until the earliest
// one or until the jobs table changes (a job registered, updated, stopped or
// purged), and launches what is due.
func (s *Server) runPeriodicDispatcher(ctx context.Context) {
	d := &periodicDispatcher{srv: s, armed: map[jobKey]armedLaunch{}}
	for ctx.Err() == nil {
		ws := memdb.NewWatchSet()
		jobs, err := s.state.PeriodicJobs(ws)
		if err != nil {
			s.logger.Error("periodic dispatcher: could not list jobs", "error", err)
			sleepCtx(ctx, periodicRetryDelay)
			continue
		}
		wake := d.step(ctx, jobs, time.Now())
		wait := time.Duration(-1)
		if !wake.IsZero() {
			wait = max(time.Until(wake), 0)
		}
		waitForChange(ctx, ws, wait)
	}
}

// sleepCtx waits for d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// step arms every periodic job, launches those due at now and returns the
// earliest armed launch (zero when none).
func (d *periodicDispatcher) step(ctx context.Context, jobs []*structs.Job, now time.Time) time.Time {
	seen := map[jobKey]bool{}
	var wake time.Time
	for _, job := range jobs {
		if !job.IsPeriodic() || job.Stop {
			continue
		}
		k := jobKey{job.Namespace, job.ID}
		seen[k] = true
		a, ok := d.armed[k]
		if !ok || a.jobIndex != job.JobModifyIndex {
			last, err := d.srv.state.PeriodicLaunchByID(nil, job.Namespace, job.ID)
			if err != nil {
				d.srv.logger.Error("periodic dispatcher: could not read the last launch", "job", job.ID, "error", err)
				continue
			}
			var lastAt time.Time
			if last != nil {
				lastAt = last.Launch
			}
			at, err := nextLaunch(job.Periodic, now, lastAt)
			if err != nil {
				d.srv.logger.Error("periodic dispatcher: bad spec", "job", job.ID, "error", err)
				continue
			}
			a = armedLaunch{at: at, jobIndex: job.JobModifyIndex}
		}
		if !a.at.IsZero() && !a.at.After(now) {
			d.launch(ctx, job, a.at)
			next, err := nextLaunch(job.Periodic, now, a.at)
			if err != nil {
				next = time.Time{}
			}
			a.at = next
		}
		d.armed[k] = a
		if !a.at.IsZero() && (wake.IsZero() || a.at.Before(wake)) {
			wake = a.at
		}
	}
	for k := range d.armed {
		if !seen[k] {
			delete(d.armed, k)
		}
	}
	return wake
}

// launch starts one child of job for launch time at, unless overlap is
// prohibited and an earlier child is still alive.
func (d *periodicDispatcher) launch(ctx context.Context, job *structs.Job, at time.Time) {
	if job.Periodic.ProhibitOverlap {
		alive, err := d.srv.liveChild(job)
		if err != nil {
			d.srv.logger.Error("periodic dispatcher: could not list children", "job", job.ID, "error", err)
			return
		}
		if alive != "" {
			d.srv.logger.Info("periodic dispatcher: skipping launch", "job", job.ID, "launch", at,
				"reason", errPeriodicOverlap, "running_child", alive)
			return
		}
	}
	resp, err := d.srv.launchPeriodicChild(ctx, job, at, time.Now())
	if err != nil {
		d.srv.logger.Error("periodic dispatcher: launch failed", "job", job.ID, "launch", at, "error", err)
		return
	}
	d.srv.logger.Info("launched periodic job", "job", job.ID, "launch", at, "eval", resp.EvalID)
}

// nextLaunch is the first launch strictly after the later of now and the
// last launch, in the spec's time zone (zero when the spec never fires again).
func nextLaunch(p *structs.PeriodicConfig, now, last time.Time) (time.Time, error) {
	from := now
	if last.After(from) {
		from = last
	}
	return p.Next(from)
}

// liveChild returns the ID of a child of job that is not dead, or "".
func (s *Server) liveChild(job *structs.Job) (string, error) {
	children, err := s.state.ChildJobs(nil, job.Namespace, job.ID)
	if err != nil {
		return "", err
	}
	for _, c := range children {
		if c.Status != structs.JobStatusDead {
			return c.ID, nil
		}
	}
	return "", nil
}

// deriveChildJob returns a new, not yet registered child of parent named
// id (periodic and dispatched children): a copy of parent with the
// server-owned fields reset, submitted at now.
func deriveChildJob(parent *structs.Job, id string, now time.Time) *structs.Job {
	child := parent.Copy()
	child.ID = id
	child.Name = id
	child.ParentID = parent.ID
	child.Stop = false
	child.Status, child.StatusDescription, child.Stable = "", "", false
	child.Version, child.CreateIndex, child.ModifyIndex, child.JobModifyIndex = 0, 0, 0, 0
	child.SubmitTime = now.UnixNano()
	return child
}

// derivePeriodicChild returns the child of a periodic job launched at t:
// the same job without its periodic block, under its own ID.
func derivePeriodicChild(job *structs.Job, t time.Time, now time.Time) *structs.Job {
	child := deriveChildJob(job, structs.PeriodicChildID(job.ID, t), now)
	child.Periodic = nil
	return child
}

// launchPeriodicChild registers the child of job for launch time at with
// its evaluation, then records the launch. now stamps the objects. The
// child's entry carries ctx's request ID (a forced launch's): a retry that
// raced the first attempt into Raft is answered with the first child.
func (s *Server) launchPeriodicChild(ctx context.Context, job *structs.Job, at, now time.Time) (*structs.PeriodicForceResponse, error) {
	child := derivePeriodicChild(job, at, now)
	assignScalingPolicyIDs(child, nil)
	eval := jobEval(child, evalTriggerPeriodicJob, now)
	req := &structs.JobRegisterRequest{Job: child, Eval: eval, SubmitTime: child.SubmitTime, Once: s.writeOnceOf(ctx)}
	index, repeat, err := s.raftApplyOnce(ctx, structs.JobRegisterRequestType, req, req.Once)
	if err != nil {
		return nil, fmt.Errorf("register child %q of periodic job %q: %w", child.ID, job.ID, err)
	}
	if repeat != nil {
		return forceReply(repeat), nil
	}
	launch := &structs.PeriodicLaunchRequest{Launch: structs.PeriodicLaunch{ID: job.ID, Namespace: job.Namespace, Launch: at}}
	lindex, err := s.raftApply(ctx, structs.PeriodicLaunchRequestType, launch)
	if err != nil {
		return nil, fmt.Errorf("record launch of periodic job %q: %w", job.ID, err)
	}
	return &structs.PeriodicForceResponse{EvalID: eval.ID, EvalCreateIndex: index, Index: lindex}, nil
}

// ForcePeriodicJob launches a child of a periodic job now, regardless of
// its schedule and of prohibit_overlap (PUT /v1/job/{id}/periodic/force).
func (s *Server) ForcePeriodicJob(ctx context.Context, namespace, jobID string) (*structs.PeriodicForceResponse, error) {
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	// A retry of a forced launch applied before answers with its child's
	// evaluation and launches nothing.
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return nil, err
		}
		return forceReply(rec), nil
	}
	job, err := s.currentJob(namespace, jobID, "force launch of job")
	if err != nil {
		return nil, err
	}
	if !job.IsPeriodic() {
		return nil, structs.NewBadRequest("job %q is not periodic: only a job with an enabled periodic block can be force-launched; a job without one runs when it is registered", jobID)
	}
	if job.Stop {
		return nil, structs.NewBadRequest("job %q is stopped: run it again before forcing a launch", jobID)
	}
	now := time.Now()
	return s.launchPeriodicChild(ctx, job, now.Truncate(time.Second), now)
}
