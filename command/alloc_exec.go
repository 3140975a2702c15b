package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/containerd/console"
	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocExecFlags are the options of `alloc exec`.
type allocExecFlags struct {
	stdin bool
	tty   bool
	task  string
	job   bool
}

func (c *cli) allocExecCommand() *cobra.Command {
	var f allocExecFlags
	cmd := &cobra.Command{
		Use:   "exec [-i] [-t] [-task <task>] [-job] <alloc-id> <command> [args...]",
		Short: "Run a command inside a running task (interactively with -i -t)",
		Long: "Run a command inside a running task of an allocation, with the task's environment, working directory,\n" +
			"user and (container tasks) namespaces. -t allocates a terminal (the default when stdin is one);\n" +
			"-i (the default) forwards stdin. The exit code is the command's.",
		Args: argsAtLeast(2, "an allocation ID (or prefix) and the command to run"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("t") {
				f.tty = f.stdin && isTerminal(c.stdin)
			}
			return c.allocExec(cmd.Context(), args[0], args[1:], &f)
		},
	}
	// Flags end at the allocation ID: what follows is the command's own.
	cmd.Flags().SetInterspersed(false)
	fl := cmd.Flags()
	fl.BoolVarP(&f.stdin, "i", "i", true, "forward stdin to the command")
	fl.BoolVarP(&f.tty, "t", "t", false, "run the command on a terminal (default: when stdin is a terminal and -i)")
	fl.StringVar(&f.task, "task", "", "the task to run the command in (needed when the allocation has several)")
	fl.BoolVar(&f.job, "job", false, "the ID is a job's: use its newest running allocation")
	return cmd
}

func (c *cli) allocExec(ctx context.Context, id string, command []string, f *allocExecFlags) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	alloc, err := c.resolveAllocOrJob(ctx, cl, id, f.job)
	if err != nil {
		return err
	}
	task, err := c.pickTask(alloc, f.task)
	if err != nil {
		return err
	}
	o, restore := c.execOptions(ctx, task, f.stdin, f.tty)
	defer restore()
	o.Command = command
	code, err := cl.Exec(ctx, alloc.ID, o, c.query())
	if err != nil {
		return fail(fmt.Sprintf("running %q in task %q of allocation %q", strings.Join(command, " "), task, shortID(alloc.ID, false)), err,
			"The task must be running and its driver (raw_exec or container) must support exec; see 'nomadlike alloc status "+shortID(alloc.ID, false)+"'.")
	}
	if code != 0 {
		return exitWith(code)
	}
	return nil
}

// execOptions are the options of an exec session in task on the CLI's
// streams: stdin forwarded when asked, and with tty the terminal in raw
// mode (restore puts it back) and its size changes sent.
func (c *cli) execOptions(ctx context.Context, task string, stdin, tty bool) (api.ExecOptions, func()) {
	o := api.ExecOptions{Task: task, TTY: tty, Stdout: c.stdout, Stderr: c.stderr}
	if stdin {
		o.Stdin = c.stdin
	}
	if !tty {
		return o, func() {}
	}
	restore, resize := c.rawTerminal(ctx)
	o.Resize = resize
	return o, restore
}

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	_, err := console.ConsoleFromFile(f)
	return err == nil
}

// rawTerminal puts the local terminal (stdin) in raw mode when it is one,
// and reports its size now and on every SIGWINCH. restore undoes both.
func (c *cli) rawTerminal(ctx context.Context) (restore func(), resize <-chan api.TerminalSize) {
	f, ok := c.stdin.(*os.File)
	if !ok {
		return func() {}, nil
	}
	con, err := console.ConsoleFromFile(f)
	if err != nil {
		return func() {}, nil
	}
	if err := con.SetRaw(); err != nil {
		fmt.Fprintf(c.stderr, "Warning: could not put the terminal in raw mode (%v); keys such as Ctrl-C act locally\n", err)
	}
	ch := make(chan api.TerminalSize, 1)
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	send := func() {
		if sz, err := con.Size(); err == nil {
			select {
			case <-ch: // keep only the newest size
			default:
			}
			ch <- api.TerminalSize{Height: int(sz.Height), Width: int(sz.Width)}
		}
	}
	send()
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-winch:
				send()
			}
		}
	}()
	return func() {
		cancel()
		<-done
		signal.Stop(winch)
		_ = con.Reset()
	}, ch
}

// rawArgsStart returns the index in args (without the program name) of
// `alloc exec`'s command: it and what follows are the command's own
// arguments, never the CLI's flags. It returns len(args) for other commands.
func rawArgsStart(args []string) int {
	valued := map[string]bool{"address": true, "token": true, "namespace": true, "region": true, "task": true}
	positional := 0
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return len(args)
		}
		if len(a) > 1 && a[0] == '-' {
			if name := strings.TrimLeft(a, "-"); !strings.Contains(name, "=") && valued[name] {
				i++
			}
			continue
		}
		switch {
		case positional == 0 && a != "alloc", positional == 1 && a != "exec":
			return len(args)
		case positional == 3:
			return i
		}
		positional++
	}
	return len(args)
}

// resolveAllocOrJob resolves an allocation ID prefix, or with job a job's
// newest running allocation.
func (c *cli) resolveAllocOrJob(ctx context.Context, cl *api.Client, id string, job bool) (*structs.Allocation, error) {
	if job {
		return c.jobAlloc(ctx, cl, id)
	}
	return c.resolveAlloc(ctx, cl, id)
}

// argsAtLeast requires at least min positional arguments.
func argsAtLeast(min int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min {
			return nil
		}
		return usageError(cmd.CommandPath(), "%s expects %s, got %d argument(s) %q", cmd.CommandPath(), what, len(args), args)
	}
}
