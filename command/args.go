package command

import "github.com/spf13/cobra"

// argsBetween returns a cobra argument check that accepts min to max
// arguments and otherwise says what was expected; what describes them,
// e.g. "one job file (or - for stdin)".
func argsBetween(min, max int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		return usageError(cmd.CommandPath(), "%s expects %s, got %d argument(s) %q", cmd.CommandPath(), what, len(args), args)
	}
}
