package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// scriptCheck runs a script check's command inside its task through the
// driver's exec (as `alloc exec` does), bounded by the check's timeout.
// Exit code 0 passes, 1 is a warning (a failure that check_restart's and
// on_update's ignore_warnings forgive), anything else fails, as in Nomad.
func (r *Runner) scriptCheck(ctx context.Context, task string, c *structs.ServiceCheck) (status string, code int, output string, warning bool) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	out := &boundedBuffer{max: checkOutputMax}
	exit, err := r.Exec(ctx, task, &drivers.ExecRequest{Cmd: append([]string{c.Command}, c.Args...), Stdout: out, Stderr: out})
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return structs.CheckFailure, 0, fmt.Sprintf("nomadlike: script check timed out after %v\n%s", c.Timeout, out.String()), false
	case err != nil:
		return structs.CheckFailure, 0, fmt.Sprintf("nomadlike: script check could not run in task %q: %v", task, err), false
	case exit == 0:
		return structs.CheckSuccess, 0, out.String(), false
	case exit == 1:
		return structs.CheckFailure, 0, fmt.Sprintf("nomadlike: exit code 1 (warning)\n%s", out.String()), true
	}
	return structs.CheckFailure, 0, fmt.Sprintf("nomadlike: exit code %d\n%s", exit, out.String()), false
}

// boundedBuffer keeps the first max bytes written to it; safe for the
// concurrent writes of stdout and stderr.
type boundedBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
