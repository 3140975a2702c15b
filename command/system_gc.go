package command

import (
	"github.com/spf13/cobra"
)

// systemCommand is `nomadlike system`: cluster-wide maintenance.
func (c *cli) systemCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "system <subcommand>",
		Short: "Cluster-wide maintenance: garbage collection, job summaries",
	}
	cmd.AddCommand(c.systemGCCommand(), c.systemReconcileCommand())
	return cmd
}

// systemGCCommand is `nomadlike system gc`: as Nomad's, it collects every
// terminal job, evaluation, allocation, deployment and down node now,
// whatever the server's thresholds, and prints nothing on success.
func (c *cli) systemGCCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "gc",
		Short: "Garbage collect terminal jobs, evaluations, allocations, deployments and down nodes now",
		Long: "Garbage collect now, regardless of the servers' *_gc_threshold settings: dead jobs are\n" +
			"purged with their versions, evaluations, allocations and deployments; terminal\n" +
			"evaluations and allocations, finished deployments and down nodes without live\n" +
			"allocations are removed. Clients then delete the collected allocations' directories.",
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.GarbageCollect(cmd.Context()); err != nil {
				return fail("garbage collecting", err, "")
			}
			return nil
		},
	}
}
