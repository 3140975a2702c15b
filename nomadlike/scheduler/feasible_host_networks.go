package scheduler

import (
	"fmt"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// hostNetworksFit reports whether node has an address on every host
// network tg's ports name; if not, the reason names the first missing one
// and its port, as Nomad's metrics word it. It is checked per node, like
// host volumes: host networks are not part of the computed class.
func hostNetworksFit(tg *structs.TaskGroup, node *structs.Node) (bool, string) {
	nets := tg.Networks
	for _, t := range tg.Tasks {
		if t.Resources != nil {
			nets = append(nets[:len(nets):len(nets)], t.Resources.Networks...)
		}
	}
	for _, n := range nets {
		if n == nil {
			continue
		}
		for _, ports := range [][]structs.Port{n.ReservedPorts, n.DynamicPorts} {
			for _, p := range ports {
				if _, ok := node.HostNetworkAddress(p.HostNetwork); !ok {
					return false, missingHostNetwork(p)
				}
			}
		}
	}
	return true, ""
}

// missingHostNetwork is the reason a node cannot place port p: it has no
// address on p's host network (Nomad's words; the feasibility check and
// the port assignment both give it).
func missingHostNetwork(p structs.Port) string {
	return fmt.Sprintf("missing host network %q for port %q", p.HostNetwork, p.Label)
}
