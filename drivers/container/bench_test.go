package container

import (
	"context"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers/drivertest"
)

// Run with: go test ./drivers/container -run '^$' -bench 'Start' -benchtime 20x
// Both benchmarks report the median of their iterations (median-ms), the
// figure issue #3 asks for, beside Go's mean (ns/op).

// BenchmarkContainerStart measures a busybox container's start: from
// StartTask called to StartTask returned, which is when the task's process
// runs (the container's init has exec'd `sleep`). The image is cached by a
// warm-up start, as it is for every start but a node's first. Stopping and
// destroying each container is not timed.
func BenchmarkContainerStart(b *testing.B) {
	requireContainers(b)
	d := newDriver(b, "")
	layout := busyboxLayout(b)
	ctx := context.Background()
	run := func(b *testing.B) time.Duration {
		cfg := drivertest.TaskConfig(b, "bench", map[string]any{"image": "oci-layout://" + layout, "command": "sleep", "args": []any{"300"}})
		began := time.Now()
		if _, err := d.StartTask(ctx, cfg); err != nil {
			b.Fatalf("StartTask: %v", err)
		}
		took := time.Since(began)
		b.StopTimer()
		if err := d.StopTask(ctx, cfg.ID, 0, "SIGKILL"); err != nil {
			b.Fatalf("StopTask: %v", err)
		}
		if err := d.DestroyTask(ctx, cfg.ID, true); err != nil {
			b.Fatalf("DestroyTask: %v", err)
		}
		b.StartTimer()
		return took
	}
	b.StopTimer()
	run(b) // warm the image cache
	b.StartTimer()
	b.ResetTimer()
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		took = append(took, run(b))
	}
	reportMedian(b, took)
}

// BenchmarkForkExecStart is the baseline: the same busybox command started
// with a plain fork/exec (exec.Cmd.Start returns once the exec succeeded).
func BenchmarkForkExecStart(b *testing.B) {
	requireContainers(b)
	var took []time.Duration
	for i := 0; i < b.N; i++ {
		cmd := exec.Command("/bin/busybox", "sleep", "300")
		began := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(began))
		b.StopTimer()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		b.StartTimer()
	}
	reportMedian(b, took)
}

// reportMedian reports the median of took in milliseconds.
func reportMedian(b *testing.B, took []time.Duration) {
	if len(took) == 0 {
		return
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2])/float64(time.Millisecond), "median-ms")
}
