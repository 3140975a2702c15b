package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// availableDrivers are the task drivers nomadlike ships. "docker" and
// "exec" are the container driver under Nomad's names (client plugin
// settings docker_alias and exec_driver turn them off; the scheduler then
// reports the missing driver as it does for any other).
var availableDrivers = map[string]bool{"raw_exec": true, "container": true, "qemu": true, "docker": true, "exec": true}

// driverAdvice explains what to use instead of a Nomad driver nomadlike lacks.
var driverAdvice = map[string]string{
	"podman":                  `use driver = "container", which accepts the docker driver's config keys`,
	"exec2":                   `use driver = "raw_exec" (no isolation) or driver = "container" (isolated)`,
	"java":                    `run the JVM with driver = "raw_exec" or in an image with driver = "container"`,
	"rkt":                     `use driver = "container"`,
	"nspawn":                  `use driver = "container"`,
	"lxc":                     `use driver = "container"`,
	"firecracker-task-driver": `use driver = "qemu"`,
}

// RegisterJob validates and registers a job version and creates its
// evaluation, in one Raft entry. req is left as it was.
func (s *Server) RegisterJob(ctx context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	return s.registerJob(ctx, req, false)
}

// RegisterJobOwned is RegisterJob for a caller that hands req over and
// never reads it again, nor shares any part of it: the HTTP API's job,
// decoded from the request body for this call. The job is then
// canonicalized and stamped where it is, not in a copy (a copy of a job
// was about a sixth of RegisterJob's CPU).
func (s *Server) RegisterJobOwned(ctx context.Context, req *structs.JobRegisterRequest) (*structs.JobRegisterResponse, error) {
	return s.registerJob(ctx, req, true)
}

func (s *Server) registerJob(ctx context.Context, req *structs.JobRegisterRequest, owned bool) (*structs.JobRegisterResponse, error) {
	if req == nil || req.Job == nil {
		return nil, structs.NewBadRequest("job register request has no Job: send {\"Job\": {...}}")
	}
	// Copy and Canonicalize assume no nil list elements: refuse them first.
	if err := structs.CheckNoNullElements(req.Job, "Job"); err != nil {
		return nil, err
	}
	job := req.Job
	if !owned {
		job = job.Copy()
	}
	job.Canonicalize()
	if err := validateJob(job); err != nil {
		return nil, err
	}
	if err := s.checkNamespace(job.Namespace, job.ID); err != nil {
		return nil, err
	}
	if err := s.checkNodePool(job); err != nil {
		return nil, err
	}
	// A retry of a write applied before answers as the first did, before
	// the check-and-set below would refuse it.
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return nil, err
		}
		return registerReply(rec, warningsText(JobWarnings(job))), nil
	}
	existing, err := s.state.JobByID(nil, job.Namespace, job.ID)
	if err != nil {
		return nil, fmt.Errorf("register job %q: look up current version: %w", job.ID, err)
	}
	if req.EnforceIndex {
		if err := checkEnforceIndex(job.ID, existing, req.JobModifyIndex); err != nil {
			return nil, err
		}
	}
	assignScalingPolicyIDs(job, existing)
	now := time.Now()
	job.SubmitTime = now.UnixNano()
	// Server-owned fields come from the state, never from the request.
	job.Status, job.StatusDescription, job.Stable, job.VersionTag = "", "", false, nil
	priority := job.Priority
	if req.EvalPriority != 0 {
		if req.EvalPriority < 1 || req.EvalPriority > 100 {
			return nil, structs.NewBadRequest("EvalPriority must be between 1 and 100, got %d", req.EvalPriority)
		}
		priority = req.EvalPriority
	}
	eval := jobEval(job, structs.EvalTriggerJobRegister, now)
	eval.Priority = priority
	if job.IsTemplate() {
		// Periodic and parameterized jobs only launch children: they are
		// never evaluated themselves (Nomad's EvalID "").
		eval = nil
	}
	entry := *req
	entry.Job, entry.Eval, entry.SubmitTime, entry.Once = job, eval, job.SubmitTime, s.writeOnceOf(ctx)
	warnings := JobWarnings(job)
	if sub := req.Submission; sub != nil && sub.Size() > structs.MaxJobSubmissionBytes {
		entry.Submission = nil
		warnings = append(warnings, fmt.Sprintf("the job's source (%d bytes) is larger than the %d bytes kept: GET /v1/job/:id/submission will not return it", sub.Size(), structs.MaxJobSubmissionBytes))
	}
	index, repeat, err := s.raftApplyOnce(ctx, structs.JobRegisterRequestType, &entry, entry.Once)
	if err != nil {
		return nil, fmt.Errorf("register job %q: %w", job.ID, err)
	}
	if repeat != nil {
		return registerReply(repeat, warningsText(warnings)), nil
	}
	resp := &structs.JobRegisterResponse{JobModifyIndex: index, Index: index, Warnings: warningsText(warnings)}
	if eval != nil {
		resp.EvalID, resp.EvalCreateIndex = eval.ID, index
	}
	if stored, err := s.state.JobByID(nil, job.Namespace, job.ID); err == nil && stored != nil {
		resp.JobModifyIndex = stored.JobModifyIndex
	}
	return resp, nil
}

// checkEnforceIndex implements the check-and-set of a registration with
// EnforceIndex (`job run -check-index`). Its messages say what differs in
// the API's terms; the CLI adds which command fixes it.
func checkEnforceIndex(jobID string, existing *structs.Job, want uint64) error {
	switch {
	case want == 0 && existing != nil:
		return structs.NewConflict("job %q already exists (JobModifyIndex %d) but the request asked to create it (EnforceIndex with JobModifyIndex 0)", jobID, existing.JobModifyIndex)
	case want != 0 && existing == nil:
		return structs.NewConflict("job %q does not exist but the request expected JobModifyIndex %d (EnforceIndex)", jobID, want)
	case want != 0 && existing.JobModifyIndex != want:
		return structs.NewConflict("job %q was modified since it was read: its JobModifyIndex is %d, the request expected %d (EnforceIndex)", jobID, existing.JobModifyIndex, want)
	}
	return nil
}

// ValidateJob checks a canonicalized job as registration does (PUT
// /v1/validate/job answers what PUT /v1/jobs would refuse).
func ValidateJob(job *structs.Job) error { return validateJob(job) }

// validateJob returns a 400 listing every problem of the job: the data
// model's checks, drivers nomadlike does not ship, and absurd resource asks.
func validateJob(job *structs.Job) error {
	var problems []structs.FieldError
	if err := job.Validate(); err != nil {
		var ve *structs.ValidationError
		if !errors.As(err, &ve) {
			return &structs.CodedError{Code: http.StatusBadRequest, Msg: fmt.Sprintf("job %q is invalid", job.ID), Err: err}
		}
		problems = append(problems, ve.Problems...)
	}
	problems = append(problems, checkDriversAndBounds(job)...)
	if len(problems) == 0 {
		return nil
	}
	return &structs.CodedError{
		Code: http.StatusBadRequest,
		Msg:  fmt.Sprintf("job %q is invalid; fix the job spec and submit it again", job.ID),
		Err:  &structs.ValidationError{Problems: problems},
	}
}

func checkDriversAndBounds(job *structs.Job) []structs.FieldError {
	var out []structs.FieldError
	add := func(field, format string, args ...any) {
		out = append(out, structs.FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
	}
	for _, tg := range job.TaskGroups {
		gf := fmt.Sprintf("TaskGroups[%q]", tg.Name)
		if tg.Count > maxCount {
			add(gf+".Count", "%d is more than the %d allocations a group may ask for", tg.Count, maxCount)
		}
		if tg.EphemeralDisk != nil && tg.EphemeralDisk.SizeMB > maxDiskMB {
			add(gf+".EphemeralDisk.SizeMB", "%d MB is more than any node could have (limit %d MB, 1 PB)", tg.EphemeralDisk.SizeMB, maxDiskMB)
		}
		for _, t := range tg.Tasks {
			tf := fmt.Sprintf("%s.Tasks[%q]", gf, t.Name)
			if r := t.Resources; r != nil {
				if r.MemoryMB > maxMemoryMB || r.MemoryMaxMB > maxMemoryMB {
					add(tf+".Resources.MemoryMB", "%d MB is more than any node could have (limit %d MB, 1 PB)", max(r.MemoryMB, r.MemoryMaxMB), maxMemoryMB)
				}
				if r.CPU > maxCPU {
					add(tf+".Resources.CPU", "%d MHz is more than any node could have (limit %d MHz)", r.CPU, maxCPU)
				}
				if r.DiskMB > maxDiskMB {
					add(tf+".Resources.DiskMB", "%d MB is more than any node could have (limit %d MB, 1 PB)", r.DiskMB, maxDiskMB)
				}
			}
		}
	}
	return out
}

// JobWarnings returns the registration warnings of a job: tasks whose
// driver nomadlike does not ship (Nomad accepts such a job: the scheduler
// then reports "missing drivers"), and services' ingress route tags that
// are malformed or use Fabio options the ingress ignores.
func JobWarnings(job *structs.Job) []string {
	var out []string
	for _, tg := range job.TaskGroups {
		svcs := slices.Clone(tg.Services)
		for _, t := range tg.Tasks {
			svcs = append(svcs, t.Services...)
		}
		for _, s := range svcs {
			for _, w := range structs.IngressTagWarnings(s.Tags) {
				out = append(out, fmt.Sprintf("Group %q, service %q: %s", tg.Name, s.Name, w))
			}
		}
		for _, t := range tg.Tasks {
			if t.Driver == "" || availableDrivers[t.Driver] {
				continue
			}
			advice := driverAdvice[t.Driver]
			if advice == "" {
				advice = "use one of " + driverList()
			}
			out = append(out, fmt.Sprintf("Task %q of group %q: driver %q is not available in nomadlike, so no node will run it: %s", t.Name, tg.Name, t.Driver, advice))
		}
	}
	return out
}

// warningsText formats warnings as Nomad's Warnings string does.
func warningsText(ws []string) string {
	if len(ws) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d warning(s):\n", len(ws))
	for _, w := range ws {
		b.WriteString("\n* " + w)
	}
	return b.String()
}

func driverList() string {
	names := make([]string, 0, len(availableDrivers))
	for d := range availableDrivers {
		names = append(names, fmt.Sprintf("%q", d))
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// currentJob returns the current version of job jobID in namespace, or an
// error wrapping structs.ErrNotFound that says how to list the jobs; what
// (e.g. "scale job") prefixes a failed look-up.
func (s *Server) currentJob(namespace, jobID, what string) (*structs.Job, error) {
	job, err := s.state.JobByID(nil, namespace, jobID)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", what, jobID, err)
	}
	if job == nil {
		return nil, structs.NewNotFound("job %q not found in namespace %q (GET /v1/jobs lists them)", jobID, namespace)
	}
	return job, nil
}

// DeregisterJob stops a job (a new version with Stop set) or purges it, and
// creates the evaluation that stops its allocations.
func (s *Server) DeregisterJob(ctx context.Context, namespace, jobID string, purge bool) (*structs.JobDeregisterResponse, error) {
	return s.DeregisterJobOpts(ctx, namespace, jobID, structs.JobDeregisterOptions{Purge: purge})
}

// DeregisterJobOpts is DeregisterJob with Nomad's options: the evaluation
// gets opts.EvalPriority (1-100) instead of the job's priority when set;
// opts.NoShutdownDelay has the clients stop the allocations without their
// shutdown_delay.
func (s *Server) DeregisterJobOpts(ctx context.Context, namespace, jobID string, opts structs.JobDeregisterOptions) (*structs.JobDeregisterResponse, error) {
	if opts.EvalPriority != 0 && (opts.EvalPriority < 1 || opts.EvalPriority > 100) {
		return nil, structs.NewBadRequest("eval_priority must be between 1 and 100, got %d", opts.EvalPriority)
	}
	purge := opts.Purge
	if namespace == "" {
		namespace = structs.DefaultNamespace
	}
	if rec, err := s.appliedBefore(ctx); err != nil || rec != nil {
		if err != nil {
			return nil, err
		}
		return deregisterReply(rec), nil
	}
	job, err := s.state.JobByID(nil, namespace, jobID)
	if err != nil {
		return nil, fmt.Errorf("deregister job %q: %w", jobID, err)
	}
	if job == nil {
		// Nomad answers 200 for a job that is not there: nothing to stop.
		index, err := s.state.LatestIndex()
		if err != nil {
			return nil, fmt.Errorf("deregister job %q: %w", jobID, err)
		}
		return &structs.JobDeregisterResponse{Index: index}, nil
	}
	now := time.Now()
	eval := jobEval(job, structs.EvalTriggerJobDeregister, now)
	if opts.EvalPriority != 0 {
		eval.Priority = opts.EvalPriority
	}
	if job.IsTemplate() {
		// A template has no allocations of its own to stop.
		eval = nil
	}
	req := &structs.JobDeregisterRequest{JobID: jobID, Namespace: namespace, Purge: purge, Eval: eval, SubmitTime: now.UnixNano(),
		NoShutdownDelay: opts.NoShutdownDelay, Once: s.writeOnceOf(ctx)}
	index, repeat, err := s.raftApplyOnce(ctx, structs.JobDeregisterRequestType, req, req.Once)
	if err != nil {
		return nil, fmt.Errorf("deregister job %q: %w", jobID, err)
	}
	if repeat != nil {
		return deregisterReply(repeat), nil
	}
	if err := s.cancelJobDeployment(ctx, namespace, jobID); err != nil {
		return nil, fmt.Errorf("deregister job %q: %w", jobID, err)
	}
	resp := &structs.JobDeregisterResponse{JobModifyIndex: index, Index: index}
	if eval != nil {
		resp.EvalID, resp.EvalCreateIndex = eval.ID, index
	}
	if stored, err := s.state.JobByID(nil, namespace, jobID); err == nil && stored != nil {
		resp.JobModifyIndex = stored.JobModifyIndex
	}
	return resp, nil
}
