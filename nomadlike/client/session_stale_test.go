package client

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestAllocWatchIsStale: the allocation watch asks with ?stale, so that a
// follower answers it from its own state instead of forwarding every node's
// watch to the leader.
func TestAllocWatchIsStale(t *testing.T) {
	watched := make(chan string, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/v1/node/register":
			_ = json.NewEncoder(w).Encode(&structs.NodeUpdateResponse{HeartbeatTTL: time.Minute})
		case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/client-allocations"):
			select {
			case watched <- r.URL.RawQuery:
			default:
			}
			w.Header().Set("X-Nomad-Index", "1")
			_ = json.NewEncoder(w).Encode(&structs.NodeClientAllocs{Allocs: map[string]uint64{}})
		default:
			w.WriteHeader(http.StatusOK)
		}
	}))
	defer ts.Close()
	s, err := NewSession(SessionConfig{Servers: []string{ts.URL}, Logger: slog.New(slog.DiscardHandler),
		Node: &structs.Node{ID: structs.GenerateUUID(), SecretID: structs.GenerateUUID(), Name: "n"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	select {
	case q := <-watched:
		if !strings.Contains("&"+q+"&", "&stale") {
			t.Errorf("allocation watch query %q has no stale parameter", q)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the session never watched its allocations")
	}
}
