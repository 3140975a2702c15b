package supervisor

import (
	"encoding/json"
	"fmt"
	"os"
	"syscall"
)

// Command is the hidden subcommand that turns the binary into a supervisor.
const Command = "__supervise"

// handshakeFD is the descriptor on which a starting supervisor reports, once,
// whether its workload started (see Start).
const handshakeFD = 3

// IsInvocation reports whether args (os.Args) ask for a supervisor.
func IsInvocation(args []string) bool {
	return len(args) > 1 && args[1] == Command
}

// Main runs a supervisor; args are the arguments after Command (the spec
// path). It returns the process exit code. Errors before the workload starts
// go to the handshake descriptor, to the supervisor log in the state dir
// when it is known, and to stderr.
func Main(args []string) int {
	leanRuntime()
	hs := handshakeFile()
	if len(args) != 1 {
		reportStartFailure(hs, nil, fmt.Errorf("usage: %s <spec file>", Command))
		return 2
	}
	spec, err := ReadSpec(args[0])
	if err != nil {
		reportStartFailure(hs, nil, err)
		return 1
	}
	return run(spec, hs)
}

// handshakeFile returns fd 3 when it is an open pipe, nil otherwise.
func handshakeFile() *os.File {
	var st syscall.Stat_t
	if err := syscall.Fstat(handshakeFD, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO {
		return nil
	}
	syscall.CloseOnExec(handshakeFD)
	return os.NewFile(handshakeFD, "handshake")
}

// reportStartFailure tells whoever is waiting why the workload did not start.
func reportStartFailure(hs *os.File, logf func(string, ...any), err error) {
	fmt.Fprintln(os.Stderr, "supervisor:", err)
	if logf != nil {
		logf("workload did not start", "error", err)
	}
	if hs != nil {
		_ = json.NewEncoder(hs).Encode(response{Error: err.Error()})
		_ = hs.Close()
	}
}
