package command

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

// jobRevertFlags are the options of `job revert`.
type jobRevertFlags struct {
	detach      bool
	verbose     bool
	timeout     time.Duration
	healthyTime time.Duration
}

func (c *cli) jobRevertCommand() *cobra.Command {
	var f jobRevertFlags
	cmd := &cobra.Command{
		Use:   "revert [-detach] [-verbose] <job> <version>",
		Short: "Run an earlier version of a job again, and watch it as job run does",
		Long: `Registers the spec of an earlier version of the job as a new version, then
watches the evaluation and waits until the allocations run, as 'job run' does.
'nomadlike job history -p <job>' lists the versions and what each changed.
Exit codes: 0 success, 1 error, 2 placement or allocation failure.`,
		Args: argsBetween(2, 2, "a job ID (or prefix) and a version number"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.jobRevert(cmd, args[0], args[1], &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.detach, "detach", false, "print the evaluation ID and return without monitoring")
	fl.BoolVar(&f.verbose, "verbose", false, "show full IDs")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long to wait for the allocations to run")
	fl.DurationVar(&f.healthyTime, "min-healthy-time", 5*time.Second, "how long service allocations must stay running before success")
	return cmd
}

func (c *cli) jobRevert(cmd *cobra.Command, prefix, versionArg string, f *jobRevertFlags) error {
	ctx := cmd.Context()
	version, err := strconv.ParseUint(versionArg, 10, 64)
	if err != nil {
		return usageError(cmd.CommandPath(), "version %q is not a version number (0, 1, 2, ...); 'nomadlike job history %s' lists them", versionArg, prefix)
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	job, _, err := c.resolveJob(ctx, cl, prefix)
	if err != nil {
		return err
	}
	resp, err := cl.RevertJob(ctx, job.ID, version, nil, c.query())
	if err != nil {
		hint := hintOn(err, fmt.Sprintf("List the versions with 'nomadlike job history %s' and pick one of them.", job.ID),
			http.StatusBadRequest, http.StatusNotFound, http.StatusConflict)
		return fail(fmt.Sprintf("reverting job %q to version %d", job.ID, version), err, hint)
	}
	if f.detach || resp.EvalID == "" {
		c.out("Job reverted to version %d", version)
		if resp.EvalID != "" {
			c.out("Evaluation ID: %s", resp.EvalID)
		}
		return nil
	}
	reverted, _, err := cl.Job(ctx, job.ID, c.query())
	if err != nil {
		return fail(fmt.Sprintf("reading job %q after the revert", job.ID), err, "")
	}
	return c.monitorRegistration(ctx, cl, reverted, resp.EvalID, f.verbose, f.timeout, f.healthyTime)
}

// monitorRegistration watches the evaluation of a registration (run or
// revert) and then the allocations it placed, until they run or fail.
func (c *cli) monitorRegistration(ctx context.Context, cl *api.Client, job *structs.Job, evalID string, verbose bool, timeout, healthyTime time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	m := c.newMonitor(cl, verbose)
	outcome, err := m.watchEval(wctx, evalID)
	if err != nil {
		return c.interrupted(ctx, job.ID, err)
	}
	if len(outcome.failed) > 0 || outcome.last.Status != structs.EvalStatusComplete {
		return exitWith(exitFailed)
	}
	// A rolling update is followed through its deployment until it ends.
	if ok, err := m.followRegistration(ctx, wctx, true, job, job.JobModifyIndex, outcome.last); err != nil {
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
	failure, pending, err := m.waitRunning(wctx, job, ids, healthyTime)
	switch {
	case errors.Is(err, errWaitTimeout) && ctx.Err() == nil:
		m.reportPending(pending)
		return &cliError{code: exitFailed, doing: fmt.Sprintf("waiting for job %q", job.ID),
			err:  fmt.Errorf("%w after %s", err, timeout),
			hint: "Raise -timeout if the tasks are slow to start, or inspect them with 'nomadlike alloc status <id>'."}
	case err != nil:
		return c.interrupted(ctx, job.ID, err)
	case failure != nil:
		m.reportFailure(ctx, failure)
		return exitWith(exitFailed)
	}
	return nil
}
