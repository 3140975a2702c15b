package command

import "github.com/spf13/cobra"

func (c *cli) jobCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job <subcommand>",
		Short: "Create, run, inspect and stop jobs",
	}
	cmd.AddCommand(c.jobInitCommand(), c.jobRunCommand(), c.jobStatusCommand(), c.jobStopCommand(),
		c.jobPlanCommand())
	return cmd
}
