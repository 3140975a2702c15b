package command

import (
	"strconv"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// namespaceCommand is `nomadlike namespace`.
func (c *cli) namespaceCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "namespace <subcommand>", Short: "Create, list, inspect and delete namespaces"}
	cmd.AddCommand(c.namespaceApplyCommand(), c.namespaceListCommand(), c.namespaceStatusCommand(), c.namespaceDeleteCommand())
	return cmd
}

func (c *cli) namespaceApplyCommand() *cobra.Command {
	var description string
	cmd := &cobra.Command{
		Use:   "apply [-description D] <name>",
		Short: "Create or update a namespace",
		Args:  argsBetween(1, 1, "a namespace name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			ns := &structs.Namespace{Name: args[0]}
			if existing, err := cl.Namespace(cmd.Context(), args[0]); err == nil && existing.Name == args[0] {
				ns = existing // an update keeps what -description does not change
			}
			if cmd.Flags().Changed("description") {
				ns.Description = description
			}
			if err := cl.UpsertNamespace(cmd.Context(), ns); err != nil {
				return fail("applying namespace "+args[0], err, "")
			}
			c.out("Successfully applied namespace %q!", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "a description of the namespace")
	return cmd
}

func (c *cli) namespaceListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-json]",
		Short: "List the namespaces the token may see",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, err := cl.Namespaces(cmd.Context(), nil)
			if err != nil {
				return fail("listing namespaces", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, list)
			}
			rows := make([][]string, len(list))
			for i, n := range list {
				rows[i] = []string{n.Name, n.Description}
			}
			writeTable(c.stdout, []string{"Name", "Description"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the namespaces as JSON")
	return cmd
}

func (c *cli) namespaceStatusCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status [-json] <name>",
		Short: "Show a namespace",
		Args:  argsBetween(1, 1, "a namespace name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			n, err := cl.Namespace(cmd.Context(), args[0])
			if err != nil {
				return fail("reading namespace "+args[0], err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, n)
			}
			quota := n.Quota
			if quota == "" {
				quota = "<none>"
			}
			writeKV(c.stdout, []kv{{"Name", n.Name}, {"Description", n.Description}, {"Quota", quota},
				{"Create Index", strconv.FormatUint(n.CreateIndex, 10)}, {"Modify Index", strconv.FormatUint(n.ModifyIndex, 10)}})
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the namespace as JSON")
	return cmd
}

func (c *cli) namespaceDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete a namespace (it must hold no jobs; default cannot be deleted)",
		Args:  argsBetween(1, 1, "a namespace name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteNamespace(cmd.Context(), args[0]); err != nil {
				return fail("deleting namespace "+args[0], err, "")
			}
			c.out("Successfully deleted namespace %q!", args[0])
			return nil
		},
	}
}
