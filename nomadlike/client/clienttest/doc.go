// Package clienttest holds test helpers for the client: Driver, a real task
// driver that runs a command through os/exec (honestly implementing
// drivers.Driver, re-attach by pid included), and Server, an in-memory
// implementation of the four client-to-server HTTP endpoints (node register,
// heartbeat, node allocations as a blocking query, allocation updates).
// Only tests import it.
package clienttest
