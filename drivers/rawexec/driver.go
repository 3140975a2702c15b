package rawexec

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
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

	mu    sync.Mutex
	tasks map[string]*task
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a raw_exec driver.
func New(cfg Config, logger *slog.Logger) *Driver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Driver{cfg: cfg, logger: logger.With("driver", Name), tasks: make(map[string]*task)}
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

// Close stops following tasks (their waiter goroutines end); the tasks
// themselves keep running under their supervisors, as when the agent exits.
func (d *Driver) Close() {
	d.mu.Lock()
	tasks := d.tasks
	d.tasks = make(map[string]*task)
	d.mu.Unlock()
	for _, t := range tasks {
		t.cancel()
		<-t.waiterDone
	}
}

func (d *Driver) lookup(id string) (*task, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tasks[id]
	if !ok {
		return nil, &structs.CodedError{Code: 404, Msg: "raw_exec task " + quote(id), Err: drivers.ErrTaskNotFound}
	}
	return t, nil
}

func quote(s string) string { return `"` + s + `"` }
