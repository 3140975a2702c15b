package command

import (
	"github.com/spf13/cobra"
)

// nodeConfigCommand is `nomadlike node config`: view or replace a client
// agent's server list, as Nomad's `nomad node config -servers` and
// `-update-servers`. Addresses are the servers' HTTP addresses (port 4646
// when none is given), which is what nomadlike clients talk to.
func (c *cli) nodeConfigCommand() *cobra.Command {
	var list, update, asJSON bool
	cmd := &cobra.Command{
		Use:   "config (-servers [-json] | -update-servers <host:port>...)",
		Short: "Show or replace the servers a client agent talks to",
		Long: "Show or replace the servers a client agent talks to. Point -address at the client agent.\n" +
			"-update-servers replaces the whole list at once: name every server (HTTP address, port 4646 by default).",
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case list == update:
				return usageError(cmd.CommandPath(), "give exactly one of -servers or -update-servers")
			case list && len(args) > 0:
				return usageError(cmd.CommandPath(), "-servers takes no arguments")
			case update && len(args) == 0:
				return usageError(cmd.CommandPath(), "-update-servers needs the address of at least one server")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if update {
				if err := cl.SetAgentServers(cmd.Context(), args); err != nil {
					return fail("updating the client's servers", err, "")
				}
				c.out("Updated server list")
				return nil
			}
			servers, err := cl.AgentServers(cmd.Context())
			if err != nil {
				return fail("listing the client's servers", err, "Point -address (or NOMAD_ADDR) at a client agent.")
			}
			if asJSON {
				return writeJSON(c.stdout, servers)
			}
			for _, s := range servers {
				c.out("%s", s)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&list, "servers", false, "list the client's known servers, the one in use first")
	cmd.Flags().BoolVar(&asJSON, "json", false, "with -servers, print the list as a JSON array")
	cmd.Flags().BoolVar(&update, "update-servers", false, "replace the client's servers with the addresses given as arguments")
	return cmd
}
