package command

import (
	"fmt"

	"github.com/nomadlike/nomadlike/agent"
	"github.com/spf13/cobra"
)

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nomadlike version",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(c.stdout, "nomadlike v%s\n", agent.Version)
			return err
		},
	}
}
