package supervisor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Helpers for drivers' ExecTask: running a command beside a task, on a pipe
// or on a pseudo-terminal, and streaming its I/O.

// outputDrain bounds how long an exec waits, after its command exited, for
// output still held open by processes the command left in the background.
const outputDrain = time.Second

// ExitCode is the shell-style exit code of a finished process: its status,
// or 128+n when signal n killed it.
func ExitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// RunExec runs cmd (not yet started; Path, Args, Env, Dir and
// SysProcAttr.Credential set by the caller) with req's streams, on a new
// pseudo-terminal when req.TTY, and returns its exit code. When ctx ends
// first it kills the command's process group (session with a TTY).
func RunExec(ctx context.Context, cmd *exec.Cmd, req *drivers.ExecRequest) (int, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	if req.TTY {
		return runExecTTY(ctx, cmd, req)
	}
	cmd.SysProcAttr.Setpgid = true
	cmd.Stdout, cmd.Stderr = nonNilWriter(req.Stdout), nonNilWriter(req.Stderr)
	cmd.WaitDelay = outputDrain
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return -1, fmt.Errorf("exec %q: stdin pipe: %w", cmd.Path, err)
	}
	if err := cmd.Start(); err != nil {
		return -1, execStartError(cmd, err)
	}
	go func() {
		if req.Stdin != nil {
			_, _ = io.Copy(stdin, req.Stdin)
		}
		_ = stdin.Close()
	}()
	return waitExec(ctx, cmd)
}

// waitExec waits for a started command, killing its process group when ctx
// ends first.
func waitExec(ctx context.Context, cmd *exec.Cmd) (int, error) {
	stop := context.AfterFunc(ctx, func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	defer stop()
	err := cmd.Wait()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	if cmd.ProcessState == nil {
		return -1, fmt.Errorf("exec %q: %w", cmd.Path, err)
	}
	// ErrWaitDelay: the command exited but a background process kept its
	// output open; the exit code is still the command's.
	return ExitCode(cmd.ProcessState), nil
}

func runExecTTY(ctx context.Context, cmd *exec.Cmd, req *drivers.ExecRequest) (int, error) {
	master, slavePath, err := console.NewPty()
	if err != nil {
		return -1, fmt.Errorf("exec %q: create a pseudo-terminal: %w", cmd.Path, err)
	}
	defer master.Close()
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return -1, fmt.Errorf("exec %q: open pseudo-terminal %s: %w", cmd.Path, slavePath, err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr.Setsid = true
	cmd.SysProcAttr.Setctty = true
	cmd.SysProcAttr.Ctty = 0
	err = cmd.Start()
	_ = slave.Close()
	if err != nil {
		return -1, execStartError(cmd, err)
	}
	pump := PumpTTY(master, req)
	code, err := waitExec(ctx, cmd)
	pump.Finish(outputDrain)
	return code, err
}

// execStartError explains why a command did not start; a missing or
// non-executable command is the user's mistake (400).
func execStartError(cmd *exec.Cmd, err error) error {
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) {
		return structs.NewBadRequest("command %q cannot be run in the task: %v; name an executable that exists in the task (e.g. /bin/sh)", cmd.Args[0], err)
	}
	return fmt.Errorf("exec %q: %w", cmd.Args[0], err)
}

func nonNilWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// TTYPump streams a pseudo-terminal master to and from an ExecRequest.
type TTYPump struct {
	master  console.Console
	outDone chan struct{}
	stop    chan struct{}
	wg      sync.WaitGroup
}

// PumpTTY starts copying req.Stdin into master (EOF sends the terminal's
// end-of-file character, ^D), master's output into req.Stdout, and
// req.Resize into the terminal's size. The caller owns master and closes it
// after Finish.
func PumpTTY(master console.Console, req *drivers.ExecRequest) *TTYPump {
	p := &TTYPump{master: master, outDone: make(chan struct{}), stop: make(chan struct{})}
	go func() {
		defer close(p.outDone)
		// Reading the master fails with EIO once no process holds the
		// terminal open any more: that is the end of the output.
		_, _ = io.Copy(nonNilWriter(req.Stdout), master)
	}()
	if req.Stdin != nil {
		go func() {
			if _, err := io.Copy(master, req.Stdin); err == nil {
				_, _ = master.Write([]byte{4}) // ^D
			}
		}()
	}
	if req.Resize != nil {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				select {
				case <-p.stop:
					return
				case sz, ok := <-req.Resize:
					if !ok {
						return
					}
					if sz.Height > 0 && sz.Width > 0 {
						_ = master.Resize(console.WinSize{Height: uint16(sz.Height), Width: uint16(sz.Width)})
					}
				}
			}
		}()
	}
	return p
}

// Finish waits up to drain for the terminal's remaining output, then stops
// the resize goroutine. The stdin goroutine ends when req.Stdin's Read
// returns, or fails writing once the caller closes master.
func (p *TTYPump) Finish(drain time.Duration) {
	t := time.NewTimer(drain)
	defer t.Stop()
	select {
	case <-p.outDone:
	case <-t.C:
	}
	close(p.stop)
	p.wg.Wait()
}
