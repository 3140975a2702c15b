package supervisor

import (
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
)

// Workload is a workload the supervisor hosts in place of a plain command
// (Spec.Workload names its kind, Spec.WorkloadConfig configures it), such
// as a container. The supervisor still owns everything else: the log
// rotation, the control socket, the status file and reaping.
//
// The supervisor calls Start once, before it starts reaping children, so
// Start may fork and wait for helper processes of its own. After Start the
// supervisor reaps every child with wait4(-1): the main process Start
// returns must be a child of the supervisor, and the Workload must not wait
// for it. Signal and Kill may be called from any goroutine, concurrently with
// each other; Finish is called once, after the main process was reaped.
type Workload interface {
	// Start starts the workload with stdout and stderr writing into the
	// given files (the supervisor closes its copies after Start returns)
	// and returns the main process id.
	Start(stdout, stderr *os.File) (pid int, err error)
	// Signal sends sig to the workload's main process.
	Signal(sig syscall.Signal) error
	// Kill kills every process of the workload.
	Kill() error
	// Finish releases the workload's resources after its main process
	// exited. It may amend res (e.g. set OOMKilled) and returns a note for
	// the task's stderr log ("" for none), so a person reading the logs
	// learns why the workload ended.
	Finish(res *Result) (note string)
}

// WorkloadFactory builds a Workload from the spec (Spec.WorkloadConfig holds
// its own JSON configuration). log is the supervisor's log.
type WorkloadFactory func(spec *Spec, log *slog.Logger) (Workload, error)

var (
	workloadsMu sync.RWMutex
	workloads   = map[string]WorkloadFactory{}
)

// RegisterWorkload makes a workload kind available to supervisors started
// from this binary. Drivers call it from an init function, as database/sql
// drivers register themselves; registering a kind twice panics (a
// programming error found by the first test).
func RegisterWorkload(kind string, f WorkloadFactory) {
	workloadsMu.Lock()
	defer workloadsMu.Unlock()
	if _, dup := workloads[kind]; dup {
		panic("supervisor: workload kind " + kind + " registered twice")
	}
	workloads[kind] = f
}

// newWorkload builds the spec's workload, nil for a plain command.
func newWorkload(spec *Spec, log *slog.Logger) (Workload, error) {
	if spec.Workload == "" {
		return nil, nil
	}
	workloadsMu.RLock()
	f, ok := workloads[spec.Workload]
	var known []string
	for k := range workloads {
		known = append(known, k)
	}
	workloadsMu.RUnlock()
	if !ok {
		sort.Strings(known)
		return nil, fmt.Errorf("workload kind %q is not built into this binary (known: %s); the agent binary and the supervisor binary differ", spec.Workload, strings.Join(known, ", "))
	}
	return f(spec, log)
}
