package supervisor

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCPUTrackerRates(t *testing.T) {
	t0 := time.Unix(1000, 0)
	sec := time.Second
	type sample struct {
		at    time.Duration // after t0
		times map[string]CPUTimes
		want  map[string]CPURates
	}
	cases := []struct {
		name    string
		samples []sample
	}{
		{"first sample has no rate", []sample{
			{0, map[string]CPUTimes{"a": {User: sec, Total: sec}}, map[string]CPURates{}},
		}},
		{"one core busy for a second", []sample{
			{0, map[string]CPUTimes{"a": {}}, map[string]CPURates{}},
			{sec, map[string]CPUTimes{"a": {User: sec / 2, System: sec / 2, Total: sec}}, map[string]CPURates{"a": {User: 50, System: 50, Total: 100}}},
		}},
		{"two cores", []sample{
			{0, map[string]CPUTimes{"a": {}}, map[string]CPURates{}},
			{2 * sec, map[string]CPUTimes{"a": {User: 4 * sec, Total: 4 * sec}}, map[string]CPURates{"a": {User: 200, Total: 200}}},
		}},
		{"too soon repeats the last rate", []sample{
			{0, map[string]CPUTimes{"a": {}}, map[string]CPURates{}},
			{sec, map[string]CPUTimes{"a": {Total: sec}}, map[string]CPURates{"a": {Total: 100}}},
			{sec + time.Millisecond, map[string]CPUTimes{"a": {Total: 3 * sec}}, map[string]CPURates{"a": {Total: 100}}},
		}},
		{"counter going back counts as zero", []sample{
			{0, map[string]CPUTimes{"a": {Total: 5 * sec}}, map[string]CPURates{}},
			{sec, map[string]CPUTimes{"a": {Total: sec}}, map[string]CPURates{"a": {}}},
		}},
		{"a vanished key is forgotten", []sample{
			{0, map[string]CPUTimes{"a": {}, "b": {}}, map[string]CPURates{}},
			{sec, map[string]CPUTimes{"a": {Total: sec}}, map[string]CPURates{"a": {Total: 100}}},
			{2 * sec, map[string]CPUTimes{"a": {Total: sec}, "b": {Total: sec}}, map[string]CPURates{"a": {}}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var tr CPUTracker
			for i, s := range c.samples {
				got := tr.Rates(t0.Add(s.at), s.times)
				if diff := cmp.Diff(s.want, got); diff != "" {
					t.Errorf("sample %d (-want +got):\n%s", i, diff)
				}
			}
		})
	}
}

func TestTreeStatsOwnProcess(t *testing.T) {
	var tr CPUTracker
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := tr.TreeStats(ctx, os.Getpid())
	if err != nil {
		t.Fatalf("TreeStats(self): %v", err)
	}
	if u.ResourceUsage.MemoryStats.RSS == 0 {
		t.Errorf("RSS of the test process = 0")
	}
	if _, ok := u.Pids[itoa(os.Getpid())]; !ok {
		t.Errorf("Pids = %v, want the test's own pid", u.Pids)
	}
	if _, err := tr.TreeStats(ctx, 1<<30); err == nil {
		t.Errorf("TreeStats(no such pid) = nil error")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
