package drivers

import (
	"context"
	"io"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Optional capabilities. The client finds them by type assertion on a
// Driver (as net/http finds http.Flusher); a driver without one answers the
// user's request with a 400 that names the driver.

// StatsDriver reports a running task's resource usage.
//
// TaskStats may be called concurrently, for any task, at any rate. CPU
// figures are rates over the interval since the previous call for the same
// task (or, on the first call, over a short interval TaskStats waits for);
// ctx bounds that wait. It returns an error wrapping ErrTaskNotFound for an
// unknown task and a *structs.CodedError 409 for a task that has exited.
type StatsDriver interface {
	TaskStats(ctx context.Context, taskID string) (*structs.TaskResourceUsage, error)
}

// TerminalSize is a terminal's size in character cells.
type TerminalSize struct {
	Height int `json:"height,omitempty"`
	Width  int `json:"width,omitempty"`
}

// ExecRequest is one command to run inside a running task.
type ExecRequest struct {
	// Cmd is the command and its arguments; Cmd[0] is looked up in the
	// task's PATH.
	Cmd []string
	// TTY runs the command on a new pseudo-terminal (stdout and stderr
	// both arrive on Stdout, and Resize changes its size).
	TTY bool
	// Stdin is read until EOF, which closes the command's stdin (with TTY,
	// EOF sends the terminal's end-of-file character). It may be nil.
	Stdin io.Reader
	// Stdout and Stderr receive the command's output. Each is written from
	// one goroutine at a time, but Stdout and Stderr concurrently.
	Stdout, Stderr io.Writer
	// Resize, optional, carries terminal size changes (TTY only); the first
	// value sets the initial size.
	Resize <-chan TerminalSize
}

// ExecDriver runs commands inside a running task, with the task's
// environment, working directory, user and (for isolating drivers) its
// namespaces and cgroups, as `nomad alloc exec` does.
//
// ExecTask returns when the command has exited and its output has been
// written, with its exit code (128+n when a signal n killed it). When ctx
// ends first, the command (and, for a TTY, its session) is killed and
// ExecTask returns ctx's error. It returns an error wrapping ErrTaskNotFound
// for an unknown task, a 409 for a task that has exited, and a 400 naming
// the command when it cannot be started.
type ExecDriver interface {
	ExecTask(ctx context.Context, taskID string, req *ExecRequest) (exitCode int, err error)
}
