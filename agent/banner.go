package agent

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Banner returns the startup summary printed before the logs, as Nomad's
// "==> Nomad agent configuration:" block. Call it after Start, when the
// addresses are known.
func (a *Agent) Banner() string {
	c := a.cfg
	var b strings.Builder
	b.WriteString("==> nomadlike agent configuration:\n\n")
	line := func(k, v string) { fmt.Fprintf(&b, "%22s: %s\n", k, v) }
	line("Advertise Addrs", fmt.Sprintf("HTTP: %s; RPC: %s; Serf: %s", a.httpAddr, c.Advertise.RPC, c.Advertise.Serf))
	line("Bind Addrs", fmt.Sprintf("HTTP: [%s]", a.httpBind))
	line("Client", fmt.Sprint(c.Client.Enabled))
	dataDir := c.DataDir
	if c.DevMode {
		dataDir += " (dev mode: in-memory Raft"
		if a.tempDir {
			dataDir += ", removed on shutdown"
		}
		dataDir += ")"
	}
	line("Data Dir", dataDir)
	if c.DevMode && c.Server.Enabled && !a.tempDir {
		b.WriteString("\n    WARNING: " + devStateNotKept + "\n")
	}
	line("Log Level", strings.ToUpper(c.LogLevel))
	line("Node Name", c.Name)
	line("Region", fmt.Sprintf("%s (DC: %s)", c.Region, c.Datacenter))
	line("Server", fmt.Sprint(c.Server.Enabled))
	line("Version", "v"+Version)
	if c.Client.Enabled && a.client != nil {
		line("Drivers", driversLine(a.client.Node()))
	}
	b.WriteString("\n")
	return b.String()
}

// devStateNotKept warns a -dev agent given a data_dir that the directory
// does not make its cluster state durable.
const devStateNotKept = "-dev keeps the cluster state (jobs, allocations, evaluations) in memory even with a data_dir: " +
	"it is lost when this agent stops, and its tasks are stopped with it. Run the agent without -dev (a server config with a data_dir) to keep state across restarts."

// StartedMessage is printed once the agent is up.
const StartedMessage = "==> nomadlike agent started! Log data will stream in below:\n"

// driversLine lists the node's task drivers as fingerprinted: healthy ones
// by name, the others with why they cannot run tasks.
func driversLine(n *structs.Node) string {
	if n == nil || len(n.Drivers) == 0 {
		return "none (enable one: plugin \"raw_exec\" { config { enabled = true } }, or run as root for container)"
	}
	var parts []string
	for _, name := range slices.Sorted(maps.Keys(n.Drivers)) {
		d := n.Drivers[name]
		switch {
		case d == nil:
		case !d.Detected:
			parts = append(parts, fmt.Sprintf("%s (not detected: %s)", name, d.HealthDescription))
		case !d.Healthy:
			parts = append(parts, fmt.Sprintf("%s (unhealthy: %s)", name, d.HealthDescription))
		default:
			parts = append(parts, name)
		}
	}
	return strings.Join(parts, ", ")
}
