package command

import (
	"errors"
	"fmt"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) jobValidateCommand() *cobra.Command {
	var vars []string
	cmd := &cobra.Command{
		Use:   "validate [-var k=v]... <file|->",
		Short: "Check a job file without submitting it",
		Long: `Parses the job file and checks it, locally and on the servers, and prints
every problem found with the field it is about. Exit codes: 0 valid, 1 invalid
or error.`,
		Args: argsBetween(1, 1, "one job file (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			job, err := c.parseJobFile(args[0], vars)
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
			if err != nil {
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
			c.out("Job validation successful")
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&vars, "var", nil, "set an input variable, as key=value (repeatable)")
	return cmd
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
