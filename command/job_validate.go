package command

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) jobValidateCommand() *cobra.Command {
	var vars []string
	cmd := &cobra.Command{
		Use:   "validate [-var k=v]... <file|->",
		Short: "Check a job file without submitting it",
		Long: `Parses the job file and checks it, locally and on the servers, and prints
every problem found with the field it is about (locally only when no agent
is reachable, as Nomad does). Nomad features nomadlike does
not have (Consul, Connect, Vault, CSI) are listed apart as unsupported
features, each with its position and what to use instead. Exit codes: 0
valid, 1 invalid, unsupported or error.`,
		Args: argsBetween(1, 1, "one job file (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			job, _, features, err := c.parseJob(args[0], vars, true)
			c.printFeatures(features)
			if err != nil {
				return err
			}
			if job.Namespace == "" {
				job.Namespace = c.namespace
			}
			local := job.Copy()
			local.Canonicalize()
			var problems []string
			if err := local.Validate(); err != nil {
				problems = append(problems, validationProblems(err)...)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			resp, err := cl.ValidateJob(cmd.Context(), job, c.query())
			var apiErr *api.Error
			switch {
			case err != nil && !errors.As(err, &apiErr) && !isTLSError(err):
				// No agent to ask: what was checked locally stands, as
				// Nomad's job validate falls back to local validation.
				fmt.Fprintf(c.stderr, "No agent reachable (%v): validated locally only.\n", err)
				resp = &structs.JobValidateResponse{}
			case err != nil:
				return fail(fmt.Sprintf("validating job %q on the agent", job.ID), err, "")
			}
			for _, p := range resp.ValidationErrors {
				if !slices.Contains(problems, p) {
					problems = append(problems, p)
				}
			}
			if len(problems) == 0 && resp.Error != "" {
				problems = append(problems, resp.Error)
			}
			if resp.Warnings != "" {
				c.out("Job Warnings:\n%s\n", resp.Warnings)
			}
			if len(problems) > 0 {
				c.out("Job validation errors:")
				for _, p := range problems {
					c.out("  * %s", p)
				}
				return &cliError{code: exitError, doing: fmt.Sprintf("validating job %q", job.ID),
					err:  fmt.Errorf("%d problem(s) found", len(problems)),
					hint: "Fix the fields named above and validate again."}
			}
			if len(features) > 0 {
				return &cliError{code: exitError, doing: fmt.Sprintf("validating job %q", job.ID),
					err:  fmt.Errorf("the job is valid but uses %d Nomad feature(s) nomadlike does not support", len(features)),
					hint: "Replace each feature listed above as it says; 'job run' refuses the job until then."}
			}
			c.out("Job validation successful")
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&vars, "var", nil, "set an input variable, as key=value (repeatable)")
	return cmd
}

// printFeatures lists the Nomad features a job uses that nomadlike does
// not support, apart from its errors.
func (c *cli) printFeatures(features []string) {
	if len(features) == 0 {
		return
	}
	c.out("Unsupported features (valid in Nomad, not available in nomadlike):")
	for _, f := range features {
		c.out("  * %s", f)
	}
}

// validationProblems lists the problems of a validation error, one per field.
func validationProblems(err error) []string {
	var ve *structs.ValidationError
	if !errors.As(err, &ve) {
		return []string{err.Error()}
	}
	out := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		out[i] = p.String()
	}
	return out
}
