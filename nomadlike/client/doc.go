// Package client is the client runtime of a node: it fingerprints the host,
// registers the node with the servers and heartbeats, watches the node's
// allocations with a blocking query, runs each through an alloc runner
// (client/allocrunner) and its drivers, batches status updates back, keeps
// local state (client/clientstate) so a restarted client re-attaches to
// running tasks, and streams task logs.
//
// A client speaks only the HTTP API (nomadlike/api), authenticated by the
// node's secret; it never imports server code.
//
// Lifecycle: New, then Start once; Start returns after restoring state and
// fingerprinting, leaving its loops (registration and heartbeats, driver
// re-fingerprinting, allocation watcher, status updater, one goroutine per
// allocation) running until Shutdown, which stops them all and returns when
// they have; tasks keep running.
package client

// Version is reported as the node's nomad.version attribute.
const Version = "0.1.0"
