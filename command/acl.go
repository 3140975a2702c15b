package command

import (
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// aclCommand is `nomadlike acl`: bootstrap, policies, tokens and roles.
func (c *cli) aclCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acl <subcommand>",
		Short: "Bootstrap the ACL system and manage its policies, tokens and roles",
	}
	cmd.AddCommand(c.aclBootstrapCommand(), c.aclPolicyCommand(), c.aclTokenCommand(), c.aclRoleCommand())
	return cmd
}

// aclBootstrapCommand is `nomadlike acl bootstrap`: the first management token.
func (c *cli) aclBootstrapCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bootstrap [-json]",
		Short: "Create the first management token (once; see the reset procedure in the error if it was done)",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			tok, err := cl.BootstrapACL(cmd.Context())
			if err != nil {
				return fail("bootstrapping the ACL system", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, tok)
			}
			c.printToken(tok)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the token as JSON")
	return cmd
}

// printToken prints a token as Nomad's CLI does.
func (c *cli) printToken(t *structs.ACLToken) {
	policies, roles := "n/a", "n/a"
	if t.Type != structs.ACLManagementToken {
		policies = "[" + strings.Join(t.Policies, " ") + "]"
		var names []string
		for _, r := range t.Roles {
			names = append(names, r.Name)
		}
		roles = "[" + strings.Join(names, " ") + "]"
	}
	expiry := "<none>"
	if t.ExpirationTime != nil {
		expiry = formatTime(*t.ExpirationTime, time.Local)
	}
	secret := t.SecretID
	if secret == "" {
		secret = "<hidden: shown only when the token is created>"
	}
	writeKV(c.stdout, []kv{
		{"Accessor ID", t.AccessorID}, {"Secret ID", secret}, {"Name", t.Name}, {"Type", t.Type},
		{"Global", strconv.FormatBool(t.Global)}, {"Create Time", formatTime(t.CreateTime, time.Local)},
		{"Expiry Time", expiry}, {"Create Index", strconv.FormatUint(t.CreateIndex, 10)}, {"Modify Index", strconv.FormatUint(t.ModifyIndex, 10)},
		{"Policies", policies}, {"Roles", roles},
	})
}
