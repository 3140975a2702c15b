package scheduler

import (
	"fmt"
	"math/rand"
	"slices"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestBestMatchesStableSort checks that best's one-pass selection reports
// the same nodes, in the same order, as a stable sort by score would.
func TestBestMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewSource(7))
	for trial := range 200 {
		n := 1 + rng.Intn(30)
		all := make([]candidate, n)
		for i := range all {
			// Few distinct scores, so ties are common.
			all[i] = candidate{node: &structs.Node{ID: fmt.Sprint(i)}, finalScore: float64(rng.Intn(5)) / 4}
		}
		want := slices.Clone(all)
		slices.SortStableFunc(want, func(a, b candidate) int {
			switch {
			case a.finalScore > b.finalScore:
				return -1
			case a.finalScore < b.finalScore:
				return 1
			}
			return 0
		})
		m := &structs.AllocMetric{}
		got := (&selector{}).best(all, m)
		if got.node.ID != want[0].node.ID {
			t.Fatalf("trial %d: best %s, want %s", trial, got.node.ID, want[0].node.ID)
		}
		if len(m.ScoreMetaData) != min(n, maxScoreMeta) {
			t.Fatalf("trial %d: %d score entries, want %d", trial, len(m.ScoreMetaData), min(n, maxScoreMeta))
		}
		for i, sm := range m.ScoreMetaData {
			if sm.NodeID != want[i].node.ID {
				t.Fatalf("trial %d: entry %d is node %s, want %s", trial, i, sm.NodeID, want[i].node.ID)
			}
		}
	}
}
