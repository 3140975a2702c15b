package supervisor

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

// startTree starts sh with two background sleeps and waits until all three
// are the test process's descendants.
func startTree(tb testing.TB) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command("/bin/sh", "-c", "sleep 60 & sleep 60 & wait")
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		n := 0
		for _, pid := range scanDescendants(os.Getpid()) {
			if st, err := readProcStat(pid); err == nil && st.State != 'Z' && (pid == cmd.Process.Pid || st.PPID == cmd.Process.Pid) {
				n++
			}
		}
		if n >= 3 {
			return cmd
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the sh tree never showed up (%d of 3 processes)", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDescendantsWalkMatchesScan(t *testing.T) {
	cmd := startTree(t)
	walked, ok := walkChildren(os.Getpid())
	if !ok {
		t.Skip("kernel without /proc/<pid>/task/<tid>/children; descendants scans /proc")
	}
	scanned := scanDescendants(os.Getpid())
	slices.Sort(walked)
	slices.Sort(scanned)
	// Processes may start or end between the two reads (the Go runtime
	// starts none, but the sh tree is ours): compare the sh tree only.
	inTree := func(pids []int) []int {
		var out []int
		for _, pid := range pids {
			if st, err := readProcStat(pid); err == nil && (pid == cmd.Process.Pid || st.PPID == cmd.Process.Pid) {
				out = append(out, pid)
			}
		}
		return out
	}
	if w, s := inTree(walked), inTree(scanned); !slices.Equal(w, s) || len(w) < 3 {
		t.Errorf("walk found %v, scan found %v; want the same three or more processes", w, s)
	}
}

// BenchmarkDescendants compares finding a small tree by walking the
// children files with scanning all of /proc (which grows with every process
// on the host).
func BenchmarkDescendants(b *testing.B) {
	startTree(b)
	self := os.Getpid()
	b.Run("walk", func(b *testing.B) {
		for b.Loop() {
			descendants(self)
		}
	})
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			scanDescendants(self)
		}
	})
}
