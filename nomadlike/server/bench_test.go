package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkEndToEndPlacement registers 100 jobs of 100 allocations each and
// waits until all 10,000 are committed on 100 nodes, through the real
// broker, workers, scheduler and plan applier on in-memory Raft.
func BenchmarkEndToEndPlacement(b *testing.B) {
	const nodes, jobs, count = 100, 100, 100
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		// The nodes never heartbeat: with the default TTL (10-20 s plus
		// 10 s of grace) a slow run saw them go down, their allocations
		// lost and replaced, and more allocations than 10,000 in all.
		s := newTestServer(b, func(c *Config) { c.NumSchedulers = 0; c.MinHeartbeatTTL = time.Hour })
		for n := range nodes {
			registerNode(b, s, mockNode(fmt.Sprintf("node-%d", n)))
		}
		b.StartTimer()
		start := time.Now()
		for j := range jobs {
			if _, err := s.RegisterJob(context.Background(), &structs.JobRegisterRequest{Job: mockJob(fmt.Sprintf("job-%d", j), count, 20, 20)}); err != nil {
				b.Fatalf("RegisterJob: %v", err)
			}
		}
		waitFor(b, 5*time.Minute, "all placements", func() (bool, string) {
			all, err := s.state.Allocs(nil, "*")
			if err != nil {
				return false, err.Error()
			}
			if len(all) > jobs*count {
				b.Fatalf("%d allocations, more than the %d asked for", len(all), jobs*count)
			}
			return len(all) == jobs*count, fmt.Sprintf("%d of %d", len(all), jobs*count)
		})
		elapsed := time.Since(start)
		b.StopTimer()
		b.ReportMetric(float64(jobs*count)/elapsed.Seconds(), "placements/s")
		if err := s.Shutdown(); err != nil {
			b.Fatalf("Shutdown: %v", err)
		}
	}
}
