package command

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) allocStopCommand() *cobra.Command {
	var detach, verbose, noShutdownDelay bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "stop [-detach] [-verbose] [-no-shutdown-delay] <alloc-id>",
		Short: "Stop an allocation; the scheduler places a replacement, and the evaluation is monitored",
		Args:  argsBetween(1, 1, "one allocation ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			a, err := c.resolveAlloc(ctx, cl, args[0])
			if err != nil {
				return err
			}
			q := c.query()
			if noShutdownDelay {
				q.Params = map[string]string{"no_shutdown_delay": "true"}
			}
			resp, err := cl.StopAlloc(ctx, a.ID, q)
			if err != nil {
				return fail(fmt.Sprintf("stopping allocation %q", shortID(a.ID, verbose)), err, "")
			}
			if detach || resp.EvalID == "" {
				c.out("Allocation %q stopped", shortID(a.ID, verbose))
				if resp.EvalID != "" {
					c.out("Evaluation ID: %s", shortID(resp.EvalID, verbose))
				}
				return nil
			}
			wctx, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			m := c.newMonitor(cl, verbose)
			if _, err := m.watchEval(wctx, resp.EvalID); err != nil {
				return c.interrupted(ctx, a.JobID, err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&detach, "detach", false, "print the evaluation ID and return without monitoring")
	fl.BoolVar(&verbose, "verbose", false, "show full IDs")
	fl.DurationVar(&timeout, "timeout", 2*time.Minute, "how long to monitor the evaluation")
	fl.BoolVar(&noShutdownDelay, "no-shutdown-delay", false, "kill the tasks without waiting their shutdown_delay (their services are still deregistered first)")
	return cmd
}
