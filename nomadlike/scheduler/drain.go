package scheduler

import "github.com/nomadlike/nomadlike/nomadlike/structs"

// drainMigrates reports whether a must leave node because the node drains.
// With a DrainStrategy the server's drainer paces the drain, so only the
// allocations it marked (DesiredTransition.Migrate) move; the others keep
// running until marked. A draining node without a strategy moves all.
func drainMigrates(node *structs.Node, a *structs.Allocation) bool {
	return node.Drain && (node.DrainStrategy == nil || a.DesiredTransition.ShouldMigrate())
}
