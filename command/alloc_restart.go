package command

import (
	"fmt"

	"github.com/spf13/cobra"
)

func (c *cli) allocRestartCommand() *cobra.Command {
	var task string
	var verbose bool
	cmd := &cobra.Command{
		Use:   "restart [-task <task>] <alloc-id> [task]",
		Short: "Restart a task of an allocation in place (all running tasks when none is named)",
		Long: "Restart a running task in place: same allocation, same node, same task directory. The restart is\n" +
			"recorded as a \"Restart Signaled\" event and does not count against the task's restart policy.",
		Args: argsBetween(1, 2, "an allocation ID (or prefix) and optionally a task name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, a, task, what, err := c.allocTaskTarget(cmd, args, task)
			if err != nil {
				return err
			}
			if err := cl.RestartAlloc(ctx, a.ID, task, c.query()); err != nil {
				return fail(fmt.Sprintf("restarting %s of allocation %q", what, shortID(a.ID, verbose)), err, "")
			}
			c.out("Restarted %s of allocation %q", what, shortID(a.ID, verbose))
			return nil
		},
	}
	cmd.Flags().StringVar(&task, "task", "", "the task to restart (default: every running task)")
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs")
	return cmd
}
