// Package drivers holds the task driver contract: one small interface every
// driver implements, plus optional capabilities found by type assertion.
// A driver knows nothing of servers or scheduling; it runs one task from a
// TaskConfig and reports how it ended.
//
// Tasks outlive the client agent: StartTask returns a TaskHandle whose
// DriverState the client stores in its local state database, and a restarted
// client calls RecoverTask with it to re-attach instead of restarting.
package drivers

import (
	"context"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Driver runs tasks. Implementations are safe for concurrent use: the client
// calls them from one goroutine per task.
type Driver interface {
	// Name is the name jobs use in `driver = "..."`.
	Name() string
	// Fingerprint reports whether the driver can run tasks on this host, with
	// attributes (driver.<name>.*) and, when unhealthy, a reason a person reads.
	Fingerprint(ctx context.Context) *structs.DriverInfo
	// ValidateConfig checks a task's driver config before it starts; the error
	// names the offending key.
	ValidateConfig(cfg map[string]any) error
	// StartTask starts the task and returns its handle. The task keeps running
	// if the caller (the client agent) exits.
	StartTask(ctx context.Context, cfg *TaskConfig) (*TaskHandle, error)
	// RecoverTask re-attaches to a task started by an earlier client process.
	// It returns an error wrapping ErrTaskNotFound when the task is gone.
	RecoverTask(ctx context.Context, h *TaskHandle) error
	// WaitTask returns a channel that yields the task's exit result once, when it exits.
	WaitTask(ctx context.Context, taskID string) (<-chan *ExitResult, error)
	// StopTask sends signal (empty: SIGTERM), waits up to timeout, then kills the
	// task and everything it started.
	StopTask(ctx context.Context, taskID string, timeout time.Duration, signal string) error
	// DestroyTask releases the task's resources; with force it stops a running task first.
	DestroyTask(ctx context.Context, taskID string, force bool) error
	// InspectTask returns the task's current status.
	InspectTask(taskID string) (*TaskStatus, error)
	// SignalTask sends a signal (a name such as "SIGHUP") to the task.
	SignalTask(ctx context.Context, taskID string, signal string) error
}

// TaskConfig is everything a driver needs to start one task.
type TaskConfig struct {
	// ID identifies the task on this host: "<alloc id>/<task name>".
	ID            string
	Name          string
	AllocID       string
	JobName       string
	TaskGroupName string
	// Config is the task's driver-specific config block.
	Config map[string]any
	// Env is the complete environment of the task, NOMAD_* variables included.
	Env  map[string]string
	User string
	// Resources the scheduler allocated to the task.
	Resources *structs.AllocatedTaskResources
	// Ports are the allocation's ports (label, host port, in-task port).
	Ports []structs.PortMapping
	// AllocDir is the allocation's directory; TaskDir the task's own (under
	// AllocDir/<task>); the task's local/ and secrets/ dirs are inside TaskDir.
	AllocDir string
	TaskDir  string
	// StdoutPath and StderrPath are the base names of the log files (rotated
	// as <path>.0, <path>.1, ...), in AllocDir/alloc/logs.
	LogDir       string
	StdoutBase   string // e.g. "web.stdout"
	StderrBase   string // e.g. "web.stderr"
	LogMaxFiles  int
	LogMaxFileMB int
	// StateDir is a private directory the driver may keep per-task state in
	// (sockets, status files); it survives client restarts.
	StateDir string
	// KillTimeout and KillSignal are the task's stop settings, for drivers
	// that must stop on their own (e.g. when the task's supervisor is asked to).
	KillTimeout time.Duration
	KillSignal  string
	// Mounts are the task's host volume mounts (drivers implementing
	// MountDriver only).
	Mounts []*MountConfig `json:",omitempty"`
	// Network, when set, is the allocation's own network namespace (group
	// network mode bridge or cni/<name>), which the task joins.
	Network *NetworkIsolation `json:",omitempty"`
}

// NetworkIsolation is an allocation's network namespace, shared by its tasks.
type NetworkIsolation struct {
	// Path is the namespace's file (a bind mount of /proc/<pid>/ns/net).
	Path string
	// ResolvConf and Hosts are host files the container driver mounts at
	// /etc/resolv.conf and /etc/hosts instead of the host's.
	ResolvConf string `json:",omitempty"`
	Hosts      string `json:",omitempty"`
	// Hostname is the network block's hostname ("" lets the driver choose).
	Hostname string `json:",omitempty"`
}

// TaskState is a task's coarse state as the driver sees it.
type TaskState string

// Task states.
const (
	TaskStateUnknown TaskState = "unknown"
	TaskStateRunning TaskState = "running"
	TaskStateExited  TaskState = "exited"
)

// TaskHandle is what the client keeps to find a task again.
type TaskHandle struct {
	// Version of DriverState's encoding, owned by the driver.
	Version int
	Config  *TaskConfig
	State   TaskState
	// DriverState is opaque to the client (e.g. JSON with the supervisor's pid and socket).
	DriverState []byte
	// Warnings, set by StartTask, are what the user should know about how
	// the task runs (e.g. "running without a seccomp profile"); the client
	// records each as a task event of type "Driver".
	Warnings []string `json:",omitempty"`
}

// ExitResult is how a task ended.
type ExitResult struct {
	ExitCode  int
	Signal    int
	OOMKilled bool
	// Err is set when the driver lost track of the task, not for a non-zero exit.
	Err error
}

// Successful reports whether the task exited 0 without a signal.
func (r *ExitResult) Successful() bool {
	return r.ExitCode == 0 && r.Signal == 0 && r.Err == nil
}

// TaskStatus is a snapshot of a task.
type TaskStatus struct {
	ID          string
	Name        string
	State       TaskState
	StartedAt   time.Time
	CompletedAt time.Time
	ExitResult  *ExitResult
	// PID is the workload's main process id on the host, when there is one.
	PID int
}
