// Package e2e holds the end-to-end tests: they build the nomadlike binary,
// start real agents on free loopback ports in temp dirs, and drive them as a
// user would, through the CLI and the HTTP API, with real drivers and real
// failures (killed tasks, SIGKILLed agents). Waits are conditions with
// deadlines, never bare sleeps.
package e2e
