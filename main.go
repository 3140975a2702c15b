// Command nomadlike is a single-binary workload orchestrator in the style of
// HashiCorp Nomad: the same binary is the server, the client agent, the CLI,
// the per-task supervisor that keeps tasks alive across agent restarts, and
// the init process of container tasks.
package main

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor sets up a container's namespaces before the Go
	// runtime starts when the binary runs as a container's init; otherwise
	// it returns at once.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/nomadlike/nomadlike/command"
	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

func main() {
	// A container task's init: libcontainer re-executes this binary as
	// "<argv0> init" with its sync pipes in the environment.
	if len(os.Args) > 1 && os.Args[1] == "init" && os.Getenv("_LIBCONTAINER_INITPIPE") != "" {
		libcontainer.Init() // never returns
	}
	// The task supervisor is this binary re-executed with a hidden
	// subcommand; it must run before anything else initialises.
	if supervisor.IsInvocation(os.Args) {
		os.Exit(supervisor.Main(os.Args[2:]))
	}
	os.Exit(command.Main(os.Args))
}
