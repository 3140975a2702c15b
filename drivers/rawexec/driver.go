package rawexec

import (
	"context"
	"log/slog"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Name is the driver's name in job specs.
const Name = "raw_exec"

// disabledHint is the health description of a disabled driver.
const disabledHint = `disabled: enable it with plugin "raw_exec" { config { enabled = true } }`

// Config is the agent's configuration of the driver.
type Config struct {
	// Enabled allows tasks to run; raw_exec runs them without isolation.
	Enabled bool
	// SupervisorPath is the binary re-executed as the task supervisor
	// (empty: this executable).
	SupervisorPath string
	// SupervisorLinger is how long a supervisor keeps running after its task
	// exited when nobody collects the result (0: supervisor.DefaultLinger);
	// the status file keeps the result either way.
	SupervisorLinger time.Duration
}

// Driver is the raw_exec driver. It is safe for concurrent use.
type Driver struct {
	cfg    Config
	logger *slog.Logger
	tasks  *supervised.Tasks[taskData]
	// lifecycle gives the driver WaitTask, StopTask, DestroyTask,
	// InspectTask, SignalTask, RecoverTask and Close: Close stops following
	// tasks (their waiter goroutines end); the tasks themselves keep running
	// under their supervisors, as when the agent exits.
	lifecycle
}

// lifecycle names the embedded supervised.Lifecycle.
type lifecycle = supervised.Lifecycle[taskData]

// taskData is what raw_exec keeps per task besides supervised.State: nothing.
type taskData struct{}

var _ drivers.Driver = (*Driver)(nil)

// New returns a raw_exec driver.
func New(cfg Config, logger *slog.Logger) *Driver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("driver", Name)
	tasks := supervised.NewTasks(supervised.Kind[taskData]{
		Name:     Name,
		NotFound: `raw_exec task "%s"`,
		Under:    Name,
		Noun:     "task",
		It:       "it",
		Workload: "workload",
	}, logger)
	return &Driver{cfg: cfg, logger: logger, tasks: tasks, lifecycle: tasks.Lifecycle()}
}

// Name returns "raw_exec".
func (d *Driver) Name() string { return Name }

// Fingerprint reports the driver detected, and healthy when enabled.
func (d *Driver) Fingerprint(ctx context.Context) *structs.DriverInfo {
	info := &structs.DriverInfo{Detected: true, Attributes: map[string]string{}, UpdateTime: time.Now()}
	if !d.cfg.Enabled {
		info.HealthDescription = disabledHint
		return info
	}
	info.Healthy = true
	info.HealthDescription = "Healthy"
	info.Attributes["driver.raw_exec"] = "1"
	return info
}
