// Package allocrunner runs one allocation on a client: an alloc Runner owns
// one task runner per task in the group. Each task runner is a small loop
// (prestart hooks, start, wait, restart decision) plus hooks, one file each:
// the alloc dir hook, task dir hook, env hook (interpolating the driver
// config), validation hook, artifact hook, dispatch payload hook (a
// dispatched job's payload into local/), template hook (rendering template
// blocks with package template) and log hook.
//
// Task lifecycle (lifecycle.go) orders the group's tasks as Nomad does:
// prestart tasks first (ephemeral ones must complete successfully, sidecars
// must be running), then the main tasks, poststart tasks once every main
// task has started, and poststop tasks once every other task is dead (the
// main tasks finished or failed, or the allocation was stopped). Sidecars
// are stopped when the main tasks have all exited. The rules are pure
// functions of the tasks' states (gates, kills); the Runner applies them
// after every task change by opening one channel per phase, on which task
// runners wait before their first start. Ephemeral lifecycle tasks
// complete on a successful exit whatever the job type.
//
// Deployment health (health.go, health_watch.go) is Nomad's allochealth
// tracker for task states: an allocation placed by a deployment whose group
// checks health ("checks" or "task_states"; "manual" is set through the
// API) is healthy once every main task and sidecar has run for
// min_healthy_time since its last start, unhealthy as soon as one fails or
// dies, or when healthy_deadline passes first ("Alloc Unhealthy" task
// events say why). The verdict (judgeHealth, a pure function) is decided
// once, stored in DeploymentStatus, persisted with the allocation (a
// restarted client keeps it) and reported like any other change. With
// health_check = "checks" and service checks in the group, healthy also
// needs every check passing for min_healthy_time (withChecks, checks.go).
//
// Services (services.go): with Config.Services, the runner registers the
// group's services while any task runs and each task's while it runs
// (Nomad's service discovery, IDs _nomad-task-<alloc>-<task>-<service>-<port>),
// and removes them when the tasks are dead; the servers' service reaper
// removes those of lost allocations and down nodes. A task being killed
// has its services withdrawn first (withdrawServices: the registration
// loop acknowledges the servers' update), then waits its shutdown_delay
// (plus the group's when the allocation is stopped; none with
// DesiredTransition.NoShutdownDelay, a Runner.Kill or a client shutdown)
// before the kill signal. Service checks
// (checks.go) probe the registered address every interval (http or tcp),
// whatever the client has. Templates that call nomadService are rendered
// again when a service they read changes (template_watch.go), and
// change_mode is applied to the running task: restart, signal or noop.
//
// Ownership: Runner.Run is called once, from a goroutine the client owns; it
// returns when every task is dead, or when its ctx ends (client shutdown),
// in which case running tasks are left running for the next client process
// to re-attach to. Update and Kill may be called from any goroutine. The
// runner reports every change through Config.OnUpdate with a copy of the
// allocation carrying ClientStatus and TaskStates.
package allocrunner
