package command

import (
	"fmt"
	"net"
	"sort"
	"strconv"

	"github.com/spf13/cobra"
)

// serverCommand is `nomadlike server`: the servers' membership.
func (c *cli) serverCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "server <subcommand>",
		Short: "Inspect and change the servers' gossip membership",
	}
	cmd.AddCommand(c.serverMembersCommand(), c.serverJoinCommand(), c.serverForceLeaveCommand())
	return cmd
}

func (c *cli) serverMembersCommand() *cobra.Command {
	var asJSON, detailed bool
	cmd := &cobra.Command{
		Use:   "members [-detailed] [-json]",
		Short: "List the servers in the gossip pool, with their status and the leader",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			m, err := cl.Members(ctx)
			if err != nil {
				return fail("listing server members", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, m.Members)
			}
			leader, _ := cl.Leader(ctx) // no leader: no member is marked
			sort.Slice(m.Members, func(i, j int) bool { return m.Members[i].Name < m.Members[j].Name })
			header := []string{"Name", "Address", "Port", "Status", "Leader", "Raft Version", "Build", "Datacenter", "Region"}
			if detailed {
				header = append(header, "Tags")
			}
			var rows [][]string
			for _, mem := range m.Members {
				rpc := mem.Tags["rpc_addr"]
				if rpc == "" {
					rpc = net.JoinHostPort(mem.Addr, mem.Tags["port"])
				}
				row := []string{mem.Name, mem.Addr, strconv.Itoa(int(mem.Port)), mem.Status,
					strconv.FormatBool(leader != "" && rpc == leader), orNone(mem.Tags["raft_vsn"]),
					orNone(mem.Tags["build"]), orNone(mem.Tags["dc"]), orNone(mem.Tags["region"])}
				if detailed {
					row = append(row, fmt.Sprint(mem.Tags))
				}
				rows = append(rows, row)
			}
			writeTable(c.stdout, header, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the members as JSON")
	cmd.Flags().BoolVar(&detailed, "detailed", false, "show every member's tags")
	return cmd
}

func (c *cli) serverJoinCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "join <serf address>...",
		Short: "Make the agent's server join the gossip pool of other servers (host or host:port, serf port 4648)",
		Args:  argsAtLeast(1, "the serf address (host or host:port) of at least one server"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			n, err := cl.Join(cmd.Context(), args...)
			if err != nil {
				return fail("joining "+fmt.Sprint(args), err, "Give the serf address (port 4648 by default) of a running server, and check the gossip encryption keys match.")
			}
			c.out("Joined %d servers successfully", n)
			return nil
		},
	}
}

func (c *cli) serverForceLeaveCommand() *cobra.Command {
	var prune bool
	cmd := &cobra.Command{
		Use:   "force-leave [-prune] <member name>",
		Short: "Mark a failed server as left, so the leader removes it from Raft",
		Args:  argsBetween(1, 1, "the member name, as `server members` shows it"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.ForceLeave(cmd.Context(), args[0], prune); err != nil {
				return fail("force-leave of "+args[0], err, "")
			}
			c.out("Member %q marked as left", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&prune, "prune", false, "also forget the member entirely")
	return cmd
}
