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
//
// Volume mounting: none, as in Nomad. raw_exec tasks see the host's file
// system as it is, so a host volume's path is simply readable at its host
// path; the driver does not implement drivers.MountDriver, and the client
// fails a raw_exec task with volume_mount blocks ("task driver "raw_exec"
// for "t" does not support host volumes"), as Nomad does. No NOMAD_*
// variable names a volume mount (Nomad has none).
package rawexec
