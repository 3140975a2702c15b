package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/api"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) jobInspectCommand() *cobra.Command {
	var version int64
	var hcl bool
	cmd := &cobra.Command{
		Use:   "inspect [-version n] [-hcl] <job>",
		Short: "Print a job as JSON ({\"Job\": ...}), as the servers hold it",
		Long: `Prints the job (or one of its kept versions) as JSON in the form the API
accepts, {"Job": {...}}, so it can be saved, edited and submitted again.
-hcl prints instead the job file as it was submitted (kept with each
version), with the -var values it was run with as comments.`,
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
			if hcl {
				return c.printSubmission(cmd, cl, job.ID, version)
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
	cmd.Flags().BoolVar(&hcl, "hcl", false, "print the job file as submitted instead of JSON")
	return cmd
}

// printSubmission prints the source a job version was submitted with
// (`job inspect -hcl`); its -var flags follow as comments, sorted.
func (c *cli) printSubmission(cmd *cobra.Command, cl *api.Client, jobID string, version int64) error {
	sub, err := cl.JobSubmission(cmd.Context(), jobID, version, c.query())
	if err != nil {
		return fail(fmt.Sprintf("reading the source of job %q", jobID), err,
			"Only jobs submitted with their source (nomadlike job run, or the API with a Submission) keep it; 'job inspect' without -hcl prints the job as JSON.")
	}
	fmt.Fprint(c.stdout, sub.Source)
	if !strings.HasSuffix(sub.Source, "\n") {
		fmt.Fprintln(c.stdout)
	}
	keys := make([]string, 0, len(sub.VariableFlags))
	for k := range sub.VariableFlags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		c.out("# -var %s=%s", k, sub.VariableFlags[k])
	}
	return nil
}
