package command

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func (c *cli) aclPolicyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "policy <subcommand>", Short: "Create, list, read and delete ACL policies"}
	cmd.AddCommand(c.aclPolicyApplyCommand(), c.aclPolicyListCommand(), c.aclPolicyInfoCommand(), c.aclPolicyDeleteCommand())
	return cmd
}

// aclPolicyApplyCommand is `acl policy apply [-description D] <name> <path|->`.
func (c *cli) aclPolicyApplyCommand() *cobra.Command {
	var description, job, group, task string
	cmd := &cobra.Command{
		Use:   "apply [-description <text>] [-job <id> [-group <g> [-task <t>]]] <name> <path>",
		Short: "Create or update a policy from an HCL file (- reads stdin)",
		Args:  argsBetween(2, 2, "a policy name and the path of its rules file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rules []byte
			var err error
			if args[1] == "-" {
				rules, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
			} else {
				rules, err = os.ReadFile(args[1])
			}
			if err != nil {
				return fail("reading the policy rules", err, "Give the path of an HCL policy file, or - for stdin.")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			p := &structs.ACLPolicy{Name: args[0], Description: description, Rules: string(rules)}
			switch {
			case job != "":
				ns := c.namespace
				if ns == "" {
					ns = structs.DefaultNamespace
				}
				p.JobACL = &structs.JobACL{Namespace: ns, JobID: job, Group: group, Task: task}
			case group != "" || task != "":
				return usageError(cmd.CommandPath(), "-group and -task need -job")
			}
			if task != "" && group == "" {
				return usageError(cmd.CommandPath(), "-task needs -group")
			}
			if err := cl.UpsertACLPolicy(cmd.Context(), p); err != nil {
				return fail("writing ACL policy "+args[0], err, "")
			}
			c.out("Successfully wrote %q ACL policy!", args[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&description, "description", "", "a description of the policy")
	cmd.Flags().StringVar(&job, "job", "", "attach the policy to this job's workload identities (in -namespace)")
	cmd.Flags().StringVar(&group, "group", "", "with -job: only this task group's tasks")
	cmd.Flags().StringVar(&task, "task", "", "with -group: only this task")
	return cmd
}

func (c *cli) aclPolicyListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-json]",
		Short: "List the ACL policies (all for management tokens, else the token's own)",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, err := cl.ACLPolicies(cmd.Context(), nil)
			if err != nil {
				return fail("listing ACL policies", err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, list)
			}
			if len(list) == 0 {
				c.out("No policies found")
				return nil
			}
			rows := make([][]string, len(list))
			for i, p := range list {
				rows[i] = []string{p.Name, p.Description}
			}
			writeTable(c.stdout, []string{"Name", "Description"}, rows)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the policies as JSON")
	return cmd
}

func (c *cli) aclPolicyInfoCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "info [-json] <name>",
		Short: "Show an ACL policy and its rules",
		Args:  argsBetween(1, 1, "one policy name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			p, err := cl.ACLPolicy(cmd.Context(), args[0])
			if err != nil {
				return fail("reading ACL policy "+args[0], err, "")
			}
			if asJSON {
				return writeJSON(c.stdout, p)
			}
			writeKV(c.stdout, []kv{{"Name", p.Name}, {"Description", p.Description}})
			c.out("Rules")
			c.out("%s", p.Rules)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the policy as JSON")
	return cmd
}

func (c *cli) aclPolicyDeleteCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "delete <name>",
		Short: "Delete an ACL policy",
		Args:  argsBetween(1, 1, "one policy name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteACLPolicy(cmd.Context(), args[0]); err != nil {
				return fail("deleting ACL policy "+args[0], err, "")
			}
			c.out("Successfully deleted %q ACL policy!", args[0])
			return nil
		},
	}
}
