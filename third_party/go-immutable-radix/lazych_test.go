package iradix

import (
	"sync"
	"testing"
)

// TestLazyMutateChannels (nomadlike): a tree holds no channels until
// watched; a watch taken before a mutation is closed by Notify, one taken
// on the old tree after the mutation is already closed, and concurrent
// watchers and a writer never miss a notification.
func TestLazyMutateChannels(t *testing.T) {
	r := New()
	for _, k := range []string{"foo", "foobar", "zip"} {
		r, _, _ = r.Insert([]byte(k), k)
	}
	for it := r.root.rawIterator(); it.Front() != nil; it.Next() {
		n := it.Front()
		if n.mutateCh.p.Load() != nil || (n.leaf != nil && n.leaf.mutateCh.p.Load() != nil) {
			t.Fatalf("node %q has a mutation channel nobody asked for", it.Path())
		}
	}
	before, _, _ := r.Root().GetWatch([]byte("foobar"))
	old := r
	txn := r.Txn()
	txn.TrackMutate(true)
	txn.Insert([]byte("foobar"), "new")
	r = txn.Commit()
	select {
	case <-before:
	default:
		t.Fatal("a watch taken before the mutation was not closed by Notify")
	}
	after, _, _ := old.Root().GetWatch([]byte("foobar"))
	select {
	case <-after:
	default:
		t.Fatal("a watch taken on the old tree after the mutation is open: it would never fire")
	}
	fresh, _, _ := r.Root().GetWatch([]byte("foobar"))
	select {
	case <-fresh:
		t.Fatal("a watch on the new tree is closed")
	default:
	}

	// Watchers racing with the writer.
	for range 200 {
		tree := r
		var wg sync.WaitGroup
		chs := make([]<-chan struct{}, 8)
		for i := range chs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				chs[i], _, _ = tree.Root().GetWatch([]byte("zip"))
			}()
		}
		txn := tree.Txn()
		txn.TrackMutate(true)
		txn.Insert([]byte("zip"), "v")
		r = txn.Commit()
		wg.Wait()
		for i, ch := range chs {
			select {
			case <-ch:
			default:
				t.Fatalf("watcher %d of the replaced leaf was never notified", i)
			}
		}
	}
}
