package command

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) jobInspectCommand() *cobra.Command {
	var version int64
	cmd := &cobra.Command{
		Use:   "inspect [-version n] <job>",
		Short: "Print a job as JSON ({\"Job\": ...}), as the servers hold it",
		Long: `Prints the job (or one of its kept versions) as JSON in the form the API
accepts, {"Job": {...}}, so it can be saved, edited and submitted again.`,
		Args: argsBetween(1, 1, "one job ID (or prefix)"),
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
			if version >= 0 && uint64(version) != job.Version {
				resp, _, err := cl.JobVersions(ctx, job.ID, false, c.query())
				if err != nil {
					return fail(fmt.Sprintf("reading the versions of job %q", job.ID), err, "")
				}
				var found *structs.Job
				for _, v := range resp.Versions {
					if v.Version == uint64(version) {
						found = v
					}
				}
				if found == nil {
					return fail(fmt.Sprintf("reading version %d of job %q", version, job.ID),
						fmt.Errorf("the servers keep no such version"),
						fmt.Sprintf("List the kept versions with 'nomadlike job history %s'.", job.ID))
				}
				job = found
			}
			return writeJSON(c.stdout, struct{ Job *structs.Job }{Job: job})
		},
	}
	cmd.Flags().Int64Var(&version, "version", -1, "print this version instead of the current one")
	return cmd
}
