package client

import "syscall"

// syscallKill kills a test's leftover process group.
func syscallKill(pid int) error { return syscall.Kill(-pid, syscall.SIGKILL) }
