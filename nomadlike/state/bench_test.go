package state

import (
	"fmt"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkUpsertAllocs stores 1,000 new allocations of one job, spread over
// 100 nodes, in one transaction (one plan result).
func BenchmarkUpsertAllocs(b *testing.B) {
	job := testJob("web")
	allocs := make([]*structs.Allocation, 1000)
	for i := range allocs {
		allocs[i] = testAlloc(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), job, fmt.Sprintf("node-%03d", i%100))
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := newTestStore(b)
		must(b, s.UpsertJob(1, job))
		b.StartTimer()
		must(b, s.UpsertAllocs(2, allocs))
	}
}

// BenchmarkAllocsByNode reads one node's 10 allocations out of 10,000.
func BenchmarkAllocsByNode(b *testing.B) {
	s := newTestStore(b)
	job := testJob("web")
	must(b, s.UpsertJob(1, job))
	allocs := make([]*structs.Allocation, 10000)
	for i := range allocs {
		allocs[i] = testAlloc(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), job, fmt.Sprintf("node-%04d", i%1000))
	}
	must(b, s.UpsertAllocs(2, allocs))
	b.ReportAllocs()
	for b.Loop() {
		got, err := s.AllocsByNode(nil, "node-0500")
		if err != nil || len(got) != 10 {
			b.Fatalf("AllocsByNode = %d allocs, %v; want 10", len(got), err)
		}
	}
}

// BenchmarkUpsertAllocsOneJob stores 5,000 allocations of one job as 100
// plan results of 50 each (a job placed in batches, or a system job while
// nodes join): each write updates the job's summary.
func BenchmarkUpsertAllocsOneJob(b *testing.B) {
	const batches, perBatch = 100, 50
	job := testJob("web")
	allocs := make([]*structs.Allocation, batches*perBatch)
	for i := range allocs {
		allocs[i] = testAlloc(fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), job, fmt.Sprintf("node-%04d", i))
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s := newTestStore(b)
		must(b, s.UpsertJob(1, job))
		own := make([]*structs.Allocation, len(allocs))
		for i, a := range allocs {
			own[i] = a.Copy()
		}
		b.StartTimer()
		for i := range batches {
			must(b, s.UpsertAllocs(uint64(2+i), own[i*perBatch:(i+1)*perBatch]))
		}
	}
}
