package command

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// matchPrefix picks the one ID among ids that prefix names, as Nomad's CLI
// does: an exact match wins; otherwise exactly one match is required.
// It returns the chosen ID, or "" and whether the prefix was ambiguous.
func matchPrefix(prefix string, ids []string) (id string, ambiguous bool) {
	if slices.Contains(ids, prefix) {
		return prefix, false
	}
	switch len(ids) {
	case 0:
		return "", false
	case 1:
		return ids[0], false
	}
	return "", true
}

// notFound is the error for a prefix that matches nothing.
func notFound(kind, prefix, listCmd string) error {
	return &cliError{code: exitError, doing: "looking up " + kind,
		err:  fmt.Errorf("No %s(s) with prefix or id %q found", kind, prefix),
		hint: fmt.Sprintf("List them with '%s' (and check -namespace).", listCmd)}
}

// ambiguous prints the matches of prefix as a table on w and returns the error.
func ambiguous(w io.Writer, kind, prefix string, header []string, rows [][]string) error {
	fmt.Fprintf(w, "Prefix matched multiple %ss\n\n", kind)
	writeTable(w, header, rows)
	return &cliError{code: exitError, doing: "looking up " + kind,
		err:  fmt.Errorf("prefix %q matches %d %ss", prefix, len(rows), kind),
		hint: "Give more characters of the ID."}
}

// checkPrefix rejects prefixes too short to look up.
func checkPrefix(kind, prefix string) error {
	if len(prefix) < 1 {
		return &cliError{code: exitError, doing: "looking up " + kind, err: fmt.Errorf("%s ID is empty", kind),
			hint: "Give the ID, or at least its first characters."}
	}
	return nil
}

// resolveAlloc finds the allocation prefix names and reads it in full.
func (c *cli) resolveAlloc(ctx context.Context, cl *api.Client, prefix string) (*structs.Allocation, error) {
	if err := checkPrefix("allocation", prefix); err != nil {
		return nil, err
	}
	q := c.query()
	q.Prefix = prefix
	stubs, _, err := cl.ListAllocations(ctx, q)
	if err != nil {
		return nil, fail("listing allocations", err, "")
	}
	ids := make([]string, len(stubs))
	for i, s := range stubs {
		ids[i] = s.ID
	}
	id, amb := matchPrefix(prefix, ids)
	if amb {
		rows := make([][]string, len(stubs))
		for i, s := range stubs {
			rows[i] = []string{s.ID, s.JobID, s.TaskGroup, s.DesiredStatus, s.ClientStatus}
		}
		return nil, ambiguous(c.stdout, "allocation", prefix, []string{"ID", "Job ID", "Task Group", "Desired", "Status"}, rows)
	}
	if id == "" {
		return nil, notFound("allocation", prefix, "nomadlike job status <job>")
	}
	a, _, err := cl.Allocation(ctx, id, c.query())
	if err != nil {
		return nil, fail(fmt.Sprintf("reading allocation %q", id), err, "")
	}
	return a, nil
}

// resolveEval finds the evaluation prefix names.
func (c *cli) resolveEval(ctx context.Context, cl *api.Client, prefix string) (*structs.Evaluation, error) {
	if err := checkPrefix("evaluation", prefix); err != nil {
		return nil, err
	}
	q := c.query()
	q.Prefix = prefix
	evals, _, err := cl.ListEvaluations(ctx, q)
	if err != nil {
		return nil, fail("listing evaluations", err, "")
	}
	ids := make([]string, len(evals))
	for i, e := range evals {
		ids[i] = e.ID
	}
	id, amb := matchPrefix(prefix, ids)
	if amb {
		rows := make([][]string, len(evals))
		for i, e := range evals {
			rows[i] = []string{e.ID, e.JobID, e.TriggeredBy, e.Status}
		}
		return nil, ambiguous(c.stdout, "evaluation", prefix, []string{"ID", "Job ID", "Triggered By", "Status"}, rows)
	}
	if id == "" {
		return nil, notFound("evaluation", prefix, "nomadlike job status <job>")
	}
	ev, _, err := cl.Evaluation(ctx, id, c.query())
	if err != nil {
		return nil, fail(fmt.Sprintf("reading evaluation %q", id), err, "")
	}
	return ev, nil
}

// resolveNode finds the node prefix names and reads it in full.
func (c *cli) resolveNode(ctx context.Context, cl *api.Client, prefix string) (*structs.Node, error) {
	if err := checkPrefix("node", prefix); err != nil {
		return nil, err
	}
	q := c.query()
	q.Prefix = prefix
	nodes, _, err := cl.ListNodes(ctx, q)
	if err != nil {
		return nil, fail("listing nodes", err, "")
	}
	ids := make([]string, len(nodes))
	for i, n := range nodes {
		ids[i] = n.ID
	}
	id, amb := matchPrefix(prefix, ids)
	if amb {
		return nil, ambiguous(c.stdout, "node", prefix, nodeListHeader, nodeListRows(nodes, true))
	}
	if id == "" {
		return nil, notFound("node", prefix, "nomadlike node status")
	}
	n, _, err := cl.Node(ctx, id, c.query())
	if err != nil {
		return nil, fail(fmt.Sprintf("reading node %q", id), err, "")
	}
	return n, nil
}

// connectJob connects to the agent and finds the job prefix names, for
// commands that act on one job.
func (c *cli) connectJob(ctx context.Context, prefix string) (*api.Client, *structs.Job, error) {
	cl, err := c.client()
	if err != nil {
		return nil, nil, err
	}
	job, _, err := c.resolveJob(ctx, cl, prefix)
	if err != nil {
		return nil, nil, err
	}
	return cl, job, nil
}

// resolveJob finds the job prefix names; exact tells whether it was named exactly.
func (c *cli) resolveJob(ctx context.Context, cl *api.Client, prefix string) (job *structs.Job, exact bool, err error) {
	if err := checkPrefix("job", prefix); err != nil {
		return nil, false, err
	}
	q := c.query()
	q.Prefix = prefix
	jobs, _, err := cl.ListJobs(ctx, q)
	if err != nil {
		return nil, false, fail("listing jobs", err, "")
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ID
	}
	id, amb := matchPrefix(prefix, ids)
	if amb {
		return nil, false, ambiguous(c.stdout, "job", prefix, jobListHeader, jobListRows(jobs, c.now().Location()))
	}
	if id == "" {
		return nil, false, notFound("job", prefix, "nomadlike job status")
	}
	j, _, err := cl.Job(ctx, id, c.query())
	if err != nil {
		return nil, false, fail(fmt.Sprintf("reading job %q", id), err, "")
	}
	return j, id == prefix, nil
}
