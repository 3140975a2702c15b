package command

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

func (c *cli) deploymentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deployment <subcommand>",
		Short: "Inspect and steer deployments (rolling updates and canaries of service jobs)",
	}
	cmd.AddCommand(c.deploymentListCommand(), c.deploymentStatusCommand(), c.deploymentPromoteCommand(),
		c.deploymentFailCommand(), c.deploymentPauseCommand(), c.deploymentResumeCommand())
	return cmd
}

func (c *cli) deploymentListCommand() *cobra.Command {
	var verbose, asJSON bool
	cmd := &cobra.Command{
		Use:   "list [-verbose] [-json]",
		Short: "List deployments, newest first",
		Args:  argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			list, _, err := cl.ListDeployments(cmd.Context(), c.query())
			if err != nil {
				return fail("listing deployments", err, "")
			}
			newestFirst(list)
			if asJSON {
				return writeJSON(c.stdout, list)
			}
			if len(list) == 0 {
				c.out("No deployments found")
				return nil
			}
			c.deploymentTable(list, verbose)
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the deployments as JSON")
	return cmd
}

// newestFirst sorts deployments by creation, newest first.
func newestFirst(list []*structs.Deployment) {
	sort.SliceStable(list, func(i, j int) bool { return list[i].CreateIndex > list[j].CreateIndex })
}

// deploymentTable prints deployments as Nomad's `deployment list` does.
func (c *cli) deploymentTable(list []*structs.Deployment, verbose bool) {
	rows := make([][]string, len(list))
	for i, d := range list {
		rows[i] = []string{shortID(d.ID, verbose), d.JobID, strconv.FormatUint(d.JobVersion, 10), d.Status, d.StatusDescription}
	}
	writeTable(c.stdout, []string{"ID", "Job ID", "Job Version", "Status", "Description"}, rows)
}

func (c *cli) deploymentStatusCommand() *cobra.Command {
	var verbose, asJSON bool
	cmd := &cobra.Command{
		Use:   "status [-verbose] [-json] <deployment-id>",
		Short: "Show a deployment: its status, why, and the progress of each group",
		Args:  argsBetween(1, 1, "one deployment ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cl, err := c.client()
			if err != nil {
				return err
			}
			d, err := c.resolveDeployment(cmd.Context(), cl, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, d)
			}
			writeKV(c.stdout, []kv{
				{"ID", shortID(d.ID, verbose)},
				{"Job ID", d.JobID},
				{"Job Version", strconv.FormatUint(d.JobVersion, 10)},
				{"Status", d.Status},
				{"Description", d.StatusDescription},
			})
			c.out("\nDeployed")
			writeDeployed(c.stdout, d, c.now().Location())
			return nil
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the deployment as JSON")
	return cmd
}

// writeDeployed prints the progress of each group as Nomad's "Deployed"
// table: the Auto Revert, Promoted and Canaries columns only when a group
// uses them.
func writeDeployed(w io.Writer, d *structs.Deployment, loc *time.Location) {
	var autoRevert, canaries bool
	for _, s := range d.TaskGroups {
		autoRevert = autoRevert || s.AutoRevert
		canaries = canaries || s.DesiredCanaries > 0
	}
	header := []string{"Task Group"}
	if autoRevert {
		header = append(header, "Auto Revert")
	}
	if canaries {
		header = append(header, "Promoted")
	}
	header = append(header, "Desired")
	if canaries {
		header = append(header, "Canaries")
	}
	header = append(header, "Placed", "Healthy", "Unhealthy", "Progress Deadline")
	var rows [][]string
	for _, name := range slices.Sorted(maps.Keys(d.TaskGroups)) {
		s := d.TaskGroups[name]
		row := []string{name}
		if autoRevert {
			row = append(row, strconv.FormatBool(s.AutoRevert))
		}
		if canaries {
			promoted := "N/A"
			if s.DesiredCanaries > 0 {
				promoted = strconv.FormatBool(s.Promoted)
			}
			row = append(row, promoted)
		}
		row = append(row, strconv.Itoa(s.DesiredTotal))
		if canaries {
			row = append(row, strconv.Itoa(s.DesiredCanaries))
		}
		deadline := "N/A"
		if !s.RequireProgressBy.IsZero() {
			deadline = formatTime(s.RequireProgressBy, loc)
		}
		row = append(row, strconv.Itoa(s.PlacedAllocs), strconv.Itoa(s.HealthyAllocs), strconv.Itoa(s.UnhealthyAllocs), deadline)
		rows = append(rows, row)
	}
	writeTable(w, header, rows)
}

// resolveDeployment finds the deployment prefix names.
func (c *cli) resolveDeployment(ctx context.Context, cl *api.Client, prefix string) (*structs.Deployment, error) {
	if err := checkPrefix("deployment", prefix); err != nil {
		return nil, err
	}
	q := c.query()
	q.Prefix = prefix
	list, _, err := cl.ListDeployments(ctx, q)
	if err != nil {
		return nil, fail("listing deployments", err, "")
	}
	ids := make([]string, len(list))
	for i, d := range list {
		ids[i] = d.ID
	}
	id, amb := matchPrefix(prefix, ids)
	if amb {
		rows := make([][]string, len(list))
		for i, d := range list {
			rows[i] = []string{d.ID, d.JobID, strconv.FormatUint(d.JobVersion, 10), d.Status}
		}
		return nil, ambiguous(c.stdout, "deployment", prefix, []string{"ID", "Job ID", "Job Version", "Status"}, rows)
	}
	if id == "" {
		return nil, notFound("deployment", prefix, "nomadlike deployment list")
	}
	for _, d := range list {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, fmt.Errorf("deployment %q vanished while being looked up", id)
}

// showLatestDeployment prints the "Latest Deployment" section of `job
// status` for a service job that has a deployment, as Nomad does.
func (c *cli) showLatestDeployment(ctx context.Context, cl *api.Client, job *structs.Job, verbose bool) error {
	if job.Type != structs.JobTypeService {
		return nil
	}
	d, _, err := cl.LatestDeployment(ctx, job.ID, c.query())
	if err != nil {
		return fail(fmt.Sprintf("reading the latest deployment of job %q", job.ID), err, "")
	}
	if d == nil {
		return nil
	}
	c.out("\nLatest Deployment")
	writeKV(c.stdout, []kv{{"ID", shortID(d.ID, verbose)}, {"Status", d.Status}, {"Description", d.StatusDescription}})
	c.out("\nDeployed")
	writeDeployed(c.stdout, d, c.now().Location())
	return nil
}
