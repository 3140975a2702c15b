// Package restarts decides, as pure logic, what the client does when a task
// exits: restart it after a delay, wait until the restart interval ends
// (mode "delay"), or give up (mode "fail"). It does no I/O and reads no
// clock: the caller passes the exit result and the current time, so every
// decision is testable with explicit times.
package restarts
