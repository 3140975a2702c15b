package container

import (
	"errors"
	"fmt"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// exitResult converts a supervisor result. An OOM kill carries a message
// naming the memory limit, which the client shows in the task event.
func exitResult(r *supervisor.Result, memoryMB int64) *drivers.ExitResult {
	out := &drivers.ExitResult{ExitCode: r.ExitCode, Signal: r.Signal, OOMKilled: r.OOMKilled}
	switch {
	case r.Err != "":
		out.Err = errors.New(r.Err)
	case r.OOMKilled:
		out.Err = fmt.Errorf("the container was killed by the kernel's OOM killer: it used more than its memory limit of %d MB; raise resources.memory or reduce its memory use", memoryMB)
	}
	return out
}
