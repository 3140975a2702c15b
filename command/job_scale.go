package command

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func (c *cli) jobScaleCommand() *cobra.Command {
	var detach, verbose bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "scale [-detach] [-verbose] <job> [<group>] <count>",
		Short: "Change the number of allocations of a task group",
		Long: `Sets the count of a task group (a new job version) and monitors the
evaluation. The group may be left out when the job has only one.`,
		Args: argsBetween(2, 3, "a job ID, optionally a group, and a count"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			count, err := strconv.ParseInt(args[len(args)-1], 10, 64)
			if err != nil || count < 0 {
				return usageError(cmd.CommandPath(), "count %q is not a whole number >= 0", args[len(args)-1])
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			job, _, err := c.resolveJob(ctx, cl, args[0])
			if err != nil {
				return err
			}
			group := ""
			if len(args) == 3 {
				group = args[1]
			} else {
				if len(job.TaskGroups) != 1 {
					names := make([]string, len(job.TaskGroups))
					for i, g := range job.TaskGroups {
						names[i] = g.Name
					}
					return usageError(cmd.CommandPath(), "job %q has %d groups (%s): name the one to scale", job.ID, len(job.TaskGroups), strings.Join(names, ", "))
				}
				group = job.TaskGroups[0].Name
			}
			resp, err := cl.ScaleJob(ctx, job.ID, group, count, "submitted using the nomadlike CLI", c.query())
			if err != nil {
				return fail(fmt.Sprintf("scaling group %q of job %q to %d", group, job.ID, count), err, "")
			}
			if resp.Warnings != "" {
				c.out("Job Warnings:\n%s\n", resp.Warnings)
			}
			if detach || resp.EvalID == "" {
				c.out("Job %q group %q scaled to %d", job.ID, group, count)
				if resp.EvalID != "" {
					c.out("Evaluation ID: %s", resp.EvalID)
				}
				return nil
			}
			return c.monitorEval(ctx, cl, job.ID, resp.EvalID, verbose, timeout)
		},
	}
	evalMonitorFlags(cmd, &detach, &verbose, &timeout, "print the evaluation ID and return without monitoring")
	return cmd
}
