package command

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocTaskTarget resolves what `alloc restart` and `alloc signal` act on:
// the allocation named by args[0] (an ID or prefix) and the optional task,
// named by args[1] or -task (flagTask), but not both differently. what says
// it in words: `task "web"` or "all running tasks".
func (c *cli) allocTaskTarget(cmd *cobra.Command, args []string, flagTask string) (cl *api.Client, a *structs.Allocation, task, what string, err error) {
	task = flagTask
	if len(args) == 2 {
		if task != "" && task != args[1] {
			return nil, nil, "", "", usageError(cmd.CommandPath(), "the task is named twice (-task %q and %q); name it once", task, args[1])
		}
		task = args[1]
	}
	if cl, err = c.client(); err != nil {
		return nil, nil, "", "", err
	}
	if a, err = c.resolveAlloc(cmd.Context(), cl, args[0]); err != nil {
		return nil, nil, "", "", err
	}
	what = "all running tasks"
	if task != "" {
		if task, err = c.pickTask(a, task); err != nil {
			return nil, nil, "", "", err
		}
		what = fmt.Sprintf("task %q", task)
	}
	return cl, a, task, what, nil
}
