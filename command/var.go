package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// varCommand is `nomadlike var`: Nomad's variables commands.
func (c *cli) varCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "var <subcommand>", Short: "Put, get, list, purge and lock encrypted variables"}
	cmd.AddCommand(c.varPutCommand(), c.varGetCommand(), c.varListCommand(), c.varPurgeCommand(), c.varLockCommand())
	return cmd
}

// checkIndexFlag is -check-index: set means check-and-set.
func checkIndexFlag(cmd *cobra.Command, v uint64) *uint64 {
	if !cmd.Flags().Changed("check-index") {
		return nil
	}
	return &v
}

// printVariable prints v as -out asks: table (default), json, or none.
func (c *cli) printVariable(v *structs.VariableDecrypted, out, item string) error {
	if item != "" {
		val, ok := v.Items[item]
		if !ok {
			return fail("reading item "+item, fmt.Errorf("variable %q has no item %q", v.Path, item), "")
		}
		c.out("%s", val)
		return nil
	}
	switch out {
	case "json":
		return writeJSON(c.stdout, v)
	case "none":
		return nil
	case "table", "":
	default:
		return fmt.Errorf("-out %q is not one of table, json, none", out)
	}
	writeKV(c.stdout, []kv{{"Namespace", v.Namespace}, {"Path", v.Path},
		{"Create Time", time.Unix(0, v.CreateTime).UTC().Format(time.RFC3339)},
		{"Check Index", strconv.FormatUint(v.ModifyIndex, 10)}})
	keys := make([]string, 0, len(v.Items))
	for k := range v.Items {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	c.out("\nItems")
	pairs := make([]kv, len(keys))
	for i, k := range keys {
		pairs[i] = kv{k, v.Items[k]}
	}
	writeKV(c.stdout, pairs)
	return nil
}

func (c *cli) varPutCommand() *cobra.Command {
	var (
		checkIndex uint64
		force      bool
		out        string
	)
	cmd := &cobra.Command{
		Use:   "put [-check-index N] [-force] [-out table|json|none] <path> <key>=<value>... (value @file reads a file, - reads stdin)",
		Short: "Create or update a variable",
		Args:  argsBetween(2, 1<<20, "a path and at least one key=value"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			path := strings.Trim(args[0], "/")
			v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: c.namespace, Path: path}, Items: map[string]string{}}
			if !force {
				// Without -force, put merges into the existing items (Nomad's default).
				if cur, _, err := cl.Variable(cmd.Context(), path, c.query()); err == nil {
					v.Items = cur.Items
				} else if !api.IsNotFound(err) {
					return fail("reading variable "+path, err, "")
				}
			}
			for _, a := range args[1:] {
				k, val, ok := strings.Cut(a, "=")
				if !ok || k == "" {
					return usageError(cmd.CommandPath(), "item %q is not key=value", a)
				}
				if val, err = itemValue(val); err != nil {
					return fail("reading the value of item "+k, err, "")
				}
				v.Items[k] = val
			}
			stored, err := cl.PutVariable(cmd.Context(), v, "", checkIndexFlag(cmd, checkIndex))
			var conflict *api.ErrVariableConflict
			if errors.As(err, &conflict) {
				return fail("writing variable "+path, err, fmt.Sprintf("its check index is now %d; read it again and retry with -check-index %d", conflict.Current.ModifyIndex, conflict.Current.ModifyIndex))
			}
			if err != nil {
				return fail("writing variable "+path, err, "")
			}
			if out == "" {
				c.out("Created variable %q with modify index %d", path, stored.ModifyIndex)
				return nil
			}
			return c.printVariable(stored, out, "")
		},
	}
	cmd.Flags().Uint64Var(&checkIndex, "check-index", 0, "write only if the variable's modify index is this (0: only if it does not exist)")
	cmd.Flags().BoolVar(&force, "force", false, "replace the items instead of merging into the existing ones")
	cmd.Flags().StringVar(&out, "out", "", "print the stored variable: table, json or none")
	return cmd
}

// itemValue reads "@file" and "-" values.
func itemValue(v string) (string, error) {
	switch {
	case v == "-":
		b, err := io.ReadAll(os.Stdin)
		return strings.TrimRight(string(b), "\n"), err
	case strings.HasPrefix(v, "@"):
		b, err := os.ReadFile(v[1:])
		return string(b), err
	}
	return v, nil
}

func (c *cli) varGetCommand() *cobra.Command {
	var out, item string
	cmd := &cobra.Command{
		Use:   "get [-item key] [-out table|json] <path>",
		Short: "Read a variable",
		Args:  argsBetween(1, 1, "a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			v, _, err := cl.Variable(cmd.Context(), strings.Trim(args[0], "/"), c.query())
			if err != nil {
				return fail("reading variable "+args[0], err, "list the paths that exist with `var list` (and -namespace)")
			}
			return c.printVariable(v, out, item)
		},
	}
	cmd.Flags().StringVar(&out, "out", "table", "output format: table or json")
	cmd.Flags().StringVar(&item, "item", "", "print only this item's value")
	return cmd
}

func (c *cli) varListCommand() *cobra.Command {
	var (
		out     string
		perPage int
		token   string
		filter  string
	)
	cmd := &cobra.Command{
		Use:   "list [-out table|json] [-per-page N] [-page-token T] [-filter F] [<prefix>]",
		Short: "List variables (their paths and metadata, never their items)",
		Args:  argsBetween(0, 1, "an optional path prefix"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			q := c.query()
			q.PerPage, q.NextToken, q.Filter = perPage, token, filter
			if len(args) == 1 {
				q.Prefix = args[0]
			}
			list, meta, err := cl.Variables(cmd.Context(), q)
			if err != nil {
				return fail("listing variables", err, "")
			}
			if out == "json" {
				return writeJSON(c.stdout, list)
			}
			if len(list) == 0 {
				c.out("No matching variables found")
				return nil
			}
			rows := make([][]string, len(list))
			for i, v := range list {
				rows[i] = []string{v.Namespace, v.Path, time.Unix(0, v.ModifyTime).UTC().Format(time.RFC3339)}
			}
			writeTable(c.stdout, []string{"Namespace", "Path", "Last Updated"}, rows)
			if meta != nil && meta.NextToken != "" {
				c.out("\nNext page token: %s", meta.NextToken)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "table", "output format: table or json")
	cmd.Flags().IntVar(&perPage, "per-page", 0, "how many variables per page")
	cmd.Flags().StringVar(&token, "page-token", "", "the page to show (from a previous list)")
	cmd.Flags().StringVar(&filter, "filter", "", "a filter expression on the metadata")
	return cmd
}

func (c *cli) varPurgeCommand() *cobra.Command {
	var checkIndex uint64
	cmd := &cobra.Command{
		Use:   "purge [-check-index N] <path>",
		Short: "Delete a variable",
		Args:  argsBetween(1, 1, "a path"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			path := strings.Trim(args[0], "/")
			if err := cl.DeleteVariable(cmd.Context(), c.namespace, path, checkIndexFlag(cmd, checkIndex)); err != nil {
				return fail("purging variable "+path, err, "with -check-index, read the variable's current index with `var get`")
			}
			c.out("Successfully purged variable %q!", path)
			return nil
		},
	}
	cmd.Flags().Uint64Var(&checkIndex, "check-index", 0, "delete only if the variable's modify index is this")
	return cmd
}

func (c *cli) varLockCommand() *cobra.Command {
	var (
		ttl, delay time.Duration
		maxRetry   int
	)
	cmd := &cobra.Command{
		Use:   "lock [-ttl D] [-delay D] [-max-retry N] <path> <command> [args...]",
		Short: "Run a command while holding the lock of a variable (renewed until the command ends)",
		Args:  argsBetween(2, 1<<20, "a path and a command"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			path := strings.Trim(args[0], "/")
			v := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: c.namespace, Path: path,
				Lock: &structs.VariableLock{TTL: ttl.String(), LockDelay: delay.String()}}}
			var held *structs.VariableDecrypted
			for attempt := 0; ; attempt++ {
				held, err = cl.PutVariable(cmd.Context(), v, "lock-acquire", nil)
				var conflict *api.ErrVariableConflict
				if err == nil || !errors.As(err, &conflict) || attempt >= maxRetry {
					break
				}
				select {
				case <-cmd.Context().Done():
					return cmd.Context().Err()
				case <-time.After(ttl):
				}
			}
			if err != nil {
				return fail("acquiring the lock of "+path, err, "another holder has it; retry later or raise -max-retry")
			}
			ctx, cancel := context.WithCancel(cmd.Context())
			defer cancel()
			renewErr := make(chan error, 1)
			go func() {
				t := time.NewTicker(ttl / 2)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
					}
					if _, err := cl.PutVariable(ctx, held, "lock-renew", nil); err != nil && ctx.Err() == nil {
						renewErr <- err
						cancel()
						return
					}
				}
			}()
			child := exec.CommandContext(ctx, args[1], args[2:]...)
			child.Stdin, child.Stdout, child.Stderr = os.Stdin, c.stdout, os.Stderr
			runErr := child.Run()
			cancel()
			release := &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: c.namespace, Path: path, Lock: held.Lock}}
			relCtx, relCancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer relCancel()
			if _, err := cl.PutVariable(relCtx, release, "lock-release", nil); err != nil {
				c.out("warning: releasing the lock of %s failed (it expires after its TTL): %v", path, err)
			}
			select {
			case err := <-renewErr:
				return fail("renewing the lock of "+path, err, "the command was stopped because the lock was lost")
			default:
			}
			if runErr != nil {
				return fail("running "+args[1]+" under the lock of "+path, runErr, "")
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&ttl, "ttl", structs.DefaultVariableLockTTL, "the lock's TTL (renewed at half of it)")
	cmd.Flags().DurationVar(&delay, "delay", structs.DefaultVariableLockDelay, "how long the lock cannot be taken after it expired unrenewed")
	cmd.Flags().IntVar(&maxRetry, "max-retry", 5, "how many times to retry acquiring a held lock")
	cmd.Flags().SetInterspersed(false)
	return cmd
}
