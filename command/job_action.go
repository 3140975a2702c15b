package command

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// jobActionFlags are the options of `job action` (Nomad's).
type jobActionFlags struct {
	job, alloc, group, task string
	stdin, tty              bool
}

// jobActionCommand is `job action` (also `action`): run a task's action
// block in a running allocation (GET /v1/job/{id}/action, the exec path).
func (c *cli) jobActionCommand(use string) *cobra.Command {
	var f jobActionFlags
	cmd := &cobra.Command{
		Use:   use + " -job <job> [-alloc <alloc>] [-group <group>] [-task <task>] <action>",
		Short: "Run an action defined in a job's task inside a running allocation",
		Long: "Runs the named action block of a task (action \"name\" { command args }) inside a running allocation\n" +
			"of the job, as 'alloc exec' runs a command. Without -alloc a running allocation of the job is chosen;\n" +
			"-group and -task are needed only when several tasks define the action. The exit code is the action's.",
		Args: argsBetween(1, 1, "the name of the action"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("t") {
				f.tty = f.stdin && isTerminal(c.stdin)
			}
			return c.jobAction(cmd.Context(), args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.job, "job", "", "the job whose action to run (required)")
	fl.StringVar(&f.alloc, "alloc", "", "the allocation to run it in (default: a running allocation of the job)")
	fl.StringVar(&f.group, "group", "", "the group of the task defining the action")
	fl.StringVar(&f.task, "task", "", "the task defining the action")
	fl.BoolVarP(&f.stdin, "i", "i", true, "forward stdin to the action")
	fl.BoolVarP(&f.tty, "t", "t", false, "run the action on a terminal (default: when stdin is a terminal and -i)")
	return cmd
}

func (c *cli) jobAction(ctx context.Context, name string, f *jobActionFlags) error {
	if f.job == "" {
		return usageError("nomadlike job action", "-job is required: the job whose action to run")
	}
	cl, err := c.client()
	if err != nil {
		return err
	}
	job, _, err := c.resolveJob(ctx, cl, f.job)
	if err != nil {
		return err
	}
	group, task, err := actionTask(job, name, f.group, f.task)
	if err != nil {
		return err
	}
	var alloc *structs.Allocation
	if f.alloc != "" {
		if alloc, err = c.resolveAlloc(ctx, cl, f.alloc); err != nil {
			return err
		}
		if alloc.JobID != job.ID || alloc.TaskGroup != group {
			return &cliError{code: exitError, doing: "choosing the allocation",
				err:  fmt.Errorf("allocation %s is of job %q group %q, not of job %q group %q", shortID(alloc.ID, false), alloc.JobID, alloc.TaskGroup, job.ID, group),
				hint: fmt.Sprintf("List the job's allocations with 'nomadlike job status %s'.", job.ID)}
		}
	} else if alloc, err = c.runningAlloc(ctx, cl, job.ID, group); err != nil {
		return err
	}
	o, restore := c.execOptions(ctx, task, f.stdin, f.tty)
	defer restore()
	code, err := cl.ActionExec(ctx, job.ID, alloc, name, o, c.query())
	if err != nil {
		return fail(fmt.Sprintf("running action %q in task %q of allocation %q", name, task, shortID(alloc.ID, false)), err,
			"The task must be running and its driver (raw_exec or container) must support exec; see 'nomadlike alloc status "+shortID(alloc.ID, false)+"'.")
	}
	if code != 0 {
		return exitWith(code)
	}
	return nil
}

// actionTask finds the group and task defining the named action, narrowed
// by the -group and -task flags when given.
func actionTask(job *structs.Job, name, group, task string) (string, string, error) {
	var found []string
	var g, t string
	var all []string
	for _, tg := range job.TaskGroups {
		for _, tk := range tg.Tasks {
			for _, a := range tk.Actions {
				all = append(all, fmt.Sprintf("%s (group %q task %q)", a.Name, tg.Name, tk.Name))
			}
			if (group != "" && tg.Name != group) || (task != "" && tk.Name != task) || tk.LookupAction(name) == nil {
				continue
			}
			found = append(found, fmt.Sprintf("group %q task %q", tg.Name, tk.Name))
			g, t = tg.Name, tk.Name
		}
	}
	switch len(found) {
	case 1:
		return g, t, nil
	case 0:
		known := "it defines none"
		if len(all) > 0 {
			known = "its actions: " + strings.Join(all, ", ")
		}
		return "", "", &cliError{code: exitError, doing: "finding the action",
			err:  fmt.Errorf("job %q has no action %q%s; %s", job.ID, name, narrowed(group, task), known),
			hint: "Name an action defined in the job's tasks (action \"name\" { command = ... })."}
	}
	return "", "", &cliError{code: exitError, doing: "finding the action",
		err:  fmt.Errorf("action %q is defined in %s", name, strings.Join(found, " and ")),
		hint: "Choose one with -group and -task."}
}

func narrowed(group, task string) string {
	var parts []string
	if group != "" {
		parts = append(parts, fmt.Sprintf("group %q", group))
	}
	if task != "" {
		parts = append(parts, fmt.Sprintf("task %q", task))
	}
	if len(parts) == 0 {
		return ""
	}
	return " in " + strings.Join(parts, " ")
}

// runningAlloc returns a running allocation of the job's group.
func (c *cli) runningAlloc(ctx context.Context, cl *api.Client, jobID, group string) (*structs.Allocation, error) {
	stubs, _, err := cl.JobAllocations(ctx, jobID, c.query())
	if err != nil {
		return nil, fail(fmt.Sprintf("listing the allocations of job %q", jobID), err, "")
	}
	for _, s := range stubs {
		if s.TaskGroup == group && s.ClientStatus == structs.AllocClientStatusRunning {
			a, _, err := cl.Allocation(ctx, s.ID, c.query())
			if err != nil {
				return nil, fail(fmt.Sprintf("reading allocation %s", shortID(s.ID, false)), err, "")
			}
			return a, nil
		}
	}
	return nil, &cliError{code: exitError, doing: "choosing the allocation",
		err:  fmt.Errorf("job %q has no running allocation of group %q", jobID, group),
		hint: fmt.Sprintf("Check 'nomadlike job status %s'; an action runs only in a running task.", jobID)}
}
