package nodesim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestWatchNodeStatusSeesANodeGoDown: the monitor's node watch is a
// blocking query of the node list (?index=), not a list every interval,
// and a node that goes down while it waits is recorded at once.
func TestWatchNodeStatusSeesANodeGoDown(t *testing.T) {
	var mu sync.Mutex
	index, status := uint64(5), structs.NodeStatusReady
	changed := make(chan struct{})
	var plain, blocking int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/nodes" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		ch, idx := changed, index
		if r.URL.Query().Get("index") == "" {
			plain++
		} else {
			blocking++
		}
		mu.Unlock()
		if want, _ := strconv.ParseUint(r.URL.Query().Get("index"), 10, 64); want >= idx {
			select {
			case <-ch:
			case <-r.Context().Done():
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("X-Nomad-Index", strconv.FormatUint(index, 10))
		_ = json.NewEncoder(w).Encode([]*structs.NodeListStub{{ID: "n1", Status: status}})
	}))
	defer srv.Close()
	c, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	m := &monitor{api: c, ids: map[string]bool{"n1": true}, down: map[string]bool{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.watchNodeStatus(ctx) }()
	defer func() { cancel(); <-done }()

	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor("the watch to wait on index 5", func() bool { mu.Lock(); defer mu.Unlock(); return blocking > 0 })
	mu.Lock()
	index, status = 6, structs.NodeStatusDown
	close(changed)
	changed = make(chan struct{})
	mu.Unlock()
	waitFor("n1 recorded down", func() bool { m.mu.Lock(); defer m.mu.Unlock(); return m.down["n1"] })
	mu.Lock()
	defer mu.Unlock()
	if plain != 1 {
		t.Errorf("%d plain lists of the nodes; want 1 (then blocking queries only)", plain)
	}
}
