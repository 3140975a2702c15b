package iradix

import (
	"fmt"
	"slices"
	"testing"
)

// TestSmallSet: members are kept inline up to smallSetInline and in a map
// past it, with no duplicates either way; reset empties it.
func TestSmallSet(t *testing.T) {
	var s smallSet[int]
	for i := range 3 * smallSetInline {
		s.add(i)
		s.add(i) // again: no duplicate
		if s.len() != i+1 {
			t.Fatalf("after adding 0..%d twice: len %d", i, s.len())
		}
		for j := range 3 * smallSetInline {
			if s.has(j) != (j <= i) {
				t.Fatalf("after adding 0..%d: has(%d) = %t", i, j, s.has(j))
			}
		}
		var got []int
		s.each(func(x int) { got = append(got, x) })
		slices.Sort(got)
		if len(got) != i+1 || got[0] != 0 || got[i] != i {
			t.Fatalf("after adding 0..%d: each gave %v", i, got)
		}
	}
	s.reset()
	if s.len() != 0 || s.has(0) || s.m != nil {
		t.Fatalf("after reset: len %d, has(0) %t", s.len(), s.has(0))
	}
}

// TestSmallWriteAllocations: a transaction that writes one key of a
// tracked tree of a thousand allocates its copied path and little else.
// With a map each for its writable nodes and its channels to notify it
// made 18 (15 now); a longer path grew those maps too.
func TestSmallWriteAllocations(t *testing.T) {
	r := New()
	for i := range 1000 {
		r, _, _ = r.Insert(fmt.Appendf(nil, "default\x00job-%d\x00", i), i)
	}
	key := []byte("default\x00job-500\x00")
	allocs := testing.AllocsPerRun(200, func() {
		txn := r.Txn()
		txn.TrackMutate(true)
		txn.Insert(key, 1)
		txn.Commit()
	})
	if allocs > 16 {
		t.Errorf("a one-key write allocated %.0f times, want at most 16", allocs)
	}
}
