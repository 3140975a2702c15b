// Package allocrunner runs one allocation on a client: an alloc Runner owns
// one task runner per task in the group. Each task runner is a small loop
// (prestart hooks, start, wait, restart decision) plus hooks, one file each:
// the alloc dir hook, task dir hook, env hook (interpolating the driver
// config), log hook and validation hook.
//
// Ownership: Runner.Run is called once, from a goroutine the client owns; it
// returns when every task is dead, or when its ctx ends (client shutdown),
// in which case running tasks are left running for the next client process
// to re-attach to. Update and Kill may be called from any goroutine. The
// runner reports every change through Config.OnUpdate with a copy of the
// allocation carrying ClientStatus and TaskStates.
package allocrunner
