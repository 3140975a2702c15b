// Command nomadlike is a single-binary workload orchestrator in the style of
// HashiCorp Nomad: the same binary is the server, the client agent, the CLI,
// and the per-task supervisor that keeps tasks alive across agent restarts.
package main

import (
	"os"

	"github.com/nomadlike/nomadlike/command"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

func main() {
	// The task supervisor is this binary re-executed with a hidden
	// subcommand; it must run before anything else initialises.
	if supervisor.IsInvocation(os.Args) {
		os.Exit(supervisor.Main(os.Args[2:]))
	}
	os.Exit(command.Main(os.Args))
}
