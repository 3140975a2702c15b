package client

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
)

func TestUpdateServers(t *testing.T) {
	tests := []struct {
		name       string
		configured []string
		current    int // index of the server in use
		reported   []string
		want       []string // Servers(): the one in use first
	}{
		{
			name:       "empty report keeps the list",
			configured: []string{"http://a:4646", "http://b:4646"},
			want:       []string{"http://a:4646", "http://b:4646"},
		},
		{
			name:       "reported servers come first, configured ones stay as fallback",
			configured: []string{"http://a:4646"},
			reported:   []string{"b:4646", "c:4646"},
			want:       []string{"http://a:4646", "http://b:4646", "http://c:4646"},
		},
		{
			name:       "duplicates and URLs are merged; the current server stays current",
			configured: []string{"http://a:4646", "http://b:4646"},
			current:    1,
			reported:   []string{"a:4646", "http://b:4646/", "c:4646"},
			want:       []string{"http://b:4646", "http://c:4646", "http://a:4646"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewSession(SessionConfig{Servers: tc.configured, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			c.serverIdx = tc.current
			c.updateServers(tc.reported)
			got := c.Servers()
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// TestClientFailsOverToAnotherServer gives the client a dead server first:
// it must register with the second one.
func TestClientFailsOverToAnotherServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + l.Addr().String()
	l.Close() // nothing listens there any more
	srv := clienttest.NewServer(t, time.Second)
	c, err := New(Config{
		DataDir: t.TempDir(), NodeName: "failover-node", Servers: []string{dead, srv.URL()}, HTTPAddr: "127.0.0.1:4646",
		Drivers: []drivers.Driver{clienttest.NewDriver()}, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer shutdown(t, c)
	select {
	case <-c.sess.Registered():
	case <-time.After(waitTimeout):
		t.Fatalf("the client did not register with the live server within %s (servers %v)", waitTimeout, c.Servers())
	}
	if got := c.Servers()[0]; got != srv.URL() {
		t.Errorf("server in use after failover: got %s, want %s", got, srv.URL())
	}
}
