package command

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) nodeDrainCommand() *cobra.Command {
	var enable, disable, ignoreSystem, yes, force, noDeadline, keepIneligible bool
	var deadline time.Duration
	cmd := &cobra.Command{
		Use:   "drain -enable [-deadline 1h] [-ignore-system] [-yes] <node> | -disable <node>",
		Short: "Move allocations off a node (drain it) or stop draining it",
		Long: `Drain a node: it is marked ineligible and its service and batch allocations
migrate to other nodes (each group's migrate block max_parallel at a time, 1 by
default); system allocations go last, unless -ignore-system. At the deadline
whatever is left is stopped. When the node is empty the drain completes and the
node stays ineligible. -disable ends a drain and marks the node eligible
(unless -keep-ineligible).`,
		Args: argsBetween(1, 1, "one node ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if enable == disable {
				return usageError(cmd.CommandPath(), "give exactly one of -enable or -disable")
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
			if disable {
				if _, err := cl.UpdateNodeDrain(ctx, node.ID, nil, !keepIneligible); err != nil {
					return fail(fmt.Sprintf("disabling the drain of node %q", short), err, "")
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
			if _, err := cl.UpdateNodeDrain(ctx, node.ID, spec, false); err != nil {
				return fail(fmt.Sprintf("draining node %q", short), err, "")
			}
			c.out("Node %q drain strategy set", short)
			c.out("Watch it with 'nomadlike node status %s'.", short)
			return nil
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
	return cmd
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
				return fail(fmt.Sprintf("setting the eligibility of node %q", short), err, "")
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
