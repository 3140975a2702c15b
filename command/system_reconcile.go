package command

import "github.com/spf13/cobra"

// systemReconcileCommand is `nomadlike system reconcile summaries`, as
// Nomad's: the servers recount every job summary; nothing is printed on
// success.
func (c *cli) systemReconcileCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "reconcile <subcommand>", Short: "Reconcile derived cluster state"}
	cmd.AddCommand(&cobra.Command{
		Use:   "summaries",
		Short: "Recount every job summary from its allocations",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.ReconcileSummaries(cmd.Context()); err != nil {
				return fail("reconciling job summaries", err, "")
			}
			return nil
		},
	})
	return cmd
}
