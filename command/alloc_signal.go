package command

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) allocSignalCommand() *cobra.Command {
	var sig, task string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "signal [-s <signal>] [-task <task>] <alloc-id> [task]",
		Short: "Send a signal to a task of an allocation (all running tasks when none is named)",
		Args:  argsBetween(1, 2, "an allocation ID (or prefix) and optionally a task name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, a, task, what, err := c.allocTaskTarget(cmd, args, task)
			if err != nil {
				return err
			}
			if err := cl.SignalAlloc(ctx, a.ID, task, sig, c.query()); err != nil {
				return fail(fmt.Sprintf("sending %s to %s of allocation %q", sig, what, shortID(a.ID, verbose)), err, "")
			}
			c.out("Sent %s to %s of allocation %q", sig, what, shortID(a.ID, verbose))
			return nil
		},
	}
	cmd.Flags().StringVarP(&sig, "s", "s", "SIGKILL", "the signal to send, by name (SIGHUP, SIGUSR1, ...) or number")
	cmd.Flags().StringVar(&task, "task", "", "the task to signal (default: every running task)")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs")
	return cmd
}
