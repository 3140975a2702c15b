package command

import (
	"context"
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/spf13/cobra"
)

// statusCommand is `nomadlike status [id]`, as Nomad users type it: the job
// list without an argument; with one, the status of the job, allocation,
// node, evaluation or deployment whose ID (or job name) starts with it, in
// that order of preference.
func (c *cli) statusCommand() *cobra.Command {
	var verbose, asJSON bool
	cmd := &cobra.Command{
		Use:   "status [-verbose] [-json] [id-or-prefix]",
		Short: "List jobs, or show the job, allocation, node, evaluation or deployment an ID (prefix) names",
		Args:  argsBetween(0, 1, "at most one ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			flags := map[string]bool{"verbose": verbose, "json": asJSON}
			if len(args) == 0 {
				return runSub(ctx, c.jobStatusCommand(), nil, flags)
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			prefix := args[0]
			q := c.query()
			q.Prefix = prefix
			type kind struct {
				name  string
				sub   func() *cobra.Command
				count func() (int, error)
			}
			kinds := []kind{
				{"job", c.jobStatusCommand, func() (int, error) { l, _, err := cl.ListJobs(ctx, q); return len(l), err }},
				{"allocation", c.allocStatusCommand, func() (int, error) { l, _, err := cl.ListAllocations(ctx, q); return len(l), err }},
				{"node", c.nodeStatusCommand, func() (int, error) { l, _, err := cl.ListNodes(ctx, q); return len(l), err }},
				{"evaluation", c.evalStatusCommand, func() (int, error) { l, _, err := cl.ListEvaluations(ctx, q); return len(l), err }},
				{"deployment", c.deploymentStatusCommand, func() (int, error) { l, _, err := cl.ListDeployments(ctx, q); return len(l), err }},
			}
			for _, k := range kinds {
				n, err := k.count()
				if err != nil && !api.IsNotFound(err) {
					return fail(fmt.Sprintf("looking up %ss with prefix %q", k.name, prefix), err, "")
				}
				if n > 0 {
					return runSub(ctx, k.sub(), []string{prefix}, flags)
				}
			}
			return &cliError{code: exitError, doing: fmt.Sprintf("looking up %q", prefix),
				err:  fmt.Errorf("no job, allocation, node, evaluation or deployment starts with %q", prefix),
				hint: "List jobs with 'nomadlike status', nodes with 'nomadlike node status'; with namespaces, add -namespace."}
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs (passed to the status command that answers)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the object (or the job list) as JSON")
	return cmd
}

// runSub runs a subcommand's RunE with args and the boolean flags set
// (every status command has -verbose and -json).
func runSub(ctx context.Context, cmd *cobra.Command, args []string, flags map[string]bool) error {
	for name, on := range flags {
		if on {
			if err := cmd.Flags().Set(name, "true"); err != nil {
				return fmt.Errorf("status: %s has no -%s: %w", cmd.Name(), name, err)
			}
		}
	}
	cmd.SetContext(ctx)
	return cmd.RunE(cmd, args)
}
