package client

import (
	"log/slog"
	"strings"
	"testing"
)

// TestSetServers: the given servers replace the list, the first in use;
// they stay behind the servers the cluster reports later.
func TestSetServers(t *testing.T) {
	c, err := NewSession(SessionConfig{Servers: []string{"http://a:4646"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetServers([]string{"b:4646", "http://c:4646/", "b:4646"}); err != nil {
		t.Fatalf("SetServers: %v", err)
	}
	if got := strings.Join(c.Servers(), " "); got != "http://b:4646 http://c:4646" {
		t.Fatalf("after SetServers: %s", got)
	}
	c.updateServers([]string{"d:4646"})
	// The list is now d, b, c (reported, then set); b stays current.
	if got := strings.Join(c.Servers(), " "); got != "http://b:4646 http://c:4646 http://d:4646" {
		t.Fatalf("after a heartbeat reply: %s, want b still in use, the reported d added and the configured a gone", got)
	}
	if err := c.SetServers([]string{" ", ""}); err == nil {
		t.Fatal("SetServers with no address: no error")
	}
}
