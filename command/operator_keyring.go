package command

import (
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// rootKeyringCommand is `nomadlike operator root keyring`: the keys that
// encrypt variables and sign workload identities.
func (c *cli) rootKeyringCommand() *cobra.Command {
	root := &cobra.Command{Use: "root <subcommand>", Short: "The root keyring (variables encryption, workload identity signing)"}
	kr := &cobra.Command{Use: "keyring <subcommand>", Short: "List, rotate and remove root keys"}
	kr.AddCommand(c.rootKeyringListCommand(), c.rootKeyringRotateCommand(), c.rootKeyringRemoveCommand())
	root.AddCommand(kr)
	return root
}

func (c *cli) rootKeyringListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-json]",
		Short: "List the root keys",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			keys, err := cl.RootKeys(cmd.Context())
			if err != nil {
				return fail("listing root keys", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, keys)
			}
			rows := make([][]string, len(keys))
			for i, k := range keys {
				rows[i] = []string{k.KeyID, string(k.State), time.Unix(0, k.CreateTime).UTC().Format(time.RFC3339), strconv.FormatUint(k.ModifyIndex, 10)}
			}
			writeTable(c.stdout, []string{"Key", "State", "Create Time", "Modify Index"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the keys as JSON")
	return cmd
}

func (c *cli) rootKeyringRotateCommand() *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "rotate [-full]",
		Short: "Make a new active root key (-full re-encrypts every variable with it in the background)",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			k, err := cl.RotateRootKey(cmd.Context(), full)
			if err != nil {
				return fail("rotating the root key", err, "")
			}
			writeTable(c.stdout, []string{"Key", "State", "Create Time"},
				[][]string{{k.KeyID, string(k.State), time.Unix(0, k.CreateTime).UTC().Format(time.RFC3339)}})
			return nil
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, "re-encrypt every variable with the new key (older keys become \"rekeying\", then \"deprecated\")")
	return cmd
}

func (c *cli) rootKeyringRemoveCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "remove [-force] <key ID>",
		Short: "Remove an inactive root key that encrypts no variable",
		Args:  argsBetween(1, 1, "a key ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.RemoveRootKey(cmd.Context(), args[0], force); err != nil {
				return fail("removing root key "+args[0], err, "")
			}
			c.out("Removed encryption key %s", args[0])
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "remove a key that may have signed the identities of running tasks")
	return cmd
}
