package command

import (
	"strconv"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) evalCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "eval <subcommand>",
		Short: "Inspect evaluations (the scheduler's decisions)",
	}
	cmd.AddCommand(c.evalStatusCommand(), c.evalListCommand(), c.evalDeleteCommand())
	return cmd
}

func (c *cli) evalStatusCommand() *cobra.Command {
	var verbose, asJSON bool
	cmd := &cobra.Command{
		Use:   "status [-verbose] [-json] <eval-id>",
		Short: "Show an evaluation and, in plain words, why placements failed",
		Args:  argsBetween(1, 1, "one evaluation ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			ev, err := c.resolveEval(ctx, cl, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, ev)
			}
			c.showEval(ev, verbose)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs and related evaluations")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the evaluation as JSON")
	return cmd
}

func (c *cli) showEval(ev *structs.Evaluation, verbose bool) {
	loc := c.now().Location()
	pairs := []kv{
		{"ID", shortID(ev.ID, verbose)},
		{"Create Time", formatUnixNano(ev.CreateTime, loc)},
		{"Modify Time", formatUnixNano(ev.ModifyTime, loc)},
		{"Status", ev.Status},
		{"Status Description", orNone(ev.StatusDescription)},
		{"Type", ev.Type},
		{"TriggeredBy", ev.TriggeredBy},
		{"Job ID", ev.JobID},
	}
	if ev.NodeID != "" {
		pairs = append(pairs, kv{"Node ID", shortID(ev.NodeID, verbose)})
	}
	pairs = append(pairs, kv{"Priority", strconv.Itoa(ev.Priority)},
		kv{"Placement Failures", strconv.FormatBool(len(ev.FailedTGAllocs) > 0)})
	if verbose {
		pairs = append(pairs, kv{"Previous Eval", orNone(ev.PreviousEval)}, kv{"Next Eval", orNone(ev.NextEval)},
			kv{"Blocked Eval", orNone(ev.BlockedEval)})
	}
	writeKV(c.stdout, pairs)
	if len(ev.FailedTGAllocs) == 0 {
		return
	}
	c.out("\n==> Failed Placements")
	for _, l := range explainFailedGroups(ev.FailedTGAllocs) {
		c.out("%s", l)
	}
	if ev.BlockedEval != "" {
		c.out("\nEvaluation %q waiting for additional capacity to place remainder", shortID(ev.BlockedEval, verbose))
	}
}
