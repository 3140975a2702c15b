package command

import "github.com/spf13/cobra"

func (c *cli) allocCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alloc <subcommand>",
		Short: "Inspect allocations and read their tasks' logs",
	}
	cmd.AddCommand(c.allocStatusCommand(), c.allocLogsCommand())
	return cmd
}
