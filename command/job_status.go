package command

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

var jobListHeader = []string{"ID", "Type", "Priority", "Status", "Submit Date"}

func jobListRows(jobs []*structs.JobListStub, loc *time.Location) [][]string {
	rows := make([][]string, len(jobs))
	for i, j := range jobs {
		rows[i] = []string{j.ID, j.Type, strconv.Itoa(j.Priority), jobStatusText(j.Status, j.Stop), formatUnixNano(j.SubmitTime, loc)}
	}
	return rows
}

// jobStatusText is the job's status, marking a stopped job as Nomad does.
func jobStatusText(status string, stop bool) string {
	if stop {
		return status + " (stopped)"
	}
	return status
}

func (c *cli) jobStatusCommand() *cobra.Command {
	var verbose, asJSON bool
	cmd := &cobra.Command{
		Use:   "status [-verbose] [-json] [job]",
		Short: "List jobs, or show one job's summary, placement failures and allocations",
		Args:  argsBetween(0, 1, "at most one job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			cl, err := c.client()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return c.listJobs(ctx, cl, asJSON)
			}
			job, _, err := c.resolveJob(ctx, cl, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(c.stdout, job)
			}
			return c.showJob(ctx, cl, job, verbose)
		},
	}
	cmd.Flags().BoolVar(&verbose, "verbose", false, "show full IDs and indexes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the job (or the job list) as JSON")
	return cmd
}

func (c *cli) listJobs(ctx context.Context, cl *api.Client, asJSON bool) error {
	jobs, _, err := cl.ListJobs(ctx, c.query())
	if err != nil {
		return fail("listing jobs", err, "")
	}
	if asJSON {
		return writeJSON(c.stdout, jobs)
	}
	if len(jobs) == 0 {
		c.out("No running jobs")
		return nil
	}
	writeTable(c.stdout, jobListHeader, jobListRows(jobs, c.now().Location()))
	return nil
}

func (c *cli) showJob(ctx context.Context, cl *api.Client, job *structs.Job, verbose bool) error {
	summary, _, err := cl.JobSummary(ctx, job.ID, c.query())
	if err != nil {
		return fail(fmt.Sprintf("reading the summary of job %q", job.ID), err, "")
	}
	evals, _, err := cl.JobEvaluations(ctx, job.ID, c.query())
	if err != nil {
		return fail(fmt.Sprintf("listing the evaluations of job %q", job.ID), err, "")
	}
	allocs, _, err := cl.JobAllocations(ctx, job.ID, c.query())
	if err != nil {
		return fail(fmt.Sprintf("listing the allocations of job %q", job.ID), err, "")
	}

	pairs := []kv{
		{"ID", job.ID},
		{"Name", job.Name},
		{"Submit Date", formatUnixNano(job.SubmitTime, c.now().Location())},
		{"Type", job.Type},
		{"Priority", strconv.Itoa(job.Priority)},
		{"Datacenters", strings.Join(job.Datacenters, ",")},
		{"Namespace", job.Namespace},
		{"Status", jobStatusText(job.Status, job.Stop)},
	}
	pairs = append(pairs, c.templatePairs(job)...)
	if verbose {
		pairs = append(pairs, kv{"Version", strconv.FormatUint(job.Version, 10)},
			kv{"Job Modify Index", strconv.FormatUint(job.JobModifyIndex, 10)})
	}
	writeKV(c.stdout, pairs)
	if job.IsTemplate() {
		return c.showTemplateJob(ctx, cl, job, summary)
	}

	c.out("\nSummary")
	writeTable(c.stdout, []string{"Task Group", "Queued", "Starting", "Running", "Failed", "Complete", "Lost", "Unknown"}, summaryRows(summary))

	if failed := placementFailures(evals); len(failed) > 0 {
		c.out("\nPlacement Failure")
		for _, l := range explainFailedGroups(failed) {
			c.out("%s", l)
		}
	}

	if err := c.showLatestDeployment(ctx, cl, job, verbose); err != nil {
		return err
	}

	c.out("\nAllocations")
	if len(allocs) == 0 {
		c.out("No allocations placed")
		return nil
	}
	writeTable(c.stdout, allocTableHeader, c.allocTableRows(allocs, verbose))
	return nil
}

func summaryRows(s *structs.JobSummary) [][]string {
	var rows [][]string
	for _, tg := range slices.Sorted(maps.Keys(s.Summary)) {
		g := s.Summary[tg]
		rows = append(rows, []string{tg, strconv.Itoa(g.Queued), strconv.Itoa(g.Starting), strconv.Itoa(g.Running),
			strconv.Itoa(g.Failed), strconv.Itoa(g.Complete), strconv.Itoa(g.Lost), strconv.Itoa(g.Unknown)})
	}
	return rows
}

// placementFailures returns the placement failures that still stand for a
// job: those of the evaluation that created the newest blocked evaluation,
// or, without one, those of the newest evaluation.
func placementFailures(evals []*structs.Evaluation) map[string]*structs.AllocMetric {
	if len(evals) == 0 {
		return nil
	}
	sorted := slices.Clone(evals)
	slices.SortFunc(sorted, func(a, b *structs.Evaluation) int { return cmp.Compare(b.CreateIndex, a.CreateIndex) })
	for _, ev := range sorted {
		if ev.Status != structs.EvalStatusBlocked {
			continue
		}
		if len(ev.FailedTGAllocs) > 0 {
			return ev.FailedTGAllocs
		}
		for _, parent := range sorted {
			if parent.BlockedEval == ev.ID && len(parent.FailedTGAllocs) > 0 {
				return parent.FailedTGAllocs
			}
		}
	}
	return sorted[0].FailedTGAllocs
}

var allocTableHeader = []string{"ID", "Node ID", "Task Group", "Version", "Desired", "Status", "Created", "Modified"}

// allocTableRows renders allocations newest first.
func (c *cli) allocTableRows(allocs []*structs.AllocListStub, verbose bool) [][]string {
	sorted := slices.Clone(allocs)
	slices.SortStableFunc(sorted, func(a, b *structs.AllocListStub) int {
		switch {
		case a.CreateIndex > b.CreateIndex:
			return -1
		case a.CreateIndex < b.CreateIndex:
			return 1
		}
		return strings.Compare(a.ID, b.ID)
	})
	now := c.now()
	rows := make([][]string, len(sorted))
	for i, a := range sorted {
		rows[i] = []string{shortID(a.ID, verbose), shortID(a.NodeID, verbose), a.TaskGroup,
			strconv.FormatUint(a.JobVersion, 10), a.DesiredStatus, a.ClientStatus,
			prettyTimeDiff(unixNano(a.CreateTime), now), prettyTimeDiff(unixNano(a.ModifyTime), now)}
	}
	return rows
}
