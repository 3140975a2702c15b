package command

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// nodeMetaCommand is `nomadlike node meta`, as Nomad's `nomad node meta`:
// dynamic node metadata, kept by the node's client across restarts.
func (c *cli) nodeMetaCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "meta <subcommand>", Short: "Read and change a node's metadata"}
	cmd.AddCommand(c.nodeMetaReadCommand(), c.nodeMetaApplyCommand())
	return cmd
}

func (c *cli) nodeMetaReadCommand() *cobra.Command {
	var nodeID string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "read [-node-id id] [-json]",
		Short: "Show a node's metadata: all of it, the dynamic part and the static part",
		Args:  argsBetween(0, 0, "no arguments (name the node with -node-id)"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if nodeID, err = c.nodeIDFlag(cmd.Context(), cl, nodeID); err != nil {
				return err
			}
			m, err := cl.NodeMeta(cmd.Context(), nodeID)
			if err != nil {
				return fail("reading node metadata", err, "Without -node-id the node is the one of the agent asked (-address).")
			}
			if asJSON {
				return writeJSON(c.stdout, m)
			}
			c.out("All Meta")
			writeKV(c.stdout, metaPairs(m.Meta))
			c.out("\nDynamic Meta")
			dyn := make(map[string]string, len(m.Dynamic))
			for k, v := range m.Dynamic {
				if v == nil {
					dyn[k] = "<unset>"
				} else {
					dyn[k] = *v
				}
			}
			writeKV(c.stdout, metaPairs(dyn))
			c.out("\nStatic Meta")
			writeKV(c.stdout, metaPairs(m.Static))
			return nil
		},
	}
	cmd.Flags().StringVar(&nodeID, "node-id", "", "the node (ID or prefix); default: the node of the agent asked")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the metadata as JSON")
	return cmd
}

// metaPairs are a map's entries sorted by key.
func metaPairs(m map[string]string) []kv {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]kv, len(keys))
	for i, k := range keys {
		out[i] = kv{k, m[k]}
	}
	return out
}

func (c *cli) nodeMetaApplyCommand() *cobra.Command {
	var nodeID, unset string
	cmd := &cobra.Command{
		Use:   "apply [-node-id id] [-unset key1,key2] [key=value...]",
		Short: "Set and unset a node's dynamic metadata (kept across client restarts; constraints see it)",
		RunE: func(cmd *cobra.Command, args []string) error {
			req := &structs.NodeMetaApplyRequest{Meta: map[string]*string{}}
			for _, a := range args {
				k, v, ok := strings.Cut(a, "=")
				if !ok || k == "" {
					return usageError(cmd.CommandPath(), "metadata is given as key=value, not %q", a)
				}
				req.Meta[k] = &v
			}
			if unset != "" {
				for k := range strings.SplitSeq(unset, ",") {
					if k = strings.TrimSpace(k); k != "" {
						req.Meta[k] = nil
					}
				}
			}
			if len(req.Meta) == 0 {
				return usageError(cmd.CommandPath(), "give key=value pairs to set and/or -unset keys")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if req.NodeID, err = c.nodeIDFlag(cmd.Context(), cl, nodeID); err != nil {
				return err
			}
			if _, err := cl.ApplyNodeMeta(cmd.Context(), req); err != nil {
				return fail("applying node metadata", err, "Without -node-id the node is the one of the agent asked (-address).")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&nodeID, "node-id", "", "the node (ID or prefix); default: the node of the agent asked")
	cmd.Flags().StringVar(&unset, "unset", "", "comma-separated keys to remove (static keys too)")
	return cmd
}

// nodeIDFlag resolves a -node-id prefix to the node's ID ("" stays "": the
// node of the agent asked).
func (c *cli) nodeIDFlag(ctx context.Context, cl *api.Client, prefix string) (string, error) {
	if prefix == "" {
		return "", nil
	}
	n, err := c.resolveNode(ctx, cl, prefix)
	if err != nil {
		return "", err
	}
	return n.ID, nil
}
