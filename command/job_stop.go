package command

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) jobStopCommand() *cobra.Command {
	var purge, detach, yes, verbose, noShutdownDelay bool
	var evalPriority int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "stop [-purge] [-detach] [-yes] [-eval-priority n] [-no-shutdown-delay] <job>",
		Short: "Stop a job and wait until its allocations have stopped",
		Args:  argsBetween(1, 1, "one job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			job, exact, err := c.resolveJob(ctx, cl, args[0])
			if err != nil {
				return err
			}
			if !exact && !yes {
				ok, err := c.confirm(fmt.Sprintf("Are you sure you want to stop job %q? [y/N] ", job.ID))
				if err != nil {
					return err
				}
				if !ok {
					c.out("Cancelling job stop")
					return nil
				}
			}
			allocs, _, err := cl.JobAllocations(ctx, job.ID, c.query())
			if err != nil {
				return fail(fmt.Sprintf("listing the allocations of job %q", job.ID), err, "")
			}
			var running []string
			for _, a := range allocs {
				if !clientTerminal(a.ClientStatus) {
					running = append(running, a.ID)
				}
			}
			if evalPriority < 0 || evalPriority > 100 {
				return usageError(cmd.CommandPath(), "-eval-priority %d is out of range: give 1 to 100", evalPriority)
			}
			resp, err := cl.DeregisterJobOpts(ctx, job.ID, structs.JobDeregisterOptions{Purge: purge, EvalPriority: evalPriority, NoShutdownDelay: noShutdownDelay})
			if err != nil {
				return fail(fmt.Sprintf("stopping job %q", job.ID), err, "")
			}
			if detach || resp.EvalID == "" {
				c.out("Job %q stopped", job.ID)
				if resp.EvalID != "" {
					c.out("Evaluation ID: %s", resp.EvalID)
				}
				return nil
			}
			wctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			m := c.newMonitor(cl, verbose)
			if _, err := m.watchEval(wctx, resp.EvalID); err != nil {
				return c.interrupted(ctx, job.ID, err)
			}
			if len(running) == 0 {
				return nil
			}
			pending, err := m.waitStopped(wctx, job.ID, running)
			switch {
			case errors.Is(err, errWaitTimeout) && ctx.Err() == nil:
				return &cliError{code: exitError, doing: fmt.Sprintf("waiting for job %q to stop", job.ID),
					err:  fmt.Errorf("%w after %s; still running: %s", err, timeout, strings.Join(shortIDs(pending), ", ")),
					hint: "A task may ignore its kill signal or its node may be unreachable: check 'nomadlike alloc status <id>' and 'nomadlike node status'."}
			case err != nil:
				return c.interrupted(ctx, job.ID, err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&purge, "purge", false, "remove the job from the cluster's state, not only stop it")
	fl.BoolVar(&detach, "detach", false, "print the evaluation ID and return without monitoring")
	fl.BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation when the job was named by a prefix")
	fl.BoolVar(&verbose, "verbose", false, "show full IDs")
	fl.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to wait for the allocations to stop")
	fl.IntVar(&evalPriority, "eval-priority", 0, "the priority (1-100) of the evaluation that stops the job (default: the job's priority)")
	fl.BoolVar(&noShutdownDelay, "no-shutdown-delay", false, "kill the tasks without waiting their shutdown_delay (their services are still deregistered first)")
	return cmd
}

// confirm asks question on stdout and reads a yes/no answer from stdin.
func (c *cli) confirm(question string) (bool, error) {
	fmt.Fprint(c.stdout, question)
	line, err := bufio.NewReader(c.stdin).ReadString('\n')
	if err != nil && line == "" {
		return false, fail("reading the confirmation", err, "Pass -yes to stop without asking.")
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func shortIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = shortID(id, false)
	}
	return out
}
