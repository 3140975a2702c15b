package command

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) aclTokenCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "token <subcommand>", Short: "Create, list, read, update and delete ACL tokens"}
	cmd.AddCommand(c.aclTokenCreateCommand(), c.aclTokenListCommand(), c.aclTokenInfoCommand("info"),
		c.aclTokenInfoCommand("self"), c.aclTokenUpdateCommand(), c.aclTokenDeleteCommand())
	return cmd
}

// tokenFlags are the flags token create and update share.
type tokenFlags struct {
	name, typ          string
	policies, roleName []string
	roleID             []string
	global             bool
	ttl                time.Duration
	asJSON             bool
}

func (f *tokenFlags) add(cmd *cobra.Command, create bool) {
	cmd.Flags().StringVar(&f.name, "name", "", "a name for the token")
	cmd.Flags().StringVar(&f.typ, "type", "", "client or management (default client)")
	cmd.Flags().StringArrayVar(&f.policies, "policy", nil, "a policy of the token (repeatable)")
	cmd.Flags().StringArrayVar(&f.roleName, "role-name", nil, "a role of the token, by name (repeatable)")
	cmd.Flags().StringArrayVar(&f.roleID, "role-id", nil, "a role of the token, by ID (repeatable)")
	cmd.Flags().BoolVar(&f.asJSON, "json", false, "print the token as JSON")
	if create {
		cmd.Flags().BoolVar(&f.global, "global", false, "replicate the token to every region")
		cmd.Flags().DurationVar(&f.ttl, "ttl", 0, "the token expires after this long (e.g. 8h)")
	}
}

func (f *tokenFlags) roles() []*structs.ACLTokenRoleLink {
	var out []*structs.ACLTokenRoleLink
	for _, n := range f.roleName {
		out = append(out, &structs.ACLTokenRoleLink{Name: n})
	}
	for _, id := range f.roleID {
		out = append(out, &structs.ACLTokenRoleLink{ID: id})
	}
	return out
}

func (c *cli) aclTokenCreateCommand() *cobra.Command {
	var f tokenFlags
	cmd := &cobra.Command{
		Use:   "create [-name N] [-type client|management] [-policy P]... [-role-name R]... [-ttl D]",
		Short: "Create an ACL token (its secret is shown once)",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			t := &structs.ACLToken{Name: f.name, Type: f.typ, Policies: f.policies, Roles: f.roles(), Global: f.global, ExpirationTTL: f.ttl}
			out, err := cl.CreateACLToken(cmd.Context(), t)
			if err != nil {
				return fail("creating an ACL token", err, "")
			}
			if f.asJSON {
				return writeJSON(c.stdout, out)
			}
			c.printToken(out)
			return nil
		},
	}
	f.add(cmd, true)
	return cmd
}

func (c *cli) aclTokenListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-json]",
		Short: "List the ACL tokens (management tokens only)",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, err := cl.ACLTokens(cmd.Context(), nil)
			if err != nil {
				return fail("listing ACL tokens", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, list)
			}
			if len(list) == 0 {
				c.out("No tokens found")
				return nil
			}
			rows := make([][]string, len(list))
			for i, t := range list {
				expiry := "<none>"
				if t.ExpirationTime != nil {
					expiry = formatTime(*t.ExpirationTime, time.Local)
				}
				rows[i] = []string{t.Name, t.Type, t.AccessorID, expiry, strings.Join(t.Policies, ",")}
			}
			writeTable(c.stdout, []string{"Name", "Type", "Accessor ID", "Expiration Time", "Policies"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the tokens as JSON")
	return cmd
}

// aclTokenInfoCommand is `acl token info <accessor>` and `acl token self`.
func (c *cli) aclTokenInfoCommand(use string) *cobra.Command {
	var asJSON bool
	min, short := 1, "Show an ACL token (never its secret)"
	if use == "self" {
		min, short = 0, "Show the token the CLI uses (-token or NOMAD_TOKEN)"
	}
	cmd := &cobra.Command{
		Use:   use + " [-json]",
		Short: short,
		Args:  argsBetween(min, min, "the token's accessor ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			id := "self"
			if len(args) == 1 {
				id = args[0]
			}
			t, err := cl.ACLToken(cmd.Context(), id)
			if err != nil {
				return fail("reading ACL token "+id, err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, t)
			}
			c.printToken(t)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the token as JSON")
	return cmd
}

func (c *cli) aclTokenUpdateCommand() *cobra.Command {
	var f tokenFlags
	cmd := &cobra.Command{
		Use:   "update [-name N] [-type T] [-policy P]... [-role-name R]... <accessor>",
		Short: "Change a token's name, type, policies or roles",
		Args:  argsBetween(1, 1, "the token's accessor ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			t, err := cl.ACLToken(cmd.Context(), args[0])
			if err != nil {
				return fail("reading ACL token "+args[0], err, "")
			}
			if f.name != "" {
				t.Name = f.name
			}
			if f.typ != "" {
				t.Type = f.typ
			}
			if len(f.policies) > 0 {
				t.Policies = f.policies
			}
			if roles := f.roles(); len(roles) > 0 {
				t.Roles = roles
			}
			if t.Type == structs.ACLManagementToken {
				t.Policies, t.Roles = nil, nil
			}
			out, err := cl.UpdateACLToken(cmd.Context(), t)
			if err != nil {
				return fail("updating ACL token "+args[0], err, "")
			}
			if f.asJSON {
				return writeJSON(c.stdout, out)
			}
			c.printToken(out)
			return nil
		},
	}
	f.add(cmd, false)
	return cmd
}

func (c *cli) aclTokenDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <accessor>",
		Short: "Delete (revoke) an ACL token",
		Args:  argsBetween(1, 1, "the token's accessor ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteACLToken(cmd.Context(), args[0]); err != nil {
				return fail("deleting ACL token "+args[0], err, "")
			}
			c.out("Token %s successfully deleted", args[0])
			return nil
		},
	}
}
