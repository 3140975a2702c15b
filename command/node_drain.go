package command

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) nodeDrainCommand() *cobra.Command {
	var enable, disable, ignoreSystem, yes, force, noDeadline, keepIneligible, detach, monitor bool
	var deadline time.Duration
	cmd := &cobra.Command{
		Use:   "drain -enable [-deadline 1h] [-ignore-system] [-yes] [-detach] <node> | -disable <node> | -monitor <node>",
		Short: "Move allocations off a node (drain it) or stop draining it",
		Long: `Drain a node: it is marked ineligible and its service and batch allocations
migrate to other nodes (each group's migrate block max_parallel at a time, 1 by
default); system allocations go last, unless -ignore-system. At the deadline
whatever is left is stopped. When the node is empty the drain completes and the
node stays ineligible. -disable ends a drain and marks the node eligible
(unless -keep-ineligible).

-enable follows the drain until it completes, printing each allocation marked
for migration, stopped and changing status, unless -detach; -monitor follows a
drain already under way. Interrupting the command does not cancel the drain.`,
		Args: argsBetween(1, 1, "one node ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if monitor && (enable || disable) {
				return usageError(cmd.CommandPath(), "-monitor follows a drain without changing it; give it without -enable or -disable")
			}
			if monitor && detach {
				return usageError(cmd.CommandPath(), "-monitor and -detach contradict each other; give one")
			}
			if !monitor && enable == disable {
				return usageError(cmd.CommandPath(), "give exactly one of -enable or -disable (or -monitor to follow a drain)")
			}
			if force && noDeadline {
				return usageError(cmd.CommandPath(), "-force and -no-deadline contradict each other; give one")
			}
			if deadline < 0 {
				return usageError(cmd.CommandPath(), "-deadline %s is negative; use -force to stop everything at once", deadline)
			}
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			node, err := c.resolveNode(ctx, cl, args[0])
			if err != nil {
				return err
			}
			short := shortID(node.ID, false)
			if monitor {
				return c.followDrain(ctx, cl, node.ID, nil, false)
			}
			if disable {
				if _, err := cl.UpdateNodeDrain(ctx, node.ID, nil, !keepIneligible); err != nil {
					return fail(fmt.Sprintf("disabling the drain of node %q", short), err,
						hintOn(err, fmt.Sprintf("To make the node eligible again run 'nomadlike node eligibility -enable %s'.", short), http.StatusBadRequest))
				}
				c.out("Node %q drain strategy unset", short)
				return nil
			}
			if !yes {
				ok, err := c.confirm(fmt.Sprintf("Are you sure you want to enable drain mode for node %q? [y/N] ", short))
				if err != nil {
					return fail("asking for confirmation", err, "Pass -yes to drain without asking.")
				}
				if !ok {
					c.out("Canceling drain")
					return exitWith(exitError)
				}
			}
			spec := &structs.DrainSpec{Deadline: deadline, IgnoreSystemJobs: ignoreSystem}
			switch {
			case force:
				spec.Deadline = -1
			case noDeadline:
				spec.Deadline = 0
			}
			var baseline []*structs.Allocation
			if !detach {
				// Read before the drain starts, so the monitor sees every change it makes.
				if baseline, _, err = cl.NodeAllocations(ctx, node.ID, c.query()); err != nil {
					return fail(fmt.Sprintf("listing the allocations of node %q", short), err, "")
				}
				if baseline == nil {
					baseline = []*structs.Allocation{}
				}
			}
			if _, err := cl.UpdateNodeDrain(ctx, node.ID, spec, false); err != nil {
				return fail(fmt.Sprintf("draining node %q", short), err, "")
			}
			if detach {
				c.out("Node %q drain strategy set", short)
				c.out("Watch it with 'nomadlike node drain -monitor %s' or 'nomadlike node status %s'.", short, short)
				return nil
			}
			return c.followDrain(ctx, cl, node.ID, baseline, ignoreSystem)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&enable, "enable", false, "start draining the node")
	f.BoolVar(&disable, "disable", false, "stop draining the node")
	f.DurationVar(&deadline, "deadline", time.Hour, "how long allocations may take to migrate before the rest are stopped")
	f.BoolVar(&noDeadline, "no-deadline", false, "never stop allocations: wait for them to migrate")
	f.BoolVar(&force, "force", false, "stop every allocation at once (no migration pacing)")
	f.BoolVar(&ignoreSystem, "ignore-system", false, "leave system and sysbatch allocations running")
	f.BoolVar(&keepIneligible, "keep-ineligible", false, "with -disable, leave the node ineligible")
	f.BoolVar(&yes, "yes", false, "do not ask for confirmation")
	f.BoolVar(&detach, "detach", false, "with -enable, return once the drain is set instead of following it")
	f.BoolVar(&monitor, "monitor", false, "follow a drain under way until it completes, without changing it")
	return cmd
}

// followDrain prints a drain's progress until it is over (see drainMonitor).
// baseline, the node's allocations read before the caller set the drain, is
// nil with -monitor; when set, the drain is announced and one already over
// at the first read completed rather than never was. ignoreSys leaves
// system allocations out of "all allocations stopped".
func (c *cli) followDrain(ctx context.Context, cl *api.Client, nodeID string, baseline []*structs.Allocation, ignoreSys bool) error {
	short := shortID(nodeID, false)
	justSet := baseline != nil
	node, meta, err := cl.Node(ctx, nodeID, c.query())
	if err != nil {
		return fail(fmt.Sprintf("reading node %q", short), err, "")
	}
	m := &drainMonitor{c: c, cl: cl, node: node, ignoreSys: ignoreSys, sawDrain: justSet, baseline: baseline}
	if !justSet && node.DrainStrategy != nil {
		m.ignoreSys = node.DrainStrategy.IgnoreSystemJobs
	}
	m.stampf("Ctrl-C to stop monitoring: will not cancel the node drain")
	if justSet {
		m.stampf("Node %q drain strategy set", short)
	} else if node.DrainStrategy == nil {
		m.stampf("No drain strategy set for node %s", short)
		return nil
	}
	return m.run(ctx, meta.LastIndex)
}

func (c *cli) nodeEligibilityCommand() *cobra.Command {
	var enable, disable bool
	cmd := &cobra.Command{
		Use:   "eligibility -enable|-disable <node>",
		Short: "Allow or forbid new placements on a node (its allocations keep running)",
		Args:  argsBetween(1, 1, "one node ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable == disable {
				return usageError(cmd.CommandPath(), "give exactly one of -enable or -disable")
			}
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			node, err := c.resolveNode(ctx, cl, args[0])
			if err != nil {
				return err
			}
			short := shortID(node.ID, false)
			if _, err := cl.UpdateNodeEligibility(ctx, node.ID, enable); err != nil {
				return fail(fmt.Sprintf("setting the eligibility of node %q", short), err,
					hintOn(err, fmt.Sprintf("End the drain first: 'nomadlike node drain -disable %s'.", short), http.StatusBadRequest))
			}
			state := structs.NodeSchedulingEligible
			if disable {
				state = structs.NodeSchedulingIneligible
			}
			c.out("Node %q scheduling eligibility set: %s for scheduling", short, state)
			return nil
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", false, "mark the node eligible for new placements")
	cmd.Flags().BoolVar(&disable, "disable", false, "mark the node ineligible for new placements")
	return cmd
}

// drainText describes a node's drain for 'node status': "false", or "true"
// with the deadline and whether system jobs stay.
func drainText(n *structs.Node, now time.Time) string {
	if !n.Drain {
		return "false"
	}
	d := n.DrainStrategy
	if d == nil {
		return "true"
	}
	var parts []string
	switch {
	case d.Deadline < 0:
		parts = append(parts, "forced")
	case d.ForceDeadline.IsZero():
		parts = append(parts, "no deadline")
	default:
		left := d.ForceDeadline.Sub(now).Round(time.Second)
		if left < 0 {
			left = 0
		}
		parts = append(parts, "deadline "+d.ForceDeadline.UTC().Format(time.RFC3339)+" (in "+left.String()+")")
	}
	if d.IgnoreSystemJobs {
		parts = append(parts, "ignoring system jobs")
	}
	return strconv.FormatBool(true) + " (" + strings.Join(parts, ", ") + ")"
}
