package nodesim

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
)

// TestNodeKeepsTwoConnections: a simulated node's requests are its watch
// (always in flight) and short calls (heartbeats, status updates) that
// sometimes overlap. After an overlap its transport keeps no third
// connection open: each one the server holds costs it ~8 KB of buffers,
// and with four idle ones allowed a node ended up holding three.
func TestNodeKeepsTwoConnections(t *testing.T) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	release := make(chan struct{})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		}
	}
	srv.Start()
	defer srv.Close()
	hc := httpClient(0, false)
	defer hc.CloseIdleConnections()
	get := func(path string) {
		resp, err := hc.Get(srv.URL + path)
		if err != nil {
			t.Error(err)
			return
		}
		_ = resp.Body.Close()
	}

	// The watch, and two short calls at once while it waits.
	watch := make(chan struct{})
	go func() { defer close(watch); get("/block") }()
	var short sync.WaitGroup
	for range 2 {
		short.Go(func() { get("/block") })
	}
	conns := func() int { mu.Lock(); defer mu.Unlock(); return len(open) }
	clienttest.WaitFor(t, 10*time.Second, "three connections", func() bool { return conns() == 3 })
	close(release)
	short.Wait()
	<-watch
	// The connections the transport keeps are closed on its side; the
	// server sees them go.
	clienttest.WaitFor(t, 10*time.Second, "no more than two connections", func() bool { return conns() <= 2 })
	get("/") // still works
}
