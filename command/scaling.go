package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// scalingCommand is `nomadlike scaling policy list|info`: the group scaling
// policies and the built-in autoscaler's last decision about each.
func (c *cli) scalingCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "scaling <subcommand>", Short: "Scaling policies and the autoscaler's decisions"}
	policy := &cobra.Command{Use: "policy <subcommand>", Short: "List and inspect scaling policies"}
	policy.AddCommand(c.scalingPolicyListCommand(), c.scalingPolicyInfoCommand())
	cmd.AddCommand(policy)
	return cmd
}

func (c *cli) scalingPolicyListCommand() *cobra.Command {
	var job string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-job <id>] [-json]",
		Short: "List the scaling policies",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			q := c.query()
			if job != "" {
				q.Params = map[string]string{"job": job}
			}
			stubs, err := cl.ScalingPolicies(cmd.Context(), q)
			if err != nil {
				return fail("listing scaling policies", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, stubs)
			}
			if len(stubs) == 0 {
				fmt.Fprintln(c.stdout, "No policies found")
				return nil
			}
			rows := make([][]string, 0, len(stubs))
			for _, p := range stubs {
				rows = append(rows, []string{p.ID, fmt.Sprint(p.Enabled), p.Type, targetString(p.Target)})
			}
			writeTable(c.stdout, []string{"ID", "Enabled", "Type", "Target"}, rows)
			return nil
		},
	}
	cmd.Flags().StringVar(&job, "job", "", "only the policies of this job")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the policies as JSON")
	return cmd
}

func (c *cli) scalingPolicyInfoCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info <policy id> [-json]",
		Short: "Show a scaling policy and the autoscaler's last decision about it",
		Args:  argsBetween(1, 1, "one policy ID (see `nomadlike scaling policy list`)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			p, err := cl.ScalingPolicy(cmd.Context(), args[0], c.query())
			if err != nil {
				return fail("reading scaling policy "+args[0], err, "List the policies with `nomadlike scaling policy list`.")
			}
			if asJSON {
				return writeJSON(c.stdout, p)
			}
			writeKV(c.stdout, []kv{
				{"ID", p.ID}, {"Enabled", fmt.Sprint(p.Enabled)}, {"Target", targetString(p.Target)},
				{"Min", fmt.Sprint(p.Min)}, {"Max", fmt.Sprint(p.Max)},
			})
			fmt.Fprintln(c.stdout, "\nPolicy")
			if err := writeJSON(c.stdout, p.Policy); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, "\nLast Decision")
			d := p.LastDecision
			if d == nil {
				fmt.Fprintln(c.stdout, "none yet (the leader's autoscaler evaluates the policy every evaluation_interval)")
				return nil
			}
			metric := "-"
			if d.Metric != nil {
				metric = fmt.Sprintf("%.2f", *d.Metric)
			}
			writeKV(c.stdout, []kv{
				{"Time", d.Time.Local().Format(time.RFC3339)}, {"Action", d.Action},
				{"Count", fmt.Sprintf("%d -> %d", d.Current, d.Desired)}, {"Check", d.Check}, {"Query", d.Query},
				{"Metric", metric}, {"Reason", d.Reason}, {"Eval ID", d.EvalID},
			})
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the policy and decision as JSON")
	return cmd
}

// targetString is "Namespace:default,Job:web,Group:g" in a stable order.
func targetString(t map[string]string) string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+":"+t[k])
	}
	return strings.Join(parts, ",")
}
