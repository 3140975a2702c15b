package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// nodePoolCommand is `nomadlike node pool`, as Nomad's `nomad node pool`.
func (c *cli) nodePoolCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "pool <subcommand>", Short: "Create, list, inspect and delete node pools"}
	cmd.AddCommand(c.nodePoolInitCommand(), c.nodePoolListCommand(), c.nodePoolApplyCommand(), c.nodePoolInfoCommand(),
		c.nodePoolNodesCommand(), c.nodePoolJobsCommand(), c.nodePoolDeleteCommand())
	return cmd
}

// examplePoolSpec is what `node pool init` writes, as Nomad's does.
const examplePoolSpec = `node_pool "example" {
  description = "Example node pool"

  # meta is optional metadata on the node pool, defined as key-value pairs.
  # The scheduler does not use node pool metadata as part of scheduling.
  meta {
    environment = "prod"
    owner       = "sre"
  }

  # scheduler_config overrides the cluster's scheduler algorithm for the
  # jobs of this pool ("binpack" or "spread"); without it the cluster's
  # configuration applies.
  # scheduler_config {
  #   scheduler_algorithm = "spread"
  # }
}
`

func (c *cli) nodePoolInitCommand() *cobra.Command {
	var quiet bool
	cmd := &cobra.Command{
		Use:   "init [-quiet] [file]",
		Short: "Write an example node pool specification (pool.nomad.hcl) to start from",
		Args:  argsBetween(0, 1, "at most one file name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if quiet {
				_, err := io.WriteString(c.stdout, examplePoolSpec)
				return err
			}
			file := "pool.nomad.hcl"
			if len(args) == 1 {
				file = args[0]
			}
			if err := writeNewFile(file, examplePoolSpec, "nomadlike node pool init other.nomad.hcl"); err != nil {
				return err
			}
			c.out("Example node pool specification written to %s", file)
			return nil
		},
	}
	cmd.Flags().BoolVar(&quiet, "quiet", false, "print the example on stdout instead of writing a file")
	return cmd
}

func (c *cli) nodePoolListCommand() *cobra.Command {
	var asJSON bool
	var filter string
	cmd := &cobra.Command{
		Use:   "list [-json] [-filter expr] [prefix]",
		Short: "List node pools",
		Args:  argsBetween(0, 1, "at most a name prefix"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			q := c.query()
			q.Filter = filter
			if len(args) == 1 {
				q.Prefix = args[0]
			}
			pools, err := cl.NodePools(cmd.Context(), q)
			if err != nil {
				return fail("listing node pools", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, pools)
			}
			if len(pools) == 0 {
				c.out("No node pools found")
				return nil
			}
			rows := make([][]string, len(pools))
			for i, p := range pools {
				rows[i] = []string{p.Name, orNone(p.Description)}
			}
			writeTable(c.stdout, []string{"Name", "Description"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the node pools as JSON")
	cmd.Flags().StringVar(&filter, "filter", "", "a filter expression on the pools (e.g. 'Meta.env == \"prod\"')")
	return cmd
}

func (c *cli) nodePoolApplyCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "apply [-json] <file | ->",
		Short: "Create or update a node pool from a specification file",
		Long: "Create or update a node pool from a specification file, as Nomad's `node pool apply`:\n\n" +
			"  node_pool \"gpu\" {\n    description = \"GPU nodes\"\n    meta { owner = \"ml\" }\n" +
			"    scheduler_config { scheduler_algorithm = \"spread\" }\n  }\n\n" +
			"With -json (or a file ending in .json) the file is the pool as JSON ({\"Name\": ..., \"Description\": ..., \"Meta\": {...}}).",
		Args: argsBetween(1, 1, "a node pool specification file (or - for stdin)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			src, err := readSpecFile(args[0])
			if err != nil {
				return err
			}
			pool, err := parseNodePoolSpec(args[0], src, asJSON || strings.HasSuffix(args[0], ".json"))
			if err != nil {
				return err
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.UpsertNodePool(cmd.Context(), pool); err != nil {
				return fail("applying node pool "+pool.Name, err, "")
			}
			c.out("Successfully applied node pool %q!", pool.Name)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "the file is the node pool as JSON")
	return cmd
}

// readSpecFile reads a specification file, "-" being stdin.
func readSpecFile(path string) ([]byte, error) {
	if path == "-" {
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			return nil, fmt.Errorf("read the specification from stdin: %w", err)
		}
		return b, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the specification file: %w", err)
	}
	return b, nil
}

// nodePoolSpecFile is a node pool specification file: one node_pool block.
type nodePoolSpecFile struct {
	Pools []nodePoolSpec `hcl:"node_pool,block"`
}

type nodePoolSpec struct {
	Name        string  `hcl:"name,label"`
	Description *string `hcl:"description,optional"`
	Meta        []struct {
		Body hcl.Body `hcl:",remain"`
	} `hcl:"meta,block"`
	SchedulerConfig []struct {
		Algorithm                     *string `hcl:"scheduler_algorithm,optional"`
		MemoryOversubscriptionEnabled *bool   `hcl:"memory_oversubscription_enabled,optional"`
	} `hcl:"scheduler_config,block"`
}

// parseNodePoolSpec reads a node pool specification (HCL, or JSON when
// asJSON), with errors that name the file, line and column.
func parseNodePoolSpec(filename string, src []byte, asJSON bool) (*structs.NodePool, error) {
	if asJSON {
		var p structs.NodePool
		dec := json.NewDecoder(bytes.NewReader(src))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s: not a node pool in JSON: %v (expected {\"Name\": ..., \"Description\": ..., \"Meta\": {...}})", filename, err)
		}
		if p.Name == "" {
			return nil, fmt.Errorf("%s: the node pool has no Name", filename)
		}
		return &p, nil
	}
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.Pos{Line: 1, Column: 1})
	if diags.HasErrors() {
		return nil, fmt.Errorf("parse node pool specification: %s", diags.Error())
	}
	var spec nodePoolSpecFile
	if diags := gohcl.DecodeBody(f.Body, nil, &spec); diags.HasErrors() {
		return nil, fmt.Errorf("read node pool specification: %s", diags.Error())
	}
	if len(spec.Pools) != 1 {
		return nil, fmt.Errorf("%s: a node pool specification holds exactly one node_pool \"<name>\" { ... } block, found %d", filename, len(spec.Pools))
	}
	s := spec.Pools[0]
	p := &structs.NodePool{Name: s.Name, Meta: map[string]string{}}
	if s.Description != nil {
		p.Description = *s.Description
	}
	if len(s.Meta) > 1 || len(s.SchedulerConfig) > 1 {
		return nil, fmt.Errorf("%s: node pool %q has more than one meta or scheduler_config block; merge them", filename, s.Name)
	}
	for _, m := range s.Meta {
		attrs, diags := m.Body.JustAttributes()
		if diags.HasErrors() {
			return nil, fmt.Errorf("read the meta of node pool %q: %s", s.Name, diags.Error())
		}
		for name, a := range attrs {
			v, diags := a.Expr.Value(nil)
			if diags.HasErrors() {
				return nil, fmt.Errorf("read meta %q of node pool %q: %s", name, s.Name, diags.Error())
			}
			if v.IsNull() || !v.Type().Equals(cty.String) && !v.Type().Equals(cty.Number) && !v.Type().Equals(cty.Bool) {
				return nil, fmt.Errorf("%s: meta %q of node pool %q must be a string, not %s", a.Range.String(), name, s.Name, v.Type().FriendlyName())
			}
			p.Meta[name] = ctyString(v)
		}
	}
	for _, sc := range s.SchedulerConfig {
		p.SchedulerConfiguration = &structs.NodePoolSchedulerConfiguration{MemoryOversubscriptionEnabled: sc.MemoryOversubscriptionEnabled}
		if sc.Algorithm != nil {
			p.SchedulerConfiguration.SchedulerAlgorithm = *sc.Algorithm
		}
	}
	return p, nil
}

// ctyString is a primitive HCL value as a string.
func ctyString(v cty.Value) string {
	switch {
	case v.Type().Equals(cty.String):
		return v.AsString()
	case v.Type().Equals(cty.Bool):
		return strconv.FormatBool(v.True())
	default:
		return v.AsBigFloat().Text('f', -1)
	}
}

func (c *cli) nodePoolInfoCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info [-json] <name>",
		Short: "Show a node pool",
		Args:  argsBetween(1, 1, "a node pool name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			p, err := cl.NodePool(cmd.Context(), args[0])
			if err != nil {
				return fail("reading node pool "+args[0], err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, p)
			}
			writeKV(c.stdout, []kv{{"Name", p.Name}, {"Description", orNone(p.Description)}})
			c.out("\nMetadata")
			if len(p.Meta) == 0 {
				c.out("No metadata")
			} else {
				keys := make([]string, 0, len(p.Meta))
				for k := range p.Meta {
					keys = append(keys, k)
				}
				slices.Sort(keys)
				pairs := make([]kv, len(keys))
				for i, k := range keys {
					pairs[i] = kv{k, p.Meta[k]}
				}
				writeKV(c.stdout, pairs)
			}
			c.out("\nScheduler Configuration")
			if sc := p.SchedulerConfiguration; sc == nil || sc.SchedulerAlgorithm == "" {
				c.out("No scheduler configuration (the cluster's applies)")
			} else {
				writeKV(c.stdout, []kv{{"Scheduler Algorithm", sc.SchedulerAlgorithm}})
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the node pool as JSON")
	return cmd
}

func (c *cli) nodePoolNodesCommand() *cobra.Command {
	var verbose bool
	cmd := poolMembersCommand(c, "nodes [-json] [-verbose] [-filter expr] <pool>", "List the nodes of a node pool (every node for \"all\")", "nodes",
		(*api.Client).NodePoolNodes, func(nodes []*structs.NodeListStub) {
			writeTable(c.stdout, nodeListHeader, nodeListRows(nodes, verbose))
		})
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full node IDs")
	return cmd
}

func (c *cli) nodePoolJobsCommand() *cobra.Command {
	return poolMembersCommand(c, "jobs [-json] [-filter expr] <pool>", "List the jobs of a node pool (-namespace '*' for every namespace)", "jobs",
		(*api.Client).NodePoolJobs, func(jobs []*structs.JobListStub) {
			writeTable(c.stdout, jobListHeader, jobListRows(jobs, c.now().Location()))
		})
}

// poolMembersCommand is `node pool nodes|jobs`: list what of a pool with
// list, print it as JSON or with table.
func poolMembersCommand[T any](c *cli, use, short, what string,
	list func(*api.Client, context.Context, string, *api.QueryOptions) ([]T, error), table func([]T)) *cobra.Command {
	var asJSON bool
	var filter string
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  argsBetween(1, 1, "a node pool name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			q := c.query()
			q.Filter = filter
			items, err := list(cl, cmd.Context(), args[0], q)
			if err != nil {
				return fail(fmt.Sprintf("listing the %s of node pool %s", what, args[0]), err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, items)
			}
			if len(items) == 0 {
				c.out("No %s in node pool %q", what, args[0])
				return nil
			}
			table(items)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the "+what+" as JSON")
	cmd.Flags().StringVar(&filter, "filter", "", "a filter expression on the "+what)
	return cmd
}

func (c *cli) nodePoolDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete a node pool (no node may be in it, no job may use it; all and default cannot be deleted)",
		Args:  argsBetween(1, 1, "a node pool name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteNodePool(cmd.Context(), args[0]); err != nil {
				return fail("deleting node pool "+args[0], err, "")
			}
			c.out("Successfully deleted node pool %q!", args[0])
			return nil
		},
	}
}
