package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestUpdaterResendsWithTheSameKey: a batch of allocation updates whose
// send failed is resent with the same Idempotency-Key (the servers may
// have applied the failed send: they apply the resend once), and a batch
// with a newer copy of an allocation is a new write with a new key.
func TestUpdaterResendsWithTheSameKey(t *testing.T) {
	var mu sync.Mutex
	var keys []string
	u := updaterTo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		keys = append(keys, r.Header.Get("Idempotency-Key"))
		n := len(keys)
		mu.Unlock()
		if n == 1 {
			http.Error(w, "leader lost", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("{}\n"))
	}))
	ctx := context.Background()
	a1 := &structs.Allocation{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}
	a2 := &structs.Allocation{ID: "a2", ClientStatus: structs.AllocClientStatusRunning}
	u.enqueue(a1)
	u.enqueue(a2)
	if err := u.flush(ctx); err == nil {
		t.Fatal("the first send: got no error, want the server's 503")
	}
	if err := u.flush(ctx); err != nil {
		t.Fatalf("resend: %v", err)
	}
	u.enqueue(&structs.Allocation{ID: "a1", ClientStatus: structs.AllocClientStatusComplete})
	if err := u.flush(ctx); err != nil {
		t.Fatalf("a newer update: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(keys) != 3 || keys[0] == "" || keys[1] != keys[0] || keys[2] == keys[0] {
		t.Errorf("Idempotency-Keys sent: %q; want the failed batch's key again for its resend and a new one for the newer update", keys)
	}
}

// TestUpdaterSendsWithoutJob: an update goes without the allocation's job,
// and the allocation enqueued keeps it (the batch is sent from copies).
func TestUpdaterSendsWithoutJob(t *testing.T) {
	var got structs.NodeAllocUpdateRequest
	u := updaterTo(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewDecoder(r.Body).Decode(&got)
		_, _ = w.Write([]byte("{}\n"))
	}))
	a := &structs.Allocation{ID: "a1", ClientStatus: structs.AllocClientStatusRunning, Job: &structs.Job{ID: "web"}}
	u.enqueue(a)
	if err := u.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got.Allocs) != 1 || got.Allocs[0].ID != "a1" || got.Allocs[0].ClientStatus != structs.AllocClientStatusRunning || got.Allocs[0].Job != nil {
		t.Errorf("sent %+v, want a1 running without its job", got.Allocs)
	}
	if a.Job == nil {
		t.Error("the enqueued allocation lost its job")
	}
}

// updaterTo returns an updater whose session's one server is h.
func updaterTo(t *testing.T, h http.Handler) *updater {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	ac, err := api.NewClient(api.Config{Address: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return newUpdater(&Session{servers: []*api.Client{ac}})
}
