package client

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestRegisterHostNetworks: the node registers its host_network blocks and
// the addresses they match on this host (loopback's 127.0.0.1, which
// every host has), and not those of a block that matches nothing; a block
// without cidr or interface is refused when the client is created.
func TestRegisterHostNetworks(t *testing.T) {
	srv := clienttest.NewServer(t, 200*time.Millisecond)
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	nets := map[string]*structs.ClientHostNetworkConfig{
		"loop":    {Name: "loop", Interface: "lo", CIDR: "127.0.0.0/8", ReservedPorts: "22"},
		"nowhere": {Name: "nowhere", CIDR: "198.51.100.0/24"},
	}
	c, err := New(Config{DataDir: t.TempDir(), NodeName: "hn", Servers: []string{srv.URL()}, HTTPAddr: "127.0.0.1:4646",
		Drivers: []drivers.Driver{clienttest.NewDriver()}, Logger: logger, HostNetworks: nets})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer shutdown(t, c)
	clienttest.WaitFor(t, waitTimeout, "registration", func() bool { return srv.Node(c.NodeID()) != nil })
	n := srv.Node(c.NodeID())
	if len(n.HostNetworks) != 2 || n.HostNetworks["loop"] == nil || n.HostNetworks["loop"].Interface != "lo" {
		t.Errorf("node host networks %+v, want loop and nowhere as configured", n.HostNetworks)
	}
	a, ok := n.HostNetworkAddress("loop")
	if !ok || a.Address != "127.0.0.1" || a.ReservedPorts != "22" || a.Family != "ipv4" {
		t.Errorf("address of loop: %+v, %v; want 127.0.0.1 with reserved ports 22", a, ok)
	}
	if a, ok := n.HostNetworkAddress("nowhere"); ok {
		t.Errorf("address of nowhere: %+v, want none", a)
	}

	_, err = New(Config{DataDir: t.TempDir(), Servers: []string{srv.URL()}, Logger: logger,
		HostNetworks: map[string]*structs.ClientHostNetworkConfig{"bad": {Name: "bad", ReservedPorts: "22"}}})
	if err == nil || !strings.Contains(err.Error(), `host_network "bad" needs a cidr or an interface`) {
		t.Errorf("New with a host network without cidr or interface: %v", err)
	}
}
