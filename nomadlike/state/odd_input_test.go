package state

import (
	"errors"
	"sync"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func TestOddInputIsAnErrorNotAPanic(t *testing.T) {
	s := newTestStore(t)
	tests := []struct {
		name string
		err  error
	}{
		{"nil job", s.UpsertJob(1, nil)},
		{"job without ID", s.UpsertJob(1, &structs.Job{})},
		{"nil node", s.UpsertNode(1, nil)},
		{"node without ID", s.UpsertNode(1, &structs.Node{Name: "x"})},
		{"nil eval", s.UpsertEvals(1, []*structs.Evaluation{nil})},
		{"eval without ID", s.UpsertEvals(1, []*structs.Evaluation{{JobID: "web"}})},
		{"nil plan result", errOf(s.ApplyPlanResults(1, nil))},
		{"nil desired update", errOf(s.AllocDesiredUpdate(1, nil))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var coded *structs.CodedError
			if !errors.As(tt.err, &coded) || coded.Code != 400 {
				t.Errorf("got %v, want a 400 CodedError", tt.err)
			}
		})
	}
	if idx, err := s.LatestIndex(); err != nil || idx != 0 {
		t.Errorf("LatestIndex after failed writes = %d, %v; want 0, nil", idx, err)
	}
}

func TestRestoredAllocWithoutJob(t *testing.T) {
	s := newTestStore(t)
	r, err := s.NewRestore()
	must(t, err)
	must(t, r.Row(tableAllocs, &structs.Allocation{ID: "orphan", Namespace: "default", JobID: "web", NodeID: "n1"}))
	must(t, r.Commit())
	must(t, s.UpsertJob(2, testJob("web"))) // recounts the summary over the orphan
	cur, err := s.AllocsByJob(nil, "default", "web", false)
	must(t, err)
	all, err := s.AllocsByJob(nil, "default", "web", true)
	must(t, err)
	if len(cur) != 0 || len(all) != 1 {
		t.Errorf("AllocsByJob current/all = %d/%d, want 0/1 (an alloc without a job belongs to no incarnation)", len(cur), len(all))
	}
	must(t, s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: "orphan", ClientStatus: structs.AllocClientStatusComplete}}))
}

// TestConcurrentReadsDuringWritesAndRestore is meant for -race: readers on
// several goroutines while the single writer writes and restores.
func TestConcurrentReadsDuringWritesAndRestore(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.AllocsByJob(nil, "default", "web", false); err != nil {
					t.Error(err)
					return
				}
				snap, err := s.Snapshot()
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := snap.Nodes(nil); err != nil {
					t.Error(err)
					return
				}
				_ = s.AbandonCh()
			}
		}()
	}
	for i := range 50 {
		idx := uint64(10 + i)
		must(t, s.UpsertAllocs(idx, []*structs.Allocation{testAlloc(structs.GenerateUUID(), job, "n1")}))
		if i%10 == 0 {
			r, err := s.NewRestore()
			must(t, err)
			must(t, r.Row(tableJobs, job))
			must(t, r.Commit())
		}
	}
	close(stop)
	wg.Wait()
}
