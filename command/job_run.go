package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/jobspec"
	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

// jobRunFlags are the options of `job run`.
type jobRunFlags struct {
	detach      bool
	verbose     bool
	vars        []string
	checkIndex  uint64
	timeout     time.Duration
	healthyTime time.Duration
	exitCode    string
}

func (c *cli) jobRunCommand() *cobra.Command {
	var f jobRunFlags
	cmd := &cobra.Command{
		Use:   "run [-detach] [-verbose] [-var k=v]... [-check-index n] [-exit-code first|max] [-timeout d] <file|->",
		Short: "Submit a job file and watch it until its allocations run (or say why they don't)",
		Long: `Parses the job file (or stdin with "-"), submits it, watches the evaluation,
then waits until every allocation it placed is running (service), or until a
batch job has finished. Exit codes: 0 success, 1 error, 2 placement or
allocation failure.

A batch (or sysbatch) job is followed to its end, through task restarts and
rescheduled allocations, and the command exits with the tasks' exit code, for
CI: -exit-code=first (the default) is the code of the first task to fail, in
the order they finished, 0 when all succeeded; -exit-code=max is the largest
code of any task. A task killed by signal n counts as 128+n; a task that
failed without exiting (driver failure, lost node) or that the server stopped
(job stop, a drain) counts as 2. -timeout bounds a batch job's wait only when
given.`,
		Args: argsBetween(1, 1, "one job file (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.jobRun(cmd, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.detach, "detach", false, "print the evaluation ID and return without monitoring")
	fl.BoolVar(&f.verbose, "verbose", false, "show full IDs")
	fl.StringArrayVar(&f.vars, "var", nil, "set an input variable, as key=value (repeatable)")
	fl.Uint64Var(&f.checkIndex, "check-index", 0, "register only if the job's modify index is still this (0: only if the job does not exist)")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long to wait for the allocations to run (batch jobs: no limit unless given)")
	fl.DurationVar(&f.healthyTime, "min-healthy-time", 5*time.Second, "how long service allocations must stay running before success")
	fl.StringVar(&f.exitCode, "exit-code", exitRuleFirst, "batch jobs: exit with the code of the first task to fail (first) or the largest task exit code (max)")
	return cmd
}

func (c *cli) jobRun(cmd *cobra.Command, file string, f *jobRunFlags) error {
	ctx := cmd.Context()
	if f.exitCode != exitRuleFirst && f.exitCode != exitRuleMax {
		return usageError("nomadlike job run", "-exit-code=%q is not one of first, max", f.exitCode)
	}
	job, sub, err := c.parseJobSource(file, f.vars)
	if err != nil {
		return err
	}
	if job.Namespace == "" {
		job.Namespace = c.namespace
	}
	if job.Region == "" {
		job.Region = c.region
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	req := &structs.JobRegisterRequest{Job: job, Submission: sub}
	if cmd.Flags().Changed("check-index") {
		req.EnforceIndex, req.JobModifyIndex = true, f.checkIndex
	}
	resp, err := cl.RegisterJob(ctx, req)
	if err != nil {
		return registerError(job.ID, req, err)
	}
	if resp.Warnings != "" {
		c.out("Job Warnings:\n%s\n", resp.Warnings)
	}
	if f.detach || resp.EvalID == "" {
		c.out("Job registration successful")
		c.printNextLaunch(job)
		if resp.EvalID != "" {
			c.out("Evaluation ID: %s", resp.EvalID)
		}
		return nil
	}

	wctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	m := c.newMonitor(cl, f.verbose)
	outcome, err := m.watchEval(wctx, resp.EvalID)
	if err != nil {
		return c.interrupted(ctx, job.ID, err)
	}
	if len(outcome.failed) > 0 || outcome.last.Status != structs.EvalStatusComplete {
		return exitWith(exitFailed)
	}
	// A rolling update is followed through its deployment until it ends.
	if ok, err := m.followRegistration(ctx, wctx, cmd.Flags().Changed("timeout"), job, resp.JobModifyIndex, outcome.last); err != nil {
		return c.interrupted(ctx, job.ID, err)
	} else if ok {
		return nil
	}
	if len(outcome.placed) == 0 {
		return nil
	}
	ids := make([]string, len(outcome.placed))
	for i, a := range outcome.placed {
		ids[i] = a.ID
	}
	if job.Type == structs.JobTypeBatch || job.Type == structs.JobTypeSysBatch {
		bctx := ctx
		if cmd.Flags().Changed("timeout") {
			bctx = wctx
		}
		return c.finishBatch(ctx, bctx, m, job, ids, f)
	}
	failure, pending, err := m.waitRunning(wctx, job, ids, f.healthyTime)
	switch {
	case errors.Is(err, errWaitTimeout) && ctx.Err() == nil:
		m.reportPending(pending)
		return &cliError{code: exitFailed, doing: fmt.Sprintf("waiting for job %q", job.ID),
			err:  fmt.Errorf("%w after %s", err, f.timeout),
			hint: "Raise -timeout if the tasks are slow to start (e.g. large downloads), or inspect them with 'nomadlike alloc status <id>'."}
	case err != nil:
		return c.interrupted(ctx, job.ID, err)
	case failure != nil:
		m.reportFailure(ctx, failure)
		return exitWith(exitFailed)
	}
	return nil
}

// finishBatch waits for a batch job's allocations to finish (within bctx),
// reports the failed ones and returns the exit code -exit-code chooses.
func (c *cli) finishBatch(ctx, bctx context.Context, m *monitor, job *structs.Job, ids []string, f *jobRunFlags) error {
	res, pending, err := m.waitBatch(bctx, job, ids)
	switch {
	case errors.Is(err, errWaitTimeout) && ctx.Err() == nil:
		m.reportPending(pending)
		return &cliError{code: exitFailed, doing: fmt.Sprintf("waiting for batch job %q", job.ID),
			err:  fmt.Errorf("%w after %s", err, f.timeout),
			hint: "Raise -timeout, or leave it out to wait until the job finishes; inspect the allocations with 'nomadlike alloc status <id>'."}
	case err != nil:
		return c.interrupted(ctx, job.ID, err)
	}
	code, why := res.exitCode(f.exitCode)
	for _, a := range res.failed {
		reason := "a task failed"
		for _, t := range res.tasks {
			if t.alloc == a.ID && t.code != 0 {
				reason = fmt.Sprintf("task %q %s", t.task, t.why)
				break
			}
		}
		m.reportFailure(ctx, &allocFailure{alloc: a, reason: reason})
	}
	if why == nil {
		m.printf("==> %s: Batch job %q finished: %d task(s) succeeded; exit code 0", m.stamp(), job.ID, len(res.tasks))
		return nil
	}
	who := fmt.Sprintf("task %q of allocation %q", why.task, m.id(why.alloc))
	if why.task == "" {
		who = fmt.Sprintf("allocation %q", m.id(why.alloc))
	}
	m.printf("==> %s: Batch job %q finished with exit code %d: %s %s (-exit-code=%s)",
		m.stamp(), job.ID, code, who, why.why, f.exitCode)
	return exitWith(code)
}

// interrupted turns an error seen while monitoring into the command's result:
// Ctrl-C stops the monitoring (not the job) and exits 0.
func (c *cli) interrupted(ctx context.Context, jobID string, err error) error {
	if ctx.Err() != nil {
		fmt.Fprintf(c.stderr, "Monitoring interrupted; the job keeps its state. Follow it with 'nomadlike job status %s'.\n", jobID)
		return nil
	}
	return err
}

// parseJobFile reads file ("-" for stdin) and parses it with the variables.
func (c *cli) parseJobFile(file string, rawVars []string) (*structs.Job, error) {
	job, _, err := c.parseJobSource(file, rawVars)
	return job, err
}

// parseJobSource is parseJobFile that also returns the source as submitted,
// which the servers keep with the version (`job inspect -hcl`).
func (c *cli) parseJobSource(file string, rawVars []string) (*structs.Job, *structs.JobSubmission, error) {
	job, sub, _, err := c.parseJob(file, rawVars, false)
	return job, sub, err
}

// parseJob reads and parses a job file. With features, Nomad features
// nomadlike does not support (Consul, Connect, Vault, CSI) do not fail the
// parse: they are returned, located, and the job comes back without them
// (jobspec.ValidateWithVars), for `job validate`.
func (c *cli) parseJob(file string, rawVars []string, features bool) (*structs.Job, *structs.JobSubmission, []string, error) {
	vars := map[string]string{}
	for _, kv := range rawVars {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, nil, nil, usageError("nomadlike job run", "-var %q is not of the form key=value", kv)
		}
		vars[k] = v
	}
	var src []byte
	var err error
	name := file
	if file == "-" {
		name = "<stdin>"
		src, err = io.ReadAll(c.stdin)
	} else {
		src, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, nil, nil, fail(fmt.Sprintf("reading job file %s", name), err,
			"Check the path; 'nomadlike job init' writes an example job file.")
	}
	var job *structs.Job
	var unsupported []string
	if features {
		job, unsupported, err = jobspec.ValidateWithVars(name, src, vars)
	} else {
		job, err = jobspec.ParseWithVars(name, src, vars)
	}
	if err != nil {
		return nil, nil, unsupported, &cliError{code: exitError, doing: fmt.Sprintf("parsing job file %s", name), err: err,
			hint: "Fix the job file at the positions shown and run again."}
	}
	format := "hcl2"
	if strings.HasSuffix(name, ".json") {
		format = "json"
	}
	return job, &structs.JobSubmission{Source: string(src), Format: format, VariableFlags: vars}, unsupported, nil
}

// registerError explains a failed registration.
func registerError(jobID string, req *structs.JobRegisterRequest, err error) error {
	var apiErr *api.Error
	hint := ""
	if errors.As(err, &apiErr) {
		switch {
		case apiErr.StatusCode == http.StatusConflict && req.EnforceIndex:
			hint = fmt.Sprintf("Review what changed with 'nomadlike job plan <file>' (it prints the job's current index), then run 'nomadlike job run -check-index <that index> <file>'; -check-index 0 only creates a job %q that does not exist yet.",
				jobID)
		case apiErr.StatusCode == http.StatusBadRequest:
			hint = "The agent rejected the job: fix the fields named above and run again."
		}
	}
	return fail(fmt.Sprintf("submitting job %q", jobID), err, hint)
}

// newMonitor returns a monitor printing to stdout.
func (c *cli) newMonitor(cl *api.Client, verbose bool) *monitor {
	return &monitor{cl: cl, out: c.stdout, q: *c.query(), now: c.now, verbose: verbose}
}

// reportPending prints the allocations that did not become ready in time.
func (m *monitor) reportPending(pending []*structs.AllocListStub) {
	for _, a := range pending {
		m.printf("    Allocation %q is still %q (desired %q)", m.id(a.ID), a.ClientStatus, orNone(a.DesiredStatus))
		for _, name := range troubledTasks(a) {
			ts := a.TaskStates[name]
			if n := len(ts.Events); n > 0 {
				e := ts.Events[n-1]
				m.printf("      Task %q is %q; last event: %s: %s", name, ts.State, e.Type, eventMessage(e))
			}
		}
	}
}
