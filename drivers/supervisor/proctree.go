package supervisor

import (
	"bytes"
	"os"
	"strconv"
	"syscall"
)

// procStat is the part of /proc/<pid>/stat the supervisor needs.
type procStat struct {
	State     byte // R, S, D, Z (zombie), ...
	PPID      int
	StartTime uint64 // clock ticks since boot; tells a reused pid apart
}

// readProcStat parses /proc/<pid>/stat. The command name may hold spaces
// and parentheses, so fields are counted after the last ')'.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return procStat{}, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, syscall.EINVAL
	}
	// After ')': state(3) ppid(4) ... starttime(22); fields[0] is state.
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 20 {
		return procStat{}, syscall.EINVAL
	}
	ppid, err := strconv.Atoi(string(fields[1]))
	if err != nil {
		return procStat{}, err
	}
	start, err := strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return procStat{}, err
	}
	return procStat{State: fields[0][0], PPID: ppid, StartTime: start}, nil
}

// descendants returns every live process whose parent chain leads to root,
// found by scanning /proc. Processes that vanish mid-scan are skipped.
func descendants(root int) []int {
	d, err := os.Open("/proc")
	if err != nil {
		return nil
	}
	names, _ := d.Readdirnames(-1)
	_ = d.Close()
	parent := make(map[int]int, len(names))
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil {
			continue
		}
		parent[pid] = st.PPID
	}
	var out []int
	for pid := range parent {
		for p, hops := parent[pid], 0; p > 0 && hops < len(parent); p, hops = parent[p], hops+1 {
			if p == root {
				out = append(out, pid)
				break
			}
		}
	}
	return out
}

// killTree sends SIGKILL to the process group pgid and to every descendant
// of root. It reports how many descendants it found.
func killTree(root, pgid int) int {
	if pgid > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	pids := descendants(root)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	return len(pids)
}

// processAlive reports whether pid exists (and is not a zombie) and, when startTime is non-zero,
// is still the process that started at that time (not a reused pid).
func processAlive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := readProcStat(pid)
	if err != nil || st.State == 'Z' {
		return false
	}
	return startTime == 0 || st.StartTime == startTime
}
