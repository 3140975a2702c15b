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

// descendants returns every live process whose parent chain leads to root.
// It walks down from root through /proc/<pid>/task/<tid>/children, which
// costs reads in proportion to the tree, not to every process on the host:
// a hundred supervisors cleaning up at once used to scan all of /proc each,
// every killPollInterval, and starved the stops still in flight. Without
// that file (a kernel built without CONFIG_PROC_CHILDREN) it scans /proc.
// Processes that vanish mid-walk are skipped.
func descendants(root int) []int {
	out, ok := walkChildren(root)
	if !ok {
		return scanDescendants(root)
	}
	return out
}

// walkChildren lists root's descendants from the children files; ok is
// false when root's own tasks have none (the kernel lacks them).
func walkChildren(root int) (out []int, ok bool) {
	seen := map[int]bool{root: true}
	queue := []int{root}
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		kids, found := childrenOf(pid)
		if pid == root && !found {
			return nil, false
		}
		for _, k := range kids {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
				queue = append(queue, k)
			}
		}
	}
	return out, true
}

// childrenOf reads the children of every thread of pid; found reports
// whether any children file could be read.
func childrenOf(pid int) (kids []int, found bool) {
	dir := "/proc/" + strconv.Itoa(pid) + "/task"
	d, err := os.Open(dir)
	if err != nil {
		return nil, false
	}
	tids, _ := d.Readdirnames(-1)
	_ = d.Close()
	for _, tid := range tids {
		b, err := os.ReadFile(dir + "/" + tid + "/children")
		if err != nil {
			continue
		}
		found = true
		for _, f := range bytes.Fields(b) {
			if k, err := strconv.Atoi(string(f)); err == nil {
				kids = append(kids, k)
			}
		}
	}
	return kids, found
}

// scanDescendants is descendants by a scan of every process in /proc.
func scanDescendants(root int) []int {
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
