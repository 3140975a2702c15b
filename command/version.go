package command

import (
	"fmt"

	"github.com/spf13/cobra"
)

// Version is the release version, without the leading "v". Release builds set
// it with -ldflags "-X github.com/nomadlike/nomadlike/command.Version=1.2.3".
var Version = "0.1.0-dev"

func (c *cli) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the nomadlike version",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(c.stdout, "nomadlike v%s\n", Version)
			return err
		},
	}
}
