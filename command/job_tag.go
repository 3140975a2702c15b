package command

import (
	"fmt"
	"net/http"

	"github.com/spf13/cobra"
)

func (c *cli) jobTagCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tag <subcommand>",
		Short: "Name job versions (a tagged version is never garbage collected)",
	}
	cmd.AddCommand(c.jobTagApplyCommand(), c.jobTagUnsetCommand())
	return cmd
}

func (c *cli) jobTagApplyCommand() *cobra.Command {
	var name, description string
	var version int64
	cmd := &cobra.Command{
		Use:   "apply -name <name> [-description text] [-version n] <job>",
		Short: "Tag a version of a job (the current one unless -version)",
		Long: `Gives a version of the job a name, unique within the job, and an optional
description. A tagged version is kept when older versions are garbage
collected, and 'job history' shows the tag.`,
		Args: argsBetween(1, 1, "one job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageError(cmd.CommandPath(), "a version tag name is required: give -name")
			}
			ctx := cmd.Context()
			cl, job, err := c.connectJob(ctx, args[0])
			if err != nil {
				return err
			}
			v := job.Version
			if version >= 0 {
				v = uint64(version)
			}
			if err := cl.TagJobVersion(ctx, job.ID, name, description, v, c.query()); err != nil {
				return fail(fmt.Sprintf("tagging version %d of job %q", v, job.ID), err,
					hintOn(err, fmt.Sprintf("See the versions and their tags with 'nomadlike job history %s'; remove a tag with 'nomadlike job tag unset -name %s %s'.", job.ID, name, job.ID),
						http.StatusBadRequest, http.StatusNotFound))
			}
			c.out("Job version %d tagged with name %q", v, name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", "the tag's name, unique within the job (required)")
	f.StringVar(&description, "description", "", "what the version is")
	f.Int64Var(&version, "version", -1, "the version to tag (default: the current one)")
	return cmd
}

func (c *cli) jobTagUnsetCommand() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "unset -name <name> <job>",
		Short: "Remove a tag from a job version",
		Args:  argsBetween(1, 1, "one job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "" {
				return usageError(cmd.CommandPath(), "a version tag name is required: give -name")
			}
			ctx := cmd.Context()
			cl, job, err := c.connectJob(ctx, args[0])
			if err != nil {
				return err
			}
			if err := cl.UntagJobVersion(ctx, job.ID, name, c.query()); err != nil {
				return fail(fmt.Sprintf("removing tag %q from job %q", name, job.ID), err, "")
			}
			c.out("Tag %q removed from job %q", name, job.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "the tag to remove (required)")
	return cmd
}
