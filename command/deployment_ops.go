package command

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

// deploymentOpFlags are the options every deployment change shares.
type deploymentOpFlags struct {
	detach  bool
	verbose bool
	groups  []string
}

func (f *deploymentOpFlags) register(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&f.detach, "detach", false, "print the evaluation ID and return without monitoring it")
	cmd.Flags().BoolVar(&f.verbose, "verbose", false, "show full IDs")
}

func (c *cli) deploymentPromoteCommand() *cobra.Command {
	var f deploymentOpFlags
	cmd := &cobra.Command{
		Use:   "promote [-group <group>]... [-detach] <deployment-id>",
		Short: "Promote the canaries of a deployment, so the rest of the groups roll out",
		Long: `Promotes the canaries of every group of the deployment, or only of the groups
named with -group (repeatable). Groups with unhealthy canaries cannot be promoted.`,
		Args: argsBetween(1, 1, "one deployment ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.deploymentOp(cmd, args[0], &f, "promoted", func(cl *api.Client, d *structs.Deployment) (*structs.DeploymentUpdateResponse, error) {
				return cl.PromoteDeployment(cmd.Context(), d.ID, f.groups, c.query())
			})
		},
	}
	f.register(cmd)
	cmd.Flags().StringArrayVar(&f.groups, "group", nil, "promote only this group's canaries (repeatable)")
	return cmd
}

func (c *cli) deploymentFailCommand() *cobra.Command {
	var f deploymentOpFlags
	cmd := &cobra.Command{
		Use:   "fail [-detach] <deployment-id>",
		Short: "Mark a deployment failed (a group with auto_revert rolls the job back)",
		Args:  argsBetween(1, 1, "one deployment ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.deploymentOp(cmd, args[0], &f, "failed", func(cl *api.Client, d *structs.Deployment) (*structs.DeploymentUpdateResponse, error) {
				return cl.FailDeployment(cmd.Context(), d.ID, c.query())
			})
		},
	}
	f.register(cmd)
	return cmd
}

func (c *cli) deploymentPauseCommand() *cobra.Command {
	var f deploymentOpFlags
	cmd := &cobra.Command{
		Use:   "pause [-verbose] <deployment-id>",
		Short: "Pause a deployment: no more allocations are replaced until it resumes",
		Args:  argsBetween(1, 1, "one deployment ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.deploymentOp(cmd, args[0], &f, "paused", func(cl *api.Client, d *structs.Deployment) (*structs.DeploymentUpdateResponse, error) {
				return cl.PauseDeployment(cmd.Context(), d.ID, true, c.query())
			})
		},
	}
	cmd.Flags().BoolVar(&f.verbose, "verbose", false, "show full IDs")
	return cmd
}

func (c *cli) deploymentResumeCommand() *cobra.Command {
	var f deploymentOpFlags
	cmd := &cobra.Command{
		Use:   "resume [-detach] <deployment-id>",
		Short: "Resume a paused deployment",
		Args:  argsBetween(1, 1, "one deployment ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.deploymentOp(cmd, args[0], &f, "resumed", func(cl *api.Client, d *structs.Deployment) (*structs.DeploymentUpdateResponse, error) {
				return cl.PauseDeployment(cmd.Context(), d.ID, false, c.query())
			})
		},
	}
	f.register(cmd)
	return cmd
}

// deploymentOp resolves the deployment, applies a change with call, says
// so as Nomad does (`Deployment "0b23b149" promoted`), and monitors the
// evaluation the change created unless -detach.
func (c *cli) deploymentOp(cmd *cobra.Command, prefix string, f *deploymentOpFlags, done string,
	call func(*api.Client, *structs.Deployment) (*structs.DeploymentUpdateResponse, error)) error {
	ctx := cmd.Context()
	cl, err := c.client()
	if err != nil {
		return err
	}
	d, err := c.resolveDeployment(ctx, cl, prefix)
	if err != nil {
		return err
	}
	resp, err := call(cl, d)
	if err != nil {
		return fail(fmt.Sprintf("changing deployment %q", shortID(d.ID, f.verbose)), err,
			fmt.Sprintf("See its state with 'nomadlike deployment status %s'.", shortID(d.ID, f.verbose)))
	}
	c.out("Deployment %q %s", shortID(d.ID, f.verbose), done)
	if resp.RevertedJobVersion != nil {
		c.out("Job %q reverted to version %d", d.JobID, *resp.RevertedJobVersion)
	}
	if resp.EvalID == "" {
		return nil
	}
	if f.detach {
		c.out("Evaluation ID: %s", resp.EvalID)
		return nil
	}
	return c.monitorEval(ctx, cl, d.JobID, resp.EvalID, f.verbose, 0)
}
