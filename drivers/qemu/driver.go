package qemu

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Name is the driver's name in job specs.
const Name = "qemu"

// defaultKVMDevice is the device the KVM probe opens.
const defaultKVMDevice = "/dev/kvm"

// Config is the agent's configuration of the driver
// (plugin "qemu" { config { ... } }) plus settings tests override.
type Config struct {
	// ImagePaths are host directories tasks may read images, kernels and
	// initrds from, besides their own task dir (Nomad's image_paths).
	ImagePaths []string
	// ArgsAllowlist names the qemu flags a task's args may use (Nomad's
	// args_allowlist); empty allows no extra arguments.
	ArgsAllowlist []string
	// Emulator is the QEMU binary, a name looked up in PATH or a path
	// (empty: qemu-system-x86_64).
	Emulator string
	// KVMDevice is the KVM device to probe (empty: /dev/kvm).
	KVMDevice string
	// SupervisorPath is the binary re-executed as the task supervisor
	// (empty: this executable).
	SupervisorPath string
	// SupervisorLinger is how long a supervisor keeps running after its VM
	// exited when nobody collects the result (0: supervisor.DefaultLinger).
	SupervisorLinger time.Duration
}

// Driver is the qemu driver. It is safe for concurrent use.
type Driver struct {
	cfg    Config
	logger *slog.Logger

	fpMu sync.Mutex
	fp   *fingerprint

	// kvmBoot remembers whether KVM boots a real guest (probed on nested
	// hosts only, when a task first asks for KVM).
	kvmBoot kvmBootCheck
	// probeKernels lists the kernels the KVM boot probe may boot (nil:
	// hostKernels).
	probeKernels func() []string

	tasks *supervised.Tasks[taskData]
	// lifecycle gives the driver WaitTask, StopTask, DestroyTask,
	// InspectTask, SignalTask, RecoverTask and Close: Close stops following
	// tasks (their waiter goroutines end); the VMs keep running under their
	// supervisors, as when the agent exits.
	lifecycle
}

// lifecycle names the embedded supervised.Lifecycle.
type lifecycle = supervised.Lifecycle[taskData]

// task is the driver's record of one VM, live or exited.
type task = supervised.Task[taskData]

// taskData is what the qemu driver keeps per VM besides supervised.State,
// in its DriverState.
type taskData struct {
	// QMPSocket is the absolute path of the VM's QMP socket.
	QMPSocket string
	// Graceful is the task's graceful_shutdown.
	Graceful bool
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a qemu driver.
func New(cfg Config, logger *slog.Logger) *Driver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Emulator == "" {
		cfg.Emulator = defaultEmulator
	}
	if cfg.KVMDevice == "" {
		cfg.KVMDevice = defaultKVMDevice
	}
	d := &Driver{cfg: cfg, logger: logger.With("driver", Name)}
	d.tasks = supervised.NewTasks(supervised.Kind[taskData]{
		Name:       Name,
		NotFound:   `qemu task "%s"`,
		Under:      Name,
		Noun:       "VM",
		It:         "the VM",
		Workload:   "QEMU process",
		BeforeStop: d.beforeStop,
		Cleanup:    removeFiles,
	}, d.logger)
	d.lifecycle = d.tasks.Lifecycle()
	return d
}

// Name returns "qemu".
func (d *Driver) Name() string { return Name }

// Fingerprint probes the QEMU binary and KVM and reports the driver
// healthy when QEMU runs; KVM only changes the attributes.
func (d *Driver) Fingerprint(ctx context.Context) *structs.DriverInfo {
	return d.probe(ctx).info()
}

// probe refreshes the fingerprint: the QEMU version (re-run only when the
// binary changed), the KVM probe and the nested check.
func (d *Driver) probe(ctx context.Context) *fingerprint {
	d.fpMu.Lock()
	defer d.fpMu.Unlock()
	f := probeEmulator(ctx, d.cfg.Emulator, d.fp)
	if err := probeKVM(d.cfg.KVMDevice); err != nil {
		f.KVMProblem = err.Error()
	} else {
		f.KVM = true
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		f.Nested = isNested(b)
	}
	if err := d.kvmBoot.failed(f.Emulator); f.KVM && err != nil {
		f.KVM, f.KVMProblem = false, err.Error()
	}
	if d.fp == nil || d.fp.KVM != f.KVM || d.fp.Problem != f.Problem {
		d.logger.Info("fingerprint", "emulator", f.Emulator, "version", f.Version, "problem", f.Problem,
			"kvm", f.KVM, "kvm_problem", f.KVMProblem, "nested", f.Nested, "default_accelerator", f.defaultAccel())
	}
	d.fp = f
	return f
}

// fingerprint returns the last fingerprint, probing when there is none.
func (d *Driver) fingerprint(ctx context.Context) *fingerprint {
	d.fpMu.Lock()
	f := d.fp
	d.fpMu.Unlock()
	if f != nil {
		return f
	}
	return d.probe(ctx)
}
