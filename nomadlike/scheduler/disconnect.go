package scheduler

import (
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// max_client_disconnect: when a node misses its heartbeats while it runs
// allocations of groups with MaxClientDisconnect set, the servers mark it
// "disconnected" (not down) and those allocations' ClientStatus "unknown".
// The scheduler keeps such an allocation in its slot, without a replacement,
// until the window has passed since the node disconnected (its
// StatusUpdatedAt); from then on, and at once for allocations of groups
// without the setting, it is lost and replaced like one on a down node. A
// node that heartbeats again within the window becomes ready and its
// allocations are simply kept. The servers create an evaluation for when
// each window ends (nomadlike/server/heartbeat.go).

// disconnectLost reports whether a, on node n, must be treated as lost
// because n is disconnected: its group allows no disconnect, or the
// group's window has passed at now.
func disconnectLost(n *structs.Node, a *structs.Allocation, now time.Time) bool {
	if !disconnected(n) {
		return false
	}
	window := maxClientDisconnect(a)
	if window == nil {
		return true
	}
	return !now.Before(DisconnectExpiry(n, *window))
}

// disconnected reports whether n is disconnected: its allocations within
// their window are left as they are, not updated to a new job version
// (nothing can be placed on or changed at the node until it is back).
func disconnected(n *structs.Node) bool {
	return n != nil && n.Status == structs.NodeStatusDisconnected
}

// DisconnectExpiry returns when the window of an allocation on the
// disconnected node n ends.
func DisconnectExpiry(n *structs.Node, window time.Duration) time.Time {
	return time.Unix(n.StatusUpdatedAt, 0).Add(window)
}

// maxClientDisconnect returns the window of a's group (in the job version a
// runs), nil when it has none.
func maxClientDisconnect(a *structs.Allocation) *time.Duration {
	if a.Job == nil {
		return nil
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return nil
	}
	return tg.MaxClientDisconnect
}
