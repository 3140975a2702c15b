package command

import (
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) aclRoleCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "role <subcommand>", Short: "Create, list, read, update and delete ACL roles"}
	cmd.AddCommand(c.aclRoleWriteCommand("create"), c.aclRoleListCommand(), c.aclRoleInfoCommand(),
		c.aclRoleWriteCommand("update"), c.aclRoleDeleteCommand())
	return cmd
}

func (c *cli) printRole(r *structs.ACLRole) {
	writeKV(c.stdout, []kv{{"ID", r.ID}, {"Name", r.Name}, {"Description", r.Description},
		{"Policies", strings.Join(r.PolicyNames(), ",")},
		{"Create Index", strconv.FormatUint(r.CreateIndex, 10)}, {"Modify Index", strconv.FormatUint(r.ModifyIndex, 10)}})
}

// aclRoleWriteCommand is `acl role create` and `acl role update <id>`.
func (c *cli) aclRoleWriteCommand(use string) *cobra.Command {
	var (
		name, description string
		policies          []string
		asJSON            bool
	)
	nargs, argUse := 0, ""
	if use == "update" {
		nargs, argUse = 1, " <role-id>"
	}
	cmd := &cobra.Command{
		Use:   use + " -name N [-description D] -policy P..." + argUse,
		Short: "Create or update an ACL role: a named set of policies tokens can link",
		Args:  argsBetween(nargs, nargs, "the role's ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			role := &structs.ACLRole{}
			if nargs == 1 {
				if role, err = cl.ACLRole(cmd.Context(), args[0], false); err != nil {
					return fail("reading ACL role "+args[0], err, "")
				}
			}
			if name != "" {
				role.Name = name
			}
			if description != "" {
				role.Description = description
			}
			if len(policies) > 0 {
				role.Policies = nil
				for _, p := range policies {
					role.Policies = append(role.Policies, &structs.ACLRolePolicyLink{Name: p})
				}
			}
			out, err := cl.UpsertACLRole(cmd.Context(), role)
			if err != nil {
				return fail("writing ACL role "+role.Name, err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, out)
			}
			c.printRole(out)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the role's name")
	cmd.Flags().StringVar(&description, "description", "", "a description of the role")
	cmd.Flags().StringArrayVar(&policies, "policy", nil, "a policy of the role (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the role as JSON")
	return cmd
}

func (c *cli) aclRoleListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-json]",
		Short: "List the ACL roles",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, err := cl.ACLRoles(cmd.Context(), nil)
			if err != nil {
				return fail("listing ACL roles", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, list)
			}
			if len(list) == 0 {
				c.out("No ACL roles found")
				return nil
			}
			rows := make([][]string, len(list))
			for i, r := range list {
				var names []string
				for _, p := range r.Policies {
					names = append(names, p.Name)
				}
				rows[i] = []string{r.ID, r.Name, r.Description, strings.Join(names, ",")}
			}
			writeTable(c.stdout, []string{"ID", "Name", "Description", "Policies"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the roles as JSON")
	return cmd
}

func (c *cli) aclRoleInfoCommand() *cobra.Command {
	var byName, asJSON bool
	cmd := &cobra.Command{
		Use:   "info [-by-name] [-json] <role-id>",
		Short: "Show an ACL role",
		Args:  argsBetween(1, 1, "the role's ID (or name with -by-name)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			r, err := cl.ACLRole(cmd.Context(), args[0], byName)
			if err != nil {
				return fail("reading ACL role "+args[0], err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, r)
			}
			c.printRole(r)
			return nil
		},
	}
	cmd.Flags().BoolVar(&byName, "by-name", false, "look the role up by name")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the role as JSON")
	return cmd
}

func (c *cli) aclRoleDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <role-id>",
		Short: "Delete an ACL role",
		Args:  argsBetween(1, 1, "the role's ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteACLRole(cmd.Context(), args[0]); err != nil {
				return fail("deleting ACL role "+args[0], err, "")
			}
			c.out("ACL role %s successfully deleted", args[0])
			return nil
		},
	}
}
