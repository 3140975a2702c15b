package command

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) serviceCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service <subcommand>",
		Short: "Inspect Nomad service discovery: the services allocations registered",
	}
	cmd.AddCommand(c.serviceListCommand(), c.serviceInfoCommand(), c.serviceDeleteCommand())
	return cmd
}

// tagList formats tags as Nomad does: [a,b].
func tagList(tags []string) string { return "[" + strings.Join(tags, ",") + "]" }

func (c *cli) serviceListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-json]",
		Short: "List the registered services with their tags",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, _, err := cl.ListServices(cmd.Context(), c.query())
			if err != nil {
				return fail("listing services", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, list)
			}
			var rows [][]string
			all := c.namespace == "*"
			for _, ns := range list {
				for _, s := range ns.Services {
					row := []string{s.ServiceName, tagList(s.Tags), structs.ServiceDNSName(ns.Namespace, s.ServiceName)}
					if all {
						row = append([]string{ns.Namespace}, row...)
					}
					rows = append(rows, row)
				}
			}
			if len(rows) == 0 {
				c.out("No services found")
				return nil
			}
			header := []string{"Service Name", "Tags", "DNS Name"}
			if all {
				header = append([]string{"Namespace"}, header...)
			}
			writeTable(c.stdout, header, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the services as JSON")
	return cmd
}

func (c *cli) serviceInfoCommand() *cobra.Command {
	var verbose, asJSON bool
	cmd := &cobra.Command{
		Use:   "info [-verbose] [-json] <service-name>",
		Short: "Show a service's registrations: address, tags, node and allocation of each",
		Args:  argsBetween(1, 1, "one service name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			regs, _, err := cl.ServiceRegistrations(cmd.Context(), args[0], c.query())
			if err != nil {
				return fail("reading service "+args[0], err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, regs)
			}
			if len(regs) == 0 {
				return fail("reading service "+args[0], fmt.Errorf("no registrations of service %q", args[0]),
					"List the services with 'nomadlike service list'.")
			}
			c.serviceInfoTable(regs, verbose)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show every field of each registration, with full IDs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the registrations as JSON")
	return cmd
}

// serviceInfoTable prints registrations as Nomad's `service info` does: a
// table, or with verbose one block of fields per registration.
func (c *cli) serviceInfoTable(regs []*structs.ServiceRegistration, verbose bool) {
	addr := func(r *structs.ServiceRegistration) string { return net.JoinHostPort(r.Address, strconv.Itoa(r.Port)) }
	if verbose {
		for i, r := range regs {
			if i > 0 {
				c.out("")
			}
			writeKV(c.stdout, []kv{{"ID", r.ID}, {"Service Name", r.ServiceName}, {"Namespace", r.Namespace},
				{"Job ID", r.JobID}, {"Alloc ID", r.AllocID}, {"Node ID", r.NodeID}, {"Datacenter", r.Datacenter},
				{"Address", addr(r)}, {"Tags", tagList(r.Tags)}, {"DNS Name", structs.ServiceDNSName(r.Namespace, r.ServiceName)}})
		}
		return
	}
	// The DNS name clients answer for the service (one per namespace: a
	// wildcard namespace query may return several).
	seen := map[string]bool{}
	for _, r := range regs {
		if n := structs.ServiceDNSName(r.Namespace, r.ServiceName); !seen[n] {
			seen[n] = true
			writeKV(c.stdout, []kv{{"DNS Name", n}})
		}
	}
	c.out("")
	rows := make([][]string, len(regs))
	for i, r := range regs {
		rows[i] = []string{r.JobID, addr(r), tagList(r.Tags), shortID(r.NodeID, false), shortID(r.AllocID, false)}
	}
	writeTable(c.stdout, []string{"Job ID", "Address", "Tags", "Node ID", "Alloc ID"}, rows)
}

func (c *cli) serviceDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <service-name> <registration-id>",
		Short: "Remove one registration of a service (see IDs with service info -verbose)",
		Args:  argsBetween(2, 2, "a service name and a registration ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteServiceRegistration(cmd.Context(), args[0], args[1], c.query()); err != nil {
				return fail("deleting registration "+args[1]+" of service "+args[0], err,
					"See the registration IDs with 'nomadlike service info -verbose "+args[0]+"'.")
			}
			c.out("Successfully deleted service registration")
			return nil
		},
	}
}
