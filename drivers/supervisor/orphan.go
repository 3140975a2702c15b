package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// escapees returns the processes that left an orphaned workload's tree
// (setsid and a double fork reparent them to the supervisor, and to init
// once the supervisor is gone) but still carry its task's identity: the
// NOMAD_ALLOC_ID and NOMAD_TASK_NAME of taskID ("<alloc id>/<task>") in
// their environment, a start no earlier than the workload's (start, in
// clock ticks), and no live supervisor among their ancestors (a newer run
// of the same task is left alone).
func escapees(taskID string, start uint64) []int {
	alloc, task, ok := strings.Cut(taskID, "/")
	if !ok || alloc == "" || task == "" {
		return nil
	}
	wantAlloc := []byte("NOMAD_ALLOC_ID=" + alloc)
	wantTask := []byte("NOMAD_TASK_NAME=" + task)
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	_ = d.Close()
	self := os.Getpid()
	var out []int
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.State == 'Z' || st.StartTime < start {
			continue
		}
		env, err := os.ReadFile("/proc/" + n + "/environ")
		if err != nil || !hasVar(env, wantAlloc) || !hasVar(env, wantTask) {
			continue
		}
		if underSupervisor(st.PPID) {
			continue
		}
		out = append(out, pid)
	}
	return out
}

// hasVar reports whether the NUL-separated environment env holds kv.
func hasVar(env, kv []byte) bool {
	for _, v := range bytes.Split(env, []byte{0}) {
		if bytes.Equal(v, kv) {
			return true
		}
	}
	return false
}

// underSupervisor reports whether pid or one of its ancestors is a live
// task supervisor.
func underSupervisor(pid int) bool {
	for hops := 0; pid > 1 && hops < 64; hops++ {
		cmd, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
		if err != nil {
			return false
		}
		if args := bytes.Split(cmd, []byte{0}); len(args) > 1 && string(args[1]) == Command {
			return true
		}
		st, err := readProcStat(pid)
		if err != nil {
			return false
		}
		pid = st.PPID
	}
	return false
}

// killEscapees SIGKILLs what escapees finds, a few passes (a process may
// fork while it is being killed), and reports whether it found any.
func killEscapees(taskID string, start uint64) bool {
	found := false
	for range 3 {
		pids := escapees(taskID, start)
		if len(pids) == 0 {
			return found
		}
		found = true
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
		}
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return found
}
