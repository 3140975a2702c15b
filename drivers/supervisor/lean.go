package supervisor

import (
	"runtime"
	"strings"
)

// One supervisor runs per task, so its private memory is multiplied by the
// number of tasks on the node. It is this whole binary re-executed, and every
// package's initialisation has already run (and allocated) by the time Main
// starts; what is left to save is the runtime's own overhead.
//
// Measured on the agent binary (anonymous memory of one idle supervisor, see
// BenchmarkSupervisorMemory and scripts/benche2e):
//
//   - GOMAXPROCS=1 saves about 270 KB: each P caches a partly used span per
//     size class, and a second P doubles that. The supervisor is I/O bound
//     (a wait4 loop, two pipe copiers, a control socket); one P is plenty.
//     Start sets it in the environment so it applies before the runtime
//     and the package initialisers run. (Calling runtime.GOMAXPROCS(1) in
//     Main instead made an idle supervisor about 500 KB larger.)
//   - Garbage collection costs more than it saves: the first cycle maps and
//     touches about 500 KB of collector metadata, while the supervisor
//     allocates next to nothing after start. So the default GOGC stays
//     (the first cycle only comes after 4 MB of heap), and lowering it with
//     debug.SetGCPercent, or forcing a cycle with debug.FreeOSMemory, made an
//     idle supervisor larger, not smaller.
//   - Heap profiling is off: the supervisor is never profiled, and a sampled
//     allocation touches the profiler's bucket table.

// supervisorEnv is the environment a supervisor is started with: the
// caller's, with the runtime settings above.
func supervisorEnv(environ []string) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if strings.HasPrefix(kv, "GOMAXPROCS=") {
			continue
		}
		out = append(out, kv)
	}
	return append(out, "GOMAXPROCS=1")
}

// leanRuntime applies the supervisor's runtime settings at the start of Main.
func leanRuntime() {
	runtime.MemProfileRate = 0
}
