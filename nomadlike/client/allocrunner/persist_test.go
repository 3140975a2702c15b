package allocrunner

import (
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// blockingStore holds the first PutAlloc until release is closed and
// records the AllocModifyIndex of every copy stored, in order.
type blockingStore struct {
	entered, release chan struct{}

	mu     sync.Mutex
	calls  int
	stored []uint64
}

func (s *blockingStore) PutAlloc(a *structs.Allocation) error {
	s.mu.Lock()
	s.calls++
	first := s.calls == 1
	s.mu.Unlock()
	if first {
		close(s.entered)
		<-s.release
	}
	s.mu.Lock()
	s.stored = append(s.stored, a.AllocModifyIndex)
	s.mu.Unlock()
	return nil
}

func (*blockingStore) PutTaskHandle(string, string, *drivers.TaskHandle) error { return nil }
func (*blockingStore) DeleteTaskHandle(string, string) error                   { return nil }
func (*blockingStore) PutTaskState(string, string, *structs.TaskState) error   { return nil }

// TestPersistInOrder races two server updates of an allocation: the first
// one's write to the state DB is slow. The copy stored last must be the
// newer one (it was the older: each update wrote its own copy after
// unlocking, in whatever order the writes finished).
func TestPersistInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := &structs.Job{ID: "p", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
			Name: "g", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "mock"}},
		}}}
		store := &blockingStore{entered: make(chan struct{}), release: make(chan struct{})}
		alloc := &structs.Allocation{ID: "a1", TaskGroup: "g", Job: job, DesiredStatus: structs.AllocDesiredStatusRun, AllocModifyIndex: 1}
		r, err := New(Config{Alloc: alloc, Store: store, Logger: slog.New(slog.DiscardHandler), Node: func() *structs.Node { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		update := func(idx uint64) {
			n := alloc.Copy()
			n.AllocModifyIndex = idx
			r.Update(n)
		}
		var wg sync.WaitGroup
		wg.Go(func() { update(2) })
		<-store.entered // update 2 is writing, slowly
		wg.Go(func() { update(3) })
		synctest.Wait() // update 3 has written, or waits for update 2's write
		close(store.release)
		wg.Wait()
		store.mu.Lock()
		defer store.mu.Unlock()
		if last := store.stored[len(store.stored)-1]; last != 3 {
			t.Fatalf("stored copies in order %v: the last is AllocModifyIndex %d, want 3 (the newest)", store.stored, last)
		}
	})
}
