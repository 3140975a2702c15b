package command

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobRestartFlags are the options of `job restart`.
type jobRestartFlags struct {
	groups    []string
	tasks     []string
	batchSize string
	batchWait string
	yes       bool
	verbose   bool
	timeout   time.Duration
}

func (c *cli) jobRestartCommand() *cobra.Command {
	var f jobRestartFlags
	cmd := &cobra.Command{
		Use:   "restart [-group g]... [-task t]... [-batch-size n|n%] [-batch-wait d|ask] [-yes] <job>",
		Short: "Restart the tasks of a job's running allocations in place, batch by batch",
		Long: `Restarts the running tasks of the job's running allocations in place (same
allocation, same node), through the allocation restart API. Allocations are
restarted in batches (-batch-size, a number or a percentage of the
allocations); each batch's tasks must be running again before the next
batch starts, after -batch-wait (a duration, or "ask" to confirm each batch).`,
		Args: argsBetween(1, 1, "one job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.jobRestart(cmd, args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.groups, "group", nil, "restart only allocations of this group (repeatable)")
	fl.StringArrayVar(&f.tasks, "task", nil, "restart only this task (repeatable; default: every running task)")
	fl.StringVar(&f.batchSize, "batch-size", "1", "allocations restarted at once: a number, or a percentage such as 25%")
	fl.StringVar(&f.batchWait, "batch-wait", "0s", `time to wait between batches, or "ask" to confirm each batch`)
	fl.BoolVarP(&f.yes, "yes", "y", false, "do not ask for confirmation")
	fl.BoolVar(&f.verbose, "verbose", false, "show full IDs")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Minute, "how long each batch may take to be running again")
	return cmd
}

// restartTarget is one allocation to restart and the tasks to watch.
type restartTarget struct {
	alloc *structs.Allocation
	// tasks are the tasks restarted, with their restart count before.
	tasks map[string]uint64
	// names are the tasks named in the restart requests ("" restarts
	// every running task).
	names []string
}

func (c *cli) jobRestart(cmd *cobra.Command, prefix string, f *jobRestartFlags) error {
	ctx := cmd.Context()
	askEach := f.batchWait == "ask"
	var wait time.Duration
	if !askEach {
		d, err := time.ParseDuration(f.batchWait)
		if err != nil || d < 0 {
			return usageError(cmd.CommandPath(), "-batch-wait %q is neither a duration (e.g. 10s) nor \"ask\"", f.batchWait)
		}
		wait = d
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	job, exact, err := c.resolveJob(ctx, cl, prefix)
	if err != nil {
		return err
	}
	if err := checkRestartFilters(cmd.CommandPath(), job, f); err != nil {
		return err
	}
	targets, err := c.restartTargets(ctx, cl, job, f)
	if err != nil {
		return err
	}
	if len(targets) == 0 {
		c.out("No running allocations of job %q to restart", job.ID)
		return nil
	}
	size, err := parseBatchSize(f.batchSize, len(targets))
	if err != nil {
		return usageError(cmd.CommandPath(), "%v", err)
	}
	if !exact && !f.yes {
		ok, err := c.confirm(fmt.Sprintf("Are you sure you want to restart %d allocations of job %q? [y/N] ", len(targets), job.ID))
		if err != nil {
			return err
		}
		if !ok {
			c.out("Cancelling job restart")
			return nil
		}
	}
	stamp := func() string { return c.now().UTC().Format(time.RFC3339) }
	c.out("==> %s: Restarting %d allocations", stamp(), len(targets))
	for start, batch := 0, 1; start < len(targets); start, batch = start+size, batch+1 {
		if start > 0 {
			if askEach {
				ok, err := c.confirm(fmt.Sprintf("==> %s: Proceed with the next batch? [y/N] ", stamp()))
				if err != nil {
					return err
				}
				if !ok {
					c.out("==> %s: Job restart canceled; %d allocations were not restarted", stamp(), len(targets)-start)
					return exitWith(exitError)
				}
			} else if wait > 0 {
				c.out("==> %s: Waiting %s before restarting the next batch", stamp(), wait)
				if err := sleepOrDone(ctx, wait); err != nil {
					return c.interrupted(ctx, job.ID, err)
				}
			}
		}
		end := min(start+size, len(targets))
		if size < len(targets) {
			c.out("==> %s: Restarting batch %d (%d allocations)", stamp(), batch, end-start)
		}
		for _, t := range targets[start:end] {
			if err := c.restartOne(ctx, cl, t, f.verbose, stamp); err != nil {
				return err
			}
		}
		wctx, cancel := context.WithTimeout(ctx, f.timeout)
		err := c.waitRestarted(wctx, cl, targets[start:end])
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return c.interrupted(ctx, job.ID, err)
			}
			return &cliError{code: exitError, doing: fmt.Sprintf("waiting for batch %d of job %q to run again", batch, job.ID), err: err,
				hint: "Inspect the allocations with 'nomadlike alloc status <id>'; raise -timeout if the tasks are slow to start."}
		}
	}
	c.out("==> %s: Finished job restart\n\nAll allocations restarted successfully!", stamp())
	return nil
}

// checkRestartFilters checks that -group and -task name groups and tasks of the job.
func checkRestartFilters(cmdPath string, job *structs.Job, f *jobRestartFlags) error {
	var groups, tasks []string
	for _, g := range job.TaskGroups {
		groups = append(groups, g.Name)
		for _, t := range g.Tasks {
			if !slices.Contains(tasks, t.Name) {
				tasks = append(tasks, t.Name)
			}
		}
	}
	for _, g := range f.groups {
		if !slices.Contains(groups, g) {
			return usageError(cmdPath, "job %q has no group %q; its groups are %s", job.ID, g, strings.Join(groups, ", "))
		}
	}
	for _, t := range f.tasks {
		if !slices.Contains(tasks, t) {
			return usageError(cmdPath, "job %q has no task %q; its tasks are %s", job.ID, t, strings.Join(tasks, ", "))
		}
	}
	return nil
}

// restartTargets lists the job's running allocations, filtered by group,
// with the running tasks to restart.
func (c *cli) restartTargets(ctx context.Context, cl *api.Client, job *structs.Job, f *jobRestartFlags) ([]*restartTarget, error) {
	stubs, _, err := cl.JobAllocations(ctx, job.ID, c.query())
	if err != nil {
		return nil, fail(fmt.Sprintf("listing the allocations of job %q", job.ID), err, "")
	}
	slices.SortFunc(stubs, func(a, b *structs.AllocListStub) int { return strings.Compare(a.ID, b.ID) })
	var out []*restartTarget
	for _, s := range stubs {
		if s.ClientStatus != structs.AllocClientStatusRunning || s.DesiredStatus != structs.AllocDesiredStatusRun {
			continue
		}
		if len(f.groups) > 0 && !slices.Contains(f.groups, s.TaskGroup) {
			continue
		}
		a, _, err := cl.Allocation(ctx, s.ID, c.query())
		if err != nil {
			return nil, fail(fmt.Sprintf("reading allocation %q", shortID(s.ID, f.verbose)), err, "")
		}
		t := &restartTarget{alloc: a, tasks: map[string]uint64{}}
		for name, ts := range a.TaskStates {
			if ts.State != structs.TaskStateRunning || (len(f.tasks) > 0 && !slices.Contains(f.tasks, name)) {
				continue
			}
			t.tasks[name] = ts.Restarts
			if len(f.tasks) > 0 {
				t.names = append(t.names, name)
			}
		}
		if len(t.tasks) == 0 {
			continue
		}
		slices.Sort(t.names)
		if len(f.tasks) == 0 {
			t.names = []string{""}
		}
		out = append(out, t)
	}
	return out, nil
}

// parseBatchSize reads "n" or "n%" of total allocations (at least 1).
func parseBatchSize(s string, total int) (int, error) {
	if p, ok := strings.CutSuffix(s, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil || pct <= 0 || pct > 100 {
			return 0, fmt.Errorf("-batch-size %q is not a percentage between 1%% and 100%%", s)
		}
		return max(1, int(math.Ceil(float64(total)*float64(pct)/100))), nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("-batch-size %q is not a positive number or a percentage such as 25%%", s)
	}
	return n, nil
}

// restartOne asks the allocation's client to restart the target's tasks.
func (c *cli) restartOne(ctx context.Context, cl *api.Client, t *restartTarget, verbose bool, stamp func() string) error {
	id := shortID(t.alloc.ID, verbose)
	for _, name := range t.names {
		if name == "" {
			c.out("    %s: Restarting running tasks in allocation %q for group %q", stamp(), id, t.alloc.TaskGroup)
		} else {
			c.out("    %s: Restarting task %q in allocation %q for group %q", stamp(), name, id, t.alloc.TaskGroup)
		}
		if err := cl.RestartAlloc(ctx, t.alloc.ID, name, c.query()); err != nil {
			return fail(fmt.Sprintf("restarting allocation %q", id), err, "")
		}
	}
	return nil
}

// waitRestarted waits until every restarted task of targets counts one
// more restart and runs again.
func (c *cli) waitRestarted(ctx context.Context, cl *api.Client, targets []*restartTarget) error {
	for _, t := range targets {
		var idx uint64
		for {
			q := c.query()
			q.WaitIndex, q.WaitTime = idx, blockingWait
			a, meta, err := cl.Allocation(ctx, t.alloc.ID, q)
			if err != nil {
				return fmt.Errorf("read allocation %s: %w", shortID(t.alloc.ID, false), err)
			}
			if a.ClientTerminalStatus() {
				return fmt.Errorf("allocation %s is %s instead of running again", shortID(a.ID, false), a.ClientStatus)
			}
			if restartedAll(a, t.tasks) {
				break
			}
			idx = meta.LastIndex
		}
	}
	return nil
}

// restartedAll reports whether every task in before restarted since and runs.
func restartedAll(a *structs.Allocation, before map[string]uint64) bool {
	for name, n := range before {
		ts := a.TaskStates[name]
		if ts == nil || ts.Restarts <= n || ts.State != structs.TaskStateRunning {
			return false
		}
	}
	return true
}

// sleepOrDone waits d, or returns ctx's error when it ends first.
func sleepOrDone(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
