package command

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
	"github.com/spf13/cobra"
)

// jobLogsFlags are the options of `job logs`.
type jobLogsFlags struct {
	stderr  bool
	follow  bool
	task    string
	verbose bool
}

func (c *cli) jobLogsCommand() *cobra.Command {
	var f jobLogsFlags
	cmd := &cobra.Command{
		Use:   "logs [-f] [-stderr] [-task t] <job>",
		Short: "Print (or follow) the logs of every allocation of a job, each line prefixed by its allocation and task",
		Long: `Prints the stdout (or with -stderr the stderr) of every task of every
allocation of the job that has started, each line prefixed with
"[<alloc-id> <task>]". With -f it follows them all, interleaved as lines
arrive, and follows new allocations as the job places them (a scale-up, a
rolling update, a rescheduled allocation), until interrupted (Ctrl-C).`,
		Args: argsBetween(1, 1, "a job ID (or prefix)"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return c.jobLogs(cmd.Context(), args[0], &f)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&f.stderr, "stderr", false, "print stderr instead of stdout")
	fl.BoolVarP(&f.follow, "follow", "f", false, "keep printing new output and new allocations until interrupted (Ctrl-C)")
	fl.StringVar(&f.task, "task", "", "only this task of each allocation")
	fl.BoolVar(&f.verbose, "verbose", false, "show full allocation IDs in the prefix")
	return cmd
}

// logStream names one task's log in one allocation.
type logStream struct{ alloc, task string }

func (c *cli) jobLogs(ctx context.Context, jobPrefix string, f *jobLogsFlags) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	job, _, err := c.resolveJob(ctx, cl, jobPrefix)
	if err != nil {
		return err
	}
	if f.task != "" && !jobHasTask(job, f.task) {
		return &cliError{code: exitError, doing: fmt.Sprintf("choosing the task of job %q", job.ID),
			err:  fmt.Errorf("job %q has no task %q; its tasks are: %s", job.ID, f.task, jobTaskNames(job)),
			hint: "Give one of the listed task names to -task."}
	}
	typ := "stdout"
	if f.stderr {
		typ = "stderr"
	}
	out := &lockedWriter{w: c.stdout}
	started := map[logStream]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var idx uint64
	for {
		q := c.query()
		q.WaitIndex, q.WaitTime = idx, blockingWait
		stubs, meta, err := cl.JobAllocations(ctx, job.ID, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fail(fmt.Sprintf("listing the allocations of job %q", job.ID), err, "")
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		slices.SortFunc(stubs, func(a, b *structs.AllocListStub) int { return int(a.CreateIndex) - int(b.CreateIndex) })
		for _, a := range stubs {
			for _, task := range startedTasks(a, f.task) {
				s := logStream{a.ID, task}
				if started[s] {
					continue
				}
				started[s] = true
				pw := &prefixWriter{out: out, prefix: fmt.Sprintf("[%s %s] ", shortID(a.ID, f.verbose), task)}
				opts := api.LogsOptions{Task: task, Type: typ, Origin: "start", Follow: f.follow}
				if !f.follow {
					c.streamLog(ctx, cl, s, opts, pw)
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					c.streamLog(ctx, cl, s, opts, pw)
				}()
			}
		}
		if !f.follow {
			return nil
		}
	}
}

// streamLog copies one task's log through pw; a failure is said on stderr
// with the stream's prefix and does not stop the others.
func (c *cli) streamLog(ctx context.Context, cl *api.Client, s logStream, opts api.LogsOptions, pw *prefixWriter) {
	opts.OnRetained = func(at string) {
		pw.out.printf(c.stderr, "%s(allocation garbage collected: logs retained by its client at %s)\n", pw.prefix, at)
	}
	err := cl.Logs(ctx, s.alloc, opts, pw)
	pw.flush()
	if err != nil && ctx.Err() == nil {
		pw.out.printf(c.stderr, "%scannot read %s: %v (its node's client agent must be running; see 'nomadlike alloc status %s')\n",
			pw.prefix, opts.Type, err, shortID(s.alloc, false))
	}
}

// startedTasks are the tasks of a (only the task only, when set) that have started,
// so have a log to read, sorted by name.
func startedTasks(a *structs.AllocListStub, only string) []string {
	var names []string
	for _, name := range slices.Sorted(maps.Keys(a.TaskStates)) {
		ts := a.TaskStates[name]
		if ts == nil || only != "" && name != only {
			continue
		}
		if ts.State == structs.TaskStateRunning || !ts.StartedAt.IsZero() {
			names = append(names, name)
		}
	}
	return names
}

func jobHasTask(job *structs.Job, task string) bool {
	for _, tg := range job.TaskGroups {
		if tg.LookupTask(task) != nil {
			return true
		}
	}
	return false
}

func jobTaskNames(job *structs.Job) string {
	var names []string
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if !slices.Contains(names, t.Name) {
				names = append(names, t.Name)
			}
		}
	}
	return fmt.Sprint(names)
}

// lockedWriter serialises whole lines of several streams onto one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) write(b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = l.w.Write(b)
}

// printf writes a formatted message to w (another stream, e.g. stderr)
// without interleaving it with a line being written.
func (l *lockedWriter) printf(w io.Writer, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(w, format, args...)
}

// prefixWriter writes each complete line it receives to out with prefix;
// a partial line waits for its end (or flush).
type prefixWriter struct {
	out     *lockedWriter
	prefix  string
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	data := append(p.partial, b...)
	var buf bytes.Buffer
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		buf.WriteString(p.prefix)
		buf.Write(data[:i+1])
		data = data[i+1:]
	}
	p.partial = append(p.partial[:0:0], data...)
	if buf.Len() > 0 {
		p.out.write(buf.Bytes())
	}
	return n, nil
}

// flush writes a last line that has no newline.
func (p *prefixWriter) flush() {
	if len(p.partial) > 0 {
		p.out.write([]byte(p.prefix + string(p.partial) + "\n"))
		p.partial = nil
	}
}
