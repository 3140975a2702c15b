package command

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) jobPeriodicCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "periodic <subcommand>",
		Short: "Interact with periodic jobs",
	}
	cmd.AddCommand(c.jobPeriodicForceCommand())
	return cmd
}

func (c *cli) jobPeriodicForceCommand() *cobra.Command {
	var detach, verbose bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "force [-detach] [-verbose] <job>",
		Short: "Launch a periodic job now, even if that violates its prohibit_overlap setting",
		Args:  argsBetween(1, 1, "one periodic job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			job, _, err := c.resolveJob(ctx, cl, args[0])
			if err != nil {
				return err
			}
			if !job.IsPeriodic() {
				return &cliError{code: exitError, doing: fmt.Sprintf("forcing a launch of job %q", job.ID),
					err:  fmt.Errorf("job %q is not periodic", job.ID),
					hint: "Only a job with a periodic block can be forced; run other jobs with 'nomadlike job run'."}
			}
			resp, err := cl.ForcePeriodicJob(ctx, job.ID, c.query())
			if err != nil {
				return fail(fmt.Sprintf("forcing a launch of job %q", job.ID), err, "")
			}
			if detach {
				c.out("Force periodic successful")
				c.out("Evaluation ID: %s", resp.EvalID)
				return nil
			}
			return c.monitorEval(ctx, cl, job.ID, resp.EvalID, verbose, timeout)
		},
	}
	evalMonitorFlags(cmd, &detach, &verbose, &timeout, "print the evaluation ID and return without monitoring")
	return cmd
}

// evalMonitorFlags adds the -detach, -verbose and -timeout flags of a
// command that monitors one evaluation with monitorEval.
func evalMonitorFlags(cmd *cobra.Command, detach, verbose *bool, timeout *time.Duration, detachUsage string) {
	fl := cmd.Flags()
	fl.BoolVar(detach, "detach", false, detachUsage)
	fl.BoolVar(verbose, "verbose", false, "show full IDs")
	fl.DurationVar(timeout, "timeout", 2*time.Minute, "how long to monitor the evaluation")
}

// monitorEval watches an evaluation until it is terminal (or timeout, if
// positive, passes), as `job run` does, and maps placement failures to exit
// code 2.
func (c *cli) monitorEval(ctx context.Context, cl *api.Client, jobID, evalID string, verbose bool, timeout time.Duration) error {
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if timeout > 0 {
		wctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	m := c.newMonitor(cl, verbose)
	outcome, err := m.watchEval(wctx, evalID)
	if err != nil {
		return c.interrupted(ctx, jobID, err)
	}
	if len(outcome.failed) > 0 || outcome.last.Status != structs.EvalStatusComplete {
		return exitWith(exitFailed)
	}
	return nil
}

// printNextLaunch prints when a just-registered periodic job launches
// next, as Nomad's `job run` does.
func (c *cli) printNextLaunch(job *structs.Job) {
	if !job.IsPeriodic() {
		return
	}
	now := c.now()
	next, err := job.Periodic.Next(now)
	if err != nil || next.IsZero() {
		return
	}
	c.out("Approximate next launch time: %s (%s from now)", next.Format(time.RFC3339), next.Sub(now).Round(time.Second))
}
