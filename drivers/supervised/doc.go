// Package supervised is the part every task driver built on the task
// supervisor (package supervisor) shares: the table of live tasks, the
// per-task record that follows the task's exit, the drivers.Driver methods
// that only talk to the supervisor (WaitTask, StopTask, DestroyTask,
// InspectTask, SignalTask, RecoverTask) and Close, the versioned DriverState
// encoding, the common part of the supervisor spec, and the helpers that
// decode a task's config block with errors naming config.<key>.
//
// A driver keeps what is its own: Name, Fingerprint, config decoding, the
// supervisor spec's command line and workload, its capabilities (stats,
// exec), and its hooks (Kind): how a supervisor result becomes an
// ExitResult, what runs before a stop (qemu's ACPI power-down), what a
// destroyed task leaves to remove. It embeds the Lifecycle of its Tasks:
//
//	type lifecycle = supervised.Lifecycle[taskData]
//
//	type Driver struct {
//		tasks *supervised.Tasks[taskData]
//		lifecycle // WaitTask, StopTask, DestroyTask, InspectTask, SignalTask, RecoverTask, Close
//	}
//
// # DriverState
//
// TaskHandle.DriverState is one JSON object, version StateVersion: the
// fields of State (StateDir, SupervisorPID, PID, StartedAt) and, beside
// them, the fields of the driver's X (the container's Workload, qemu's
// QMPSocket and Graceful). X must encode as a JSON object whose keys are
// not State's. This is the format the drivers wrote before this package
// existed, so a client upgraded across it re-attaches to its tasks.
//
// # Concurrency and goroutine ownership
//
// Tasks and Lifecycle are safe for concurrent use: the client calls the
// driver from one goroutine per task, and stats, exec and the HTTP API from
// others. Start, recovery, stop, signal and destroy of one task run on the
// caller's goroutine; the table's mutex is never held across a call to the
// supervisor or to a hook.
//
// Each Task owns one waiter goroutine, started by Add or RecoverTask when
// the task has a live supervisor; it blocks in supervisor.Client.Wait and
// records the exit once. It is stopped by cancelling its context and joined
// (its done channel) by DestroyTask and by Close, which return only after it
// ended. WaitTask starts one goroutine per call that ends when the task
// exits or the caller's ctx ends, whichever comes first; it closes the
// returned channel. Neither kind of goroutine logs, so nothing this package
// started logs after Close returns. Close forgets every task (their
// supervisors keep running, as when the agent exits); the driver must not be
// used to start or recover tasks concurrently with or after Close.
//
// Hooks (Kind.Result, Kind.BeforeStop, Kind.Cleanup) run on the goroutine
// of the call that needs them (Result also on the waiter goroutine) and must
// be safe for concurrent use.
package supervised
