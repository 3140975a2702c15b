package command

import "github.com/spf13/cobra"

func (c *cli) allocCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "alloc <subcommand>",
		Short: "Inspect allocations, read their tasks' logs, run commands in them, restart, signal and stop them",
	}
	cmd.AddCommand(c.allocStatusCommand(), c.allocLogsCommand(), c.allocExecCommand(),
		c.allocRestartCommand(), c.allocSignalCommand(), c.allocStopCommand(), c.allocFSCommand())
	return cmd
}
