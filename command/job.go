package command

import "github.com/spf13/cobra"

func (c *cli) jobCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "job <subcommand>",
		Short: "Create, run, inspect and stop jobs",
	}
	cmd.AddCommand(c.jobInitCommand(), c.jobRunCommand(), c.jobStatusCommand(), c.jobStopCommand(),
		c.jobPlanCommand(), c.jobHistoryCommand(), c.jobRevertCommand(), c.jobInspectCommand(), c.jobValidateCommand(),
		c.jobPeriodicCommand(), c.jobDispatchCommand(), c.jobScaleCommand(), c.jobRestartCommand(), c.jobLogsCommand())
	cmd.AddCommand(c.jobScalingEventsCommand(), c.jobTagCommand(), c.jobActionCommand("action"))
	return cmd
}
