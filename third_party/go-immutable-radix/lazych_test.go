package iradix

import (
	"bytes"
	"sync"
	"testing"

	"github.com/hashicorp/go-uuid"
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

// TestWriteNodeSharesPrefix: a node rewritten by a later transaction shares
// its prefix bytes with the version it replaces (no copy per update), and
// both trees keep their own values and every key.
func TestWriteNodeSharesPrefix(t *testing.T) {
	keys := []string{"alloc-0001\x00", "alloc-0002\x00", "alloc-0103\x00", "other\x00"}
	r := New()
	for i, k := range keys {
		r, _, _ = r.Insert([]byte(k), i)
	}
	leafNode := func(tree *Tree, k string) *Node {
		n := tree.Root()
		search := []byte(k)
		for len(search) > 0 {
			_, n = n.getEdge(search[0])
			if n == nil || !bytes.HasPrefix(search, n.prefix) {
				t.Fatalf("key %q not found", k)
			}
			search = search[len(n.prefix):]
		}
		return n
	}
	updated, _, _ := r.Insert([]byte("alloc-0002\x00"), "new")
	before, after := leafNode(r, "alloc-0002\x00"), leafNode(updated, "alloc-0002\x00")
	if before == after {
		t.Fatal("the update did not rewrite the leaf's node")
	}
	if len(before.prefix) == 0 || &before.prefix[0] != &after.prefix[0] {
		t.Errorf("the rewritten node copied its prefix %q", after.prefix)
	}
	for i, k := range keys {
		v, ok := r.Get([]byte(k))
		if !ok || v != i {
			t.Errorf("old tree: %q = %v, %v", k, v, ok)
		}
		want := any(i)
		if k == "alloc-0002\x00" {
			want = "new"
		}
		if v, ok := updated.Get([]byte(k)); !ok || v != want {
			t.Errorf("new tree: %q = %v, %v; want %v", k, v, ok, want)
		}
	}
}

// TestLargeBatchNotifiesWithoutTreeWalk: a transaction updating 4,096 keys
// of a tree of 100,000 (a full batch of client updates in an index of
// the allocs table) keeps its set of channels to notify instead of
// overflowing into slowNotify, which walks both whole trees, and its
// commit closes the channels watched on the keys it updated, and no other.
func TestLargeBatchNotifiesWithoutTreeWalk(t *testing.T) {
	r := New()
	txn := r.Txn()
	keys := make([][]byte, 100000)
	for i := range keys {
		id, err := uuid.GenerateUUID()
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = []byte(id)
		txn.Insert(keys[i], i)
	}
	r = txn.Commit()
	chUpdated, _, _ := r.Root().GetWatch(keys[0])
	chKept, _, _ := r.Root().GetWatch(keys[1])

	txn = r.Txn()
	txn.TrackMutate(true)
	for i := 0; i < 4096; i++ {
		txn.Insert(keys[i*2], -i)
	}
	if txn.trackOverflow {
		t.Fatalf("a transaction of 4,096 updates overflowed its notify set (%d tracked before): its commit walks both trees", defaultModifiedCache)
	}
	txn.Commit()
	select {
	case <-chUpdated:
	default:
		t.Error("the watch on an updated key did not fire")
	}
	select {
	case <-chKept:
		t.Error("the watch on a key the transaction did not touch fired")
	default:
	}
}
