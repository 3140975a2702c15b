package agent

// CONTRACT FILE: command/ (the CLI) adds `nomadlike agent` by calling
// NewCommand. The agent helper owns this file and replaces the body.

import "github.com/spf13/cobra"

// NewCommand returns the `agent` subcommand: it parses -dev, -config (file or
// dir, repeatable) and the flags that override the config, then runs the
// agent until SIGINT/SIGTERM.
func NewCommand() *cobra.Command {
	return &cobra.Command{Use: "agent", Short: "Run a nomadlike agent (server, client, or both with -dev)"}
}
