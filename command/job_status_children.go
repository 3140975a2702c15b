package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// templatePairs are the extra `job status` lines of a periodic or
// parameterized job, as Nomad prints them.
func (c *cli) templatePairs(job *structs.Job) []kv {
	if !job.IsTemplate() {
		return nil
	}
	pairs := []kv{
		{"Periodic", strconv.FormatBool(job.IsPeriodic())},
		{"Parameterized", strconv.FormatBool(job.IsParameterized())},
	}
	if job.IsPeriodic() && !job.Stop {
		now := c.now()
		next, err := job.Periodic.Next(now)
		text := "none (the spec never fires again)"
		switch {
		case err != nil:
			text = fmt.Sprintf("unknown (%v)", err)
		case !next.IsZero():
			text = fmt.Sprintf("%s (%s from now)", next.Format("2006-01-02T15:04:05Z07:00"), next.Sub(now).Round(1e9))
		}
		pairs = append(pairs, kv{"Next Periodic Launch", text})
	}
	return pairs
}

// showTemplateJob prints the children part of `job status` for a periodic
// or parameterized job: the parameters, the children summary and the
// children.
func (c *cli) showTemplateJob(ctx context.Context, cl *api.Client, job *structs.Job, summary *structs.JobSummary) error {
	if job.IsParameterized() {
		p := job.ParameterizedJob
		c.out("\nParameterized Job")
		writeKV(c.stdout, []kv{
			{"Payload", p.Payload},
			{"Required Metadata", orNone(strings.Join(p.MetaRequired, ", "))},
			{"Optional Metadata", orNone(strings.Join(p.MetaOptional, ", "))},
		})
	}
	title, listTitle := "Children Job Summary", "Previously Launched Jobs"
	if job.IsParameterized() {
		title, listTitle = "Parameterized Job Summary", "Dispatched Jobs"
	}
	c.out("\n%s", title)
	var ch structs.JobChildrenSummary
	if summary != nil && summary.Children != nil {
		ch = *summary.Children
	}
	writeTable(c.stdout, []string{"Pending", "Running", "Dead"}, [][]string{{
		strconv.FormatInt(ch.Pending, 10), strconv.FormatInt(ch.Running, 10), strconv.FormatInt(ch.Dead, 10)}})

	q := c.query()
	q.Prefix = job.ID + "/"
	jobs, _, err := cl.ListJobs(ctx, q)
	if err != nil {
		return fail(fmt.Sprintf("listing the children of job %q", job.ID), err, "")
	}
	var rows [][]string
	for _, j := range jobs {
		if j.ParentID == job.ID {
			rows = append(rows, []string{j.ID, jobStatusText(j.Status, j.Stop)})
		}
	}
	c.out("\n%s", listTitle)
	if len(rows) == 0 {
		c.out("No %s", strings.ToLower(listTitle))
		return nil
	}
	writeTable(c.stdout, []string{"ID", "Status"}, rows)
	return nil
}
