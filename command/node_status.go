package command

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) nodeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node <subcommand>",
		Short: "Inspect client nodes",
	}
	cmd.AddCommand(c.nodeStatusCommand(), c.nodeDrainCommand(), c.nodeEligibilityCommand(), c.nodeConfigCommand(), c.nodePoolCommand(), c.nodeMetaCommand())
	return cmd
}

var nodeListHeader = []string{"ID", "DC", "Name", "Class", "Drain", "Eligibility", "Status"}

func nodeListRows(nodes []*structs.NodeListStub, verbose bool) [][]string {
	rows := make([][]string, len(nodes))
	for i, n := range nodes {
		rows[i] = []string{shortID(n.ID, verbose), n.Datacenter, n.Name, orNone(n.NodeClass),
			strconv.FormatBool(n.Drain), n.SchedulingEligibility, n.Status}
	}
	return rows
}

func (c *cli) nodeStatusCommand() *cobra.Command {
	var verbose, asJSON, self bool
	cmd := &cobra.Command{
		Use:   "status [-verbose] [-json] [-self | node-id]",
		Short: "List client nodes, or show one node's drivers, resources and allocations",
		Args:  argsBetween(0, 1, "at most one node ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			if self {
				if len(args) > 0 {
					return usageError("nomadlike node status", "give either -self or a node ID, not both")
				}
				id, err := c.selfNodeID(ctx, cl)
				if err != nil {
					return err
				}
				args = []string{id}
			}
			if len(args) == 0 {
				nodes, _, err := cl.ListNodes(ctx, c.query())
				if err != nil {
					return fail("listing nodes", err, "")
				}
				if asJSON {
					return writeJSON(c.stdout, nodes)
				}
				if len(nodes) == 0 {
					c.out("No nodes registered")
					return nil
				}
				writeTable(c.stdout, nodeListHeader, nodeListRows(nodes, verbose))
				return nil
			}
			node, err := c.resolveNode(ctx, cl, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, node)
			}
			return c.showNode(ctx, cl, node, verbose)
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs and the node's attributes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the node (or the node list) as JSON")
	cmd.Flags().BoolVar(&self, "self", false, "show the node of the agent at -address (a client agent)")
	return cmd
}

// selfNodeID is the node ID of the client in the agent at -address.
func (c *cli) selfNodeID(ctx context.Context, cl *api.Client) (string, error) {
	self, err := cl.AgentSelf(ctx)
	if err != nil {
		return "", fail("reading the agent's configuration (/v1/agent/self)", err, "")
	}
	stats, _ := self["stats"].(map[string]any)
	client, _ := stats["client"].(map[string]any)
	id, _ := client["node_id"].(string)
	if id == "" {
		return "", &cliError{code: exitError, doing: "finding this agent's node",
			err:  fmt.Errorf("the agent at %s runs no client", c.address),
			hint: "Point -address (NOMAD_ADDR) at a client agent, or list the nodes with 'nomadlike node status'."}
	}
	return id, nil
}

func (c *cli) showNode(ctx context.Context, cl *api.Client, n *structs.Node, verbose bool) error {
	allocs, _, err := cl.NodeAllocations(ctx, n.ID, c.query())
	if err != nil {
		return fail(fmt.Sprintf("listing the allocations of node %q", shortID(n.ID, false)), err, "")
	}
	pairs := []kv{
		{"ID", shortID(n.ID, verbose)},
		{"Name", n.Name},
		{"Class", orNone(n.NodeClass)},
		{"DC", n.Datacenter},
		{"Drain", drainText(n, c.now())},
		{"Eligibility", n.SchedulingEligibility},
		{"Status", n.Status},
	}
	if n.StatusDescription != "" {
		pairs = append(pairs, kv{"Status Description", n.StatusDescription})
	}
	if up := n.Attributes["unique.host.uptime"]; up != "" {
		pairs = append(pairs, kv{"Uptime", up})
	}
	pairs = append(pairs, kv{"Drivers", driversText(n.Drivers)})
	writeKV(c.stdout, pairs)

	var used structs.ComparableResources
	stubs := make([]*structs.AllocListStub, 0, len(allocs))
	for _, a := range allocs {
		stubs = append(stubs, a.Stub())
		if !a.TerminalStatus() {
			used.Add(a.AllocatedResources.Comparable())
		}
	}
	total := n.Comparable()
	c.out("\nAllocated Resources")
	writeTable(c.stdout, []string{"CPU", "Memory", "Disk"}, [][]string{{
		fmt.Sprintf("%d/%d MHz", used.CPU, total.CPU),
		fmt.Sprintf("%s/%s", formatMB(used.MemoryMB), formatMB(total.MemoryMB)),
		fmt.Sprintf("%s/%s", formatMB(used.DiskMB), formatMB(total.DiskMB)),
	}})

	if verbose && len(n.HostVolumes) > 0 {
		c.out("\nHost Volumes")
		var rows [][]string
		for _, name := range slices.Sorted(maps.Keys(n.HostVolumes)) {
			v := n.HostVolumes[name]
			rows = append(rows, []string{name, strconv.FormatBool(v.ReadOnly), v.Path})
		}
		writeTable(c.stdout, []string{"Name", "ReadOnly", "Source"}, rows)
	}

	if verbose && len(n.HostNetworks) > 0 {
		c.out("\nHost Networks")
		var rows [][]string
		for _, name := range slices.Sorted(maps.Keys(n.HostNetworks)) {
			hn := n.HostNetworks[name]
			var addrs []string
			if n.NodeResources != nil {
				for _, nn := range n.NodeResources.NodeNetworks {
					for _, a := range nn.Addresses {
						if a.Alias == name {
							addrs = append(addrs, a.Address+" ("+nn.Device+")")
						}
					}
				}
			}
			rows = append(rows, []string{name, orNone(hn.CIDR), orNone(hn.Interface), orNone(hn.ReservedPorts), orNone(strings.Join(addrs, ", "))})
		}
		writeTable(c.stdout, []string{"Name", "CIDR", "Interface", "ReservedPorts", "Addresses"}, rows)
	}

	if verbose && len(n.Attributes) > 0 {
		c.out("\nAttributes")
		var pairs []kv
		for _, k := range slices.Sorted(maps.Keys(n.Attributes)) {
			pairs = append(pairs, kv{k, n.Attributes[k]})
		}
		writeKV(c.stdout, pairs)
	}

	c.out("\nAllocations")
	if len(stubs) == 0 {
		c.out("No allocations placed")
		return nil
	}
	writeTable(c.stdout, allocTableHeader, c.allocTableRows(stubs, verbose))
	return nil
}

// driversText lists the detected drivers, marking unhealthy ones with why:
// "qemu (unhealthy: no qemu binary), raw_exec".
func driversText(drivers map[string]*structs.DriverInfo) string {
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(drivers)) {
		d := drivers[name]
		switch {
		case d == nil || !d.Detected:
			continue
		case d.Healthy:
			parts = append(parts, name)
		default:
			parts = append(parts, fmt.Sprintf("%s (unhealthy: %s)", name, orNone(d.HealthDescription)))
		}
	}
	if len(parts) == 0 {
		return "<none>"
	}
	return strings.Join(parts, ", ")
}
