package supervisor_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers/supervisor"
)

// BenchmarkSupervisorMemory starts a supervisor running sleep, reads its
// memory once it is idle, and stops it. It reports the supervisor's private
// anonymous memory and PSS (kB) besides the start+stop time per op. The
// supervisor here is the test binary, smaller than the agent's; compare runs
// of this benchmark with each other, and the agent with make bench-e2e.
func BenchmarkSupervisorMemory(b *testing.B) {
	var anon, pss float64
	for i := 0; i < b.N; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c, err := supervisor.Start(ctx, "", spec(b, b.TempDir(), "/bin/sleep", "300"), nil)
		if err != nil {
			cancel()
			b.Fatalf("Start: %v", err)
		}
		a, p, err := smapsRollup(c.SupervisorPID())
		if err != nil {
			cancel()
			b.Fatal(err)
		}
		anon += float64(a)
		pss += float64(p)
		if _, err := c.Stop(ctx, syscall.SIGTERM, 5*time.Second); err != nil {
			cancel()
			b.Fatalf("Stop: %v", err)
		}
		cancel()
	}
	b.ReportMetric(anon/float64(b.N), "anon-kB/supervisor")
	b.ReportMetric(pss/float64(b.N), "pss-kB/supervisor")
}

// smapsRollup returns a process's Anonymous and Pss memory in kB.
func smapsRollup(pid int) (anon, pss int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 2 {
			continue
		}
		n, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "Anonymous:":
			anon = n
		case "Pss:":
			pss = n
		}
	}
	return anon, pss, s.Err()
}
