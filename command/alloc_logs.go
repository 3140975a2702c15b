package command

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

// allocLogsFlags are the options of `alloc logs`.
type allocLogsFlags struct {
	stderr  bool
	follow  bool
	tail    bool
	lines   int
	job     bool
	verbose bool
}

// defaultTailLines is how many lines -tail prints without -n, as Nomad's.
const defaultTailLines = 10

func (c *cli) allocLogsCommand() *cobra.Command {
	var f allocLogsFlags
	cmd := &cobra.Command{
		Use:   "logs [-stderr] [-f] [-tail] [-n lines] [-job] <alloc-id> [task]",
		Short: "Print (or follow) the stdout or stderr of an allocation's task",
		Args:  argsBetween(1, 2, "an allocation ID (or prefix) and optionally a task name"),
		RunE: func(cmd *cobra.Command, args []string) error {
			task := ""
			if len(args) == 2 {
				task = args[1]
			}
			if cmd.Flags().Changed("n") {
				f.tail = true
				if f.lines < 0 {
					return usageError("nomadlike alloc logs", "-n must not be negative, got %d", f.lines)
				}
			}
			return c.allocLogs(cmd.Context(), args[0], task, &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.stderr, "stderr", false, "print stderr instead of stdout")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing new output until interrupted (Ctrl-C)")
	fl.BoolVar(&f.tail, "tail", false, "print only the last lines (10 unless -n says otherwise)")
	fl.IntVarP(&f.lines, "lines", "n", defaultTailLines, "with -tail, how many lines to print from the end")
	fl.BoolVar(&f.job, "job", false, "the ID is a job's: use its newest running allocation")
	fl.BoolVar(&f.verbose, "verbose", false, "show full IDs")
	return cmd
}

func (c *cli) allocLogs(ctx context.Context, id, task string, f *allocLogsFlags) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	var alloc *structs.Allocation
	if f.job {
		alloc, err = c.jobAlloc(ctx, cl, id)
	} else {
		alloc, err = c.resolveAlloc(ctx, cl, id)
	}
	purged := false
	if err != nil {
		if f.job || !isFullUUID(id) {
			return err
		}
		// Purged by the servers (system gc): the node that ran it may
		// still serve its retained logs, which need the task named.
		if ce, ok := err.(*cliError); ok && task == "" {
			ce.hint += fmt.Sprintf("\nIf 'nomadlike system gc' purged it, the client agent that ran it may have retained its logs (client logs_retention): run 'nomadlike alloc logs %s <task>' against that agent.", id)
		}
		if task == "" {
			return err
		}
		alloc, purged = &structs.Allocation{ID: id}, true
	}
	if !purged {
		if task, err = c.pickTask(alloc, task); err != nil {
			return err
		}
	}
	typ := "stdout"
	if f.stderr {
		typ = "stderr"
	}
	doing := fmt.Sprintf("reading the %s of task %q in allocation %q", typ, task, shortID(alloc.ID, false))
	retained := c.retainedNote(alloc.ID)
	if f.tail {
		var buf bytes.Buffer
		offset := int64(max(f.lines*256, 16<<10))
		if err := cl.Logs(ctx, alloc.ID, api.LogsOptions{Task: task, Type: typ, Origin: "end", Offset: offset, OnRetained: retained}, &buf); err != nil {
			return fail(doing, err, logsHint(alloc, err))
		}
		for _, l := range lastLines(buf.String(), f.lines) {
			c.out("%s", l)
		}
		if !f.follow {
			return nil
		}
		// Continue from the end: lines written between the two reads may be missed.
		err = cl.Logs(ctx, alloc.ID, api.LogsOptions{Task: task, Type: typ, Origin: "end", Follow: true}, c.stdout)
	} else {
		err = cl.Logs(ctx, alloc.ID, api.LogsOptions{Task: task, Type: typ, Origin: "start", Follow: f.follow, OnRetained: retained}, c.stdout)
	}
	if err != nil && ctx.Err() == nil {
		return fail(doing, err, logsHint(alloc, err))
	}
	return nil
}

// retainedNote says on stderr, once, that allocID's logs come from its
// client's retention area (its directory was garbage collected).
func (c *cli) retainedNote(allocID string) func(string) {
	var once sync.Once
	return func(at string) {
		once.Do(func() {
			fmt.Fprintf(c.stderr, "Note: allocation %s was garbage collected; these are the logs its client retained at %s (client logs_retention keeps the last max_mb of them).\n",
				shortID(allocID, false), at)
		})
	}
}

// isFullUUID reports whether id has the shape of a full ID (a UUID).
func isFullUUID(id string) bool {
	return len(id) == 36 && strings.Count(id, "-") == 4
}

func logsHint(a *structs.Allocation, err error) string {
	if a.NodeID == "" {
		return "The servers purged the allocation and this agent's client kept no logs of it: ask the agent of the node that ran it (NOMAD_ADDR)."
	}
	if err != nil && strings.Contains(err.Error(), "garbage collected") {
		return "Its client removed the allocation's directory (client gc_max_allocs, gc_disk_usage_threshold or an explicit GC) and kept no logs of it (client logs_retention disabled, or older than its max_age)."
	}
	return fmt.Sprintf("The allocation is %q on node %q; logs are served by that node's client agent, which must be running. See 'nomadlike alloc status %s'.",
		a.ClientStatus, shortID(a.NodeID, false), shortID(a.ID, false))
}

// pickTask returns task if the allocation has it, or the allocation's only
// task; with several tasks and none named it lists them.
func (c *cli) pickTask(a *structs.Allocation, task string) (string, error) {
	names := allocTaskNames(a)
	if task != "" {
		for _, n := range names {
			if n == task {
				return task, nil
			}
		}
		return "", &cliError{code: exitError, doing: "choosing the task",
			err:  fmt.Errorf("allocation %q has no task %q; its tasks are: %s", shortID(a.ID, false), task, strings.Join(names, ", ")),
			hint: "Give one of the listed task names."}
	}
	switch len(names) {
	case 1:
		return names[0], nil
	case 0:
		return "", &cliError{code: exitError, doing: "choosing the task",
			err:  fmt.Errorf("allocation %q has no tasks yet", shortID(a.ID, false)),
			hint: "Wait until the allocation is running; see 'nomadlike alloc status " + shortID(a.ID, false) + "'."}
	}
	c.out("Allocation %q is running the following tasks:", shortID(a.ID, false))
	for _, n := range names {
		c.out("  * %s", n)
	}
	return "", &cliError{code: exitError, doing: "choosing the task",
		err:  fmt.Errorf("allocation %q has %d tasks", shortID(a.ID, false), len(names)),
		hint: fmt.Sprintf("Name one: 'nomadlike alloc logs %s %s'.", shortID(a.ID, false), names[0])}
}

// jobAlloc picks the newest running allocation of the job jobPrefix names,
// or its newest allocation when none runs.
func (c *cli) jobAlloc(ctx context.Context, cl *api.Client, jobPrefix string) (*structs.Allocation, error) {
	job, _, err := c.resolveJob(ctx, cl, jobPrefix)
	if err != nil {
		return nil, err
	}
	stubs, _, err := cl.JobAllocations(ctx, job.ID, c.query())
	if err != nil {
		return nil, fail(fmt.Sprintf("listing the allocations of job %q", job.ID), err, "")
	}
	var best *structs.AllocListStub
	for _, s := range stubs {
		better := best == nil ||
			(s.ClientStatus == structs.AllocClientStatusRunning) != (best.ClientStatus == structs.AllocClientStatusRunning) && s.ClientStatus == structs.AllocClientStatusRunning ||
			(s.ClientStatus == structs.AllocClientStatusRunning) == (best.ClientStatus == structs.AllocClientStatusRunning) && s.CreateIndex > best.CreateIndex
		if better {
			best = s
		}
	}
	if best == nil {
		return nil, &cliError{code: exitError, doing: fmt.Sprintf("choosing an allocation of job %q", job.ID),
			err: fmt.Errorf("job %q has no allocations", job.ID), hint: fmt.Sprintf("See why with 'nomadlike job status %s'.", job.ID)}
	}
	a, _, err := cl.Allocation(ctx, best.ID, c.query())
	if err != nil {
		return nil, fail(fmt.Sprintf("reading allocation %q", best.ID), err, "")
	}
	return a, nil
}
