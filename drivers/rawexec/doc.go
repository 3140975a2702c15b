// Package rawexec is the raw_exec task driver: it runs a command on the host
// without isolation, as Nomad's raw_exec does, through a task supervisor
// (package supervisor) so the task outlives the client agent.
//
// Task config keys: command (required; a relative command is looked up in
// <task dir>/local, then <task dir>, then PATH) and args (list of strings);
// Nomad's pid_mode and ipc_mode are accepted and ignored.
//
// The driver is disabled unless the agent enables it
// (plugin "raw_exec" { config { enabled = true } }); a disabled driver is
// detected but unhealthy and refuses to start tasks.
package rawexec
