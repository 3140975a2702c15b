// Package supervisor runs one workload in a small process that outlives the
// client agent.
//
// The supervisor is the agent's own binary re-executed with the hidden
// subcommand Command ("__supervise") and the path of a JSON Spec. main (and
// every test binary that starts tasks, from TestMain) must call
//
//	if supervisor.IsInvocation(os.Args) {
//		os.Exit(supervisor.Main(os.Args[2:]))
//	}
//
// before any other initialisation.
//
// The supervisor process:
//
//   - becomes a child subreaper, so descendants that escape with setsid or a
//     double fork re-parent to it and are still found and killed;
//   - starts the workload in its own process group, copying its stdout and
//     stderr into size-rotated files <LogDir>/<base>.0, .1, ... (at most
//     LogMaxFiles kept, the oldest deleted);
//   - serves a unix socket, Spec.StateDir/control.sock, answering ping, wait
//     (blocks until the workload exits and returns its Result), stop (signal
//     the process group, wait up to the timeout, then SIGKILL the group and
//     every remaining descendant found through /proc) and signal;
//   - writes StateDir/status.json atomically when the workload starts and when
//     it ends, so a restarted agent learns the exit even when the supervisor
//     is gone;
//   - after the workload exits, kills and reaps whatever it left behind,
//     records the exit, and exits once the result was delivered to a waiter
//     or after Spec.Linger;
//   - SIGTERM or SIGINT stops the workload (kill signal, then SIGKILL after
//     the kill timeout); one that arrives once the workload is gone ends the
//     linger at once.
//
// The driver side is Start (launch a supervisor and wait until the workload
// runs or failed to start), Attach (reconnect after an agent restart) and
// ReadStatus (the recorded outcome when the supervisor is gone).
//
// The supervisor must stay lean: it runs before any agent initialisation and
// one runs per task. lean.go records what its runtime settings save
// (GOMAXPROCS=1 from Start's environment; no forced or more frequent garbage
// collection, which costs more than it frees); BenchmarkSupervisorMemory and
// make bench-e2e measure it.
package supervisor
