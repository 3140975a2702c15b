package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestClientUpdatesBatched: updates sent at once by several nodes are
// committed in one Raft entry (one index for all), and each is applied.
func TestClientUpdatesBatched(t *testing.T) {
	s := newTestServer(t, nil)
	ctx := context.Background()
	nodes := []*structs.Node{mockNode("node-1"), mockNode("node-2"), mockNode("node-3")}
	for _, n := range nodes {
		registerNode(t, s, n)
	}
	registerJob(t, s, mockJob("web", 6, 100, 64))
	allocs := waitLiveAllocs(t, s, "web", 6)
	byNode := map[string][]*structs.Allocation{}
	for _, a := range allocs {
		byNode[a.NodeID] = append(byNode[a.NodeID], &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning})
	}
	secret := map[string]string{}
	for _, n := range nodes {
		secret[n.ID] = n.SecretID
	}
	// A window long enough for the goroutines below on a loaded machine.
	s.allocUpdates.interval = 2 * time.Second
	var wg sync.WaitGroup
	var mu sync.Mutex
	indexes := map[uint64]int{}
	for nodeID, updates := range byNode {
		wg.Go(func() {
			idx, err := s.UpdateAllocsFromClient(ctx, nodeID, secret[nodeID], updates)
			if err != nil {
				t.Errorf("UpdateAllocsFromClient(%s): %v", nodeID, err)
				return
			}
			mu.Lock()
			indexes[idx]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(byNode) > 1 && len(indexes) != 1 {
		t.Errorf("updates from %d nodes sent at once were committed at indexes %v; want one batched entry", len(byNode), indexes)
	}
	for _, a := range allocs {
		got, err := s.state.AllocByID(nil, a.ID)
		if err != nil || got == nil || got.ClientStatus != structs.AllocClientStatusRunning {
			t.Errorf("allocation %s after the batch: %+v, %v; want client status running", a.ID, got, err)
		}
	}
}
