package command

import (
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) allocStatusCommand() *cobra.Command {
	var verbose, asJSON, stats bool
	cmd := &cobra.Command{
		Use:   "status [-verbose] [-json] <alloc-id>",
		Short: "Show an allocation: its placement, its tasks' states and their recent events",
		Args:  argsBetween(1, 1, "one allocation ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			a, err := c.resolveAlloc(ctx, cl, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, a)
			}
			var usage *structs.AllocResourceUsage
			if stats {
				usage = c.allocUsage(ctx, cl, a)
			}
			c.showAlloc(a, verbose, usage)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs and placement metrics")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the allocation as JSON")
	cmd.Flags().BoolVar(&stats, "stats", false, "show each running task's resource usage (CPU, memory) from its node")
	return cmd
}

func (c *cli) showAlloc(a *structs.Allocation, verbose bool, usage *structs.AllocResourceUsage) {
	now := c.now()
	version := "<unknown>"
	if a.Job != nil {
		version = strconv.FormatUint(a.Job.Version, 10)
	}
	created := prettyTimeDiff(unixNano(a.CreateTime), now)
	modified := prettyTimeDiff(unixNano(a.ModifyTime), now)
	if verbose {
		created, modified = formatUnixNano(a.CreateTime, now.Location()), formatUnixNano(a.ModifyTime, now.Location())
	}
	rows := []kv{
		{"ID", a.ID},
		{"Eval ID", shortID(a.EvalID, verbose)},
		{"Name", a.Name},
		{"Node ID", shortID(a.NodeID, verbose)},
		{"Node Name", orNone(a.NodeName)},
		{"Job ID", a.JobID},
		{"Job Version", version},
		{"Client Status", a.ClientStatus},
		{"Client Description", orNone(a.ClientDescription)},
		{"Desired Status", a.DesiredStatus},
		{"Desired Description", orNone(a.DesiredDescription)},
		{"Created", created},
		{"Modified", modified},
	}
	// One block, so that the optional rows align with the others.
	if a.FollowupEvalID != "" {
		rows = append(rows, kv{"Reschedule Eval", shortID(a.FollowupEvalID, verbose)})
	}
	if a.NextAllocation != "" {
		rows = append(rows, kv{"Replacement Alloc ID", shortID(a.NextAllocation, verbose)})
	}
	writeKV(c.stdout, rows)
	c.showAllocAddresses(a)
	if verbose && a.Metrics != nil {
		m := a.Metrics
		c.out("\nPlacement Metrics")
		writeKV(c.stdout, []kv{
			{"Nodes Evaluated", strconv.Itoa(m.NodesEvaluated)},
			{"Nodes Filtered", strconv.Itoa(m.NodesFiltered)},
			{"Nodes Exhausted", strconv.Itoa(m.NodesExhausted)},
		})
	}
	for _, name := range allocTaskNames(a) {
		c.out("")
		ts := a.TaskStates[name]
		state := "pending"
		if ts != nil && ts.State != "" {
			state = ts.State
		}
		c.out("Task %q is %q", name, state)
		if tr := taskResources(a, name); tr != nil {
			c.out("Task Resources:")
			if tu := taskUsage(usage, name); tu != nil {
				c.showTaskUsage(tr, tu)
			} else {
				writeTable(c.stdout, []string{"CPU", "Memory"}, [][]string{{formatMHz(tr.Cpu.CpuShares), formatMB(tr.Memory.MemoryMB)}})
			}
		}
		if ts == nil || len(ts.Events) == 0 {
			continue
		}
		if ts.Restarts > 0 || ts.Failed {
			c.out("Restarts = %d, Failed = %t", ts.Restarts, ts.Failed)
		}
		c.out("\nRecent Events:")
		rows := make([][]string, 0, len(ts.Events))
		for i := len(ts.Events) - 1; i >= 0; i-- {
			e := ts.Events[i]
			rows = append(rows, []string{formatUnixNano(e.Time, now.Location()), e.Type, eventMessage(e)})
		}
		writeTable(c.stdout, []string{"Time", "Type", "Description"}, rows)
	}
}

// showAllocAddresses prints the allocation's ports as Nomad's alloc status
// does ("Allocation Addresses (mode = ...)": label, dynamic, host address ->
// the port inside), and the allocation's own address in bridge and
// cni/<name> modes.
func (c *cli) showAllocAddresses(a *structs.Allocation) {
	mode := "host"
	if a.Job != nil {
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			for _, n := range tg.Networks {
				if n.Mode != "" {
					mode = n.Mode
				}
			}
		}
	}
	if st := a.NetworkStatus; st != nil && st.Address != "" {
		c.out("\nAllocation Network (mode = %q): %s on %s", mode, st.Address, st.InterfaceName)
	}
	if a.AllocatedResources == nil || len(a.AllocatedResources.Shared.Ports) == 0 {
		return
	}
	static := map[string]bool{}
	if a.Job != nil {
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			for _, n := range tg.Networks {
				for _, p := range n.ReservedPorts {
					static[p.Label] = true
				}
			}
		}
	}
	c.out("\nAllocation Addresses (mode = %q):", mode)
	rows := make([][]string, 0, len(a.AllocatedResources.Shared.Ports))
	for _, p := range a.AllocatedResources.Shared.Ports {
		dynamic := "yes"
		if static[p.Label] {
			dynamic = "no"
		}
		addr := net.JoinHostPort(p.HostIP, p.HostRange())
		if p.To > 0 && p.To != p.Value {
			addr += " -> " + p.InTaskRange()
		}
		rows = append(rows, []string{"*" + p.Label, dynamic, addr})
	}
	writeTable(c.stdout, []string{"Label", "Dynamic", "Address"}, rows)
}

// allocTaskNames lists the allocation's tasks in the job's order, falling
// back to the task states' names.
func allocTaskNames(a *structs.Allocation) []string {
	var names []string
	if a.Job != nil {
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			for _, t := range tg.Tasks {
				names = append(names, t.Name)
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(a.TaskStates)) {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

func taskResources(a *structs.Allocation, task string) *structs.AllocatedTaskResources {
	if a.AllocatedResources == nil {
		return nil
	}
	return a.AllocatedResources.Tasks[task]
}
