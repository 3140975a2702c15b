package rawexec

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
)

// BenchmarkStartStop starts /bin/true through the supervisor and waits for
// its exit; it also reports a supervisor's resident memory (rss-KiB).
func BenchmarkStartStop(b *testing.B) {
	d := New(Config{Enabled: true}, nil)
	b.Cleanup(d.Close)
	ctx := context.Background()
	cfgs := make([]string, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg := drivertest.TaskConfig(b, "bench", map[string]any{"command": "/bin/true"})
		if _, err := d.StartTask(ctx, cfg); err != nil {
			b.Fatalf("StartTask: %v", err)
		}
		if res := wait(b, d, cfg.ID); !res.Successful() {
			b.Fatalf("task failed: %+v", res)
		}
		cfgs = append(cfgs, cfg.ID)
	}
	b.StopTimer()
	for _, id := range cfgs {
		if err := d.DestroyTask(ctx, id, true); err != nil {
			b.Fatalf("DestroyTask: %v", err)
		}
	}
	b.ReportMetric(float64(supervisorRSS(b, d)), "rss-KiB")
}

// supervisorRSS starts a long-running task and reads its supervisor's VmRSS.
func supervisorRSS(b *testing.B, d *Driver) int {
	cfg := drivertest.TaskConfig(b, "rss", map[string]any{"command": "/bin/sleep", "args": []any{"300"}})
	h, err := d.StartTask(context.Background(), cfg)
	if err != nil {
		b.Fatalf("StartTask: %v", err)
	}
	defer func() {
		if err := d.DestroyTask(context.Background(), cfg.ID, true); err != nil {
			b.Errorf("DestroyTask: %v", err)
		}
	}()
	var ds driverState
	if err := json.Unmarshal(h.DriverState, &ds); err != nil {
		b.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", ds.SupervisorPID))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		var kb int
		if _, err := fmt.Sscanf(line, "VmRSS: %d kB", &kb); err == nil {
			return kb
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", ds.SupervisorPID)
	return 0
}
