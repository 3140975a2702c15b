package container

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/opencontainers/runc/libcontainer/seccomp"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/drivers/supervised"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Name is the driver's name in job specs.
const Name = "container"

// Defaults for Config fields left zero.
const (
	DefaultImageGCDelay = 3 * time.Minute
	DefaultPullTimeout  = 5 * time.Minute
	// DefaultPidsLimit caps each container's processes unless the client
	// configures another limit: enough for any service, few enough that a
	// fork bomb cannot exhaust the host's PIDs.
	DefaultPidsLimit = 4096
)

// Config is the agent's configuration of the driver
// (plugin "container" { config { ... } }).
type Config struct {
	// Enabled allows tasks to run.
	Enabled bool
	// CacheDir holds the image cache shared by all tasks (the agent uses
	// <data_dir>/container).
	CacheDir string
	// ImageGC removes images no task used for ImageGCDelay.
	ImageGC      bool
	ImageGCDelay time.Duration
	// PullTimeout bounds a registry pull (0: DefaultPullTimeout).
	PullTimeout time.Duration
	// AllowCaps are the capabilities cap_add may name (nil: the default
	// set, which tasks have anyway; as in Nomad's docker driver it lacks
	// NET_RAW).
	AllowCaps []string
	// PidsLimit caps each container's processes (0: DefaultPidsLimit;
	// negative: no limit); a task's pids_limit may only lower it.
	PidsLimit int64
	// VolumesEnabled allows config.volumes to bind host paths outside the
	// allocation directory (Nomad's docker volumes { enabled = true }).
	VolumesEnabled bool
	// ImagePaths are the host directories local images (oci-layout://,
	// oci-archive://, docker-archive://, rootfs://) may come from; none
	// by default, so only registry images run.
	ImagePaths []string
	// SupervisorPath is the binary re-executed as the task supervisor and
	// container init (empty: this executable).
	SupervisorPath string
	// SupervisorLinger: see supervisor.Spec.Linger (0: its default).
	SupervisorLinger time.Duration
}

// Driver is the container driver. It is safe for concurrent use.
type Driver struct {
	cfg    Config
	logger *slog.Logger
	images *imageStore

	tasks *supervised.Tasks[taskData]
	// lifecycle gives the driver WaitTask, StopTask, DestroyTask,
	// InspectTask, SignalTask, RecoverTask and Close: Close stops following
	// tasks; the tasks keep running under their supervisors, as when the
	// agent exits.
	lifecycle
}

// lifecycle names the embedded supervised.Lifecycle.
type lifecycle = supervised.Lifecycle[taskData]

// task is the driver's record of one task, live or exited.
type task = supervised.Task[taskData]

// taskData is what the container driver keeps per task besides
// supervised.State, in its DriverState.
type taskData struct {
	// Workload is what the supervisor runs, kept to clean up after a
	// supervisor that died without doing so.
	Workload workloadConfig
}

var _ drivers.Driver = (*Driver)(nil)

// New returns a container driver. It garbage collects the image cache once
// when ImageGC is set.
func New(cfg Config, logger *slog.Logger) *Driver {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.ImageGCDelay <= 0 {
		cfg.ImageGCDelay = DefaultImageGCDelay
	}
	if cfg.PullTimeout <= 0 {
		cfg.PullTimeout = DefaultPullTimeout
	}
	if cfg.PidsLimit == 0 {
		cfg.PidsLimit = DefaultPidsLimit
	}
	if cfg.AllowCaps == nil {
		cfg.AllowCaps = defaultCaps
	}
	logger = logger.With("driver", Name)
	d := &Driver{cfg: cfg, logger: logger}
	d.images = newImageStore(cfg.CacheDir, logger, cfg.PullTimeout)
	d.tasks = supervised.NewTasks(supervised.Kind[taskData]{
		Name:     Name,
		NotFound: "container task %q",
		Under:    "the container driver",
		Noun:     "task",
		It:       "it",
		Workload: "workload",
		Result: func(t *task, r *supervisor.Result) *drivers.ExitResult {
			return exitResult(r, t.Data.Workload.MemoryLimitMB)
		},
		Cleanup: d.cleanup,
	}, logger)
	d.lifecycle = d.tasks.Lifecycle()
	if cfg.ImageGC && cfg.CacheDir != "" {
		d.gc()
	}
	return d
}

// Name returns "container".
func (d *Driver) Name() string { return Name }

// Fingerprint reports the driver healthy when it is enabled and the host
// can run containers: root, cgroups and overlayfs.
func (d *Driver) Fingerprint(ctx context.Context) *structs.DriverInfo {
	info := &structs.DriverInfo{Detected: true, Attributes: map[string]string{}, UpdateTime: time.Now()}
	info.Attributes["driver.container.version"] = libcontainerVersion()
	info.Attributes["driver.container.cgroups"] = cgroupVersion()
	info.Attributes["driver.container.seccomp"] = seccompAttr()
	if reason := d.unhealthy(); reason != "" {
		info.HealthDescription = reason
		return info
	}
	info.Healthy = true
	info.HealthDescription = "Healthy"
	info.Attributes["driver.container"] = "1"
	return info
}

// unhealthy returns why the driver cannot run tasks, "" when it can.
func (d *Driver) unhealthy() string {
	if !d.cfg.Enabled {
		return `disabled: enable it with plugin "container" { config { enabled = true } }`
	}
	return hostProblem()
}

// hostProblem returns why this host cannot run containers, "" when it can.
func hostProblem() string {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("container driver needs root: run the client agent as root (it runs as uid %d)", os.Geteuid())
	}
	if why := cgroupProblem(cgroupRoot, cgroupVersion()); why != "" {
		return why
	}
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil || !strings.Contains(string(b), "\toverlay\n") {
		return "container driver needs overlayfs: load it with `modprobe overlay`"
	}
	return ""
}

// libcontainerVersion is the runc module version linked in.
func libcontainerVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/opencontainers/runc" {
				return "runc-" + strings.TrimPrefix(m.Version, "v")
			}
		}
	}
	return "runc-unknown"
}

// noSeccompWarning is the warning of every task started by a binary
// built without libseccomp.
const noSeccompWarning = "running without a seccomp profile: built without libseccomp (build nomadlike with `make build` where libseccomp-dev and pkg-config are installed)"

// seccompAttr describes seccomp support for the fingerprint.
func seccompAttr() string {
	if !seccomp.Enabled {
		return "unavailable: built without libseccomp (tasks run without a seccomp filter)"
	}
	maj, min, mic := seccomp.Version()
	return fmt.Sprintf("libseccomp %d.%d.%d (default profile applied)", maj, min, mic)
}

// gc runs the image garbage collector, logging what it could not do.
func (d *Driver) gc() {
	if _, err := d.images.GC(d.cfg.ImageGCDelay); err != nil {
		d.logger.Warn("image garbage collection", "error", err)
	}
}
