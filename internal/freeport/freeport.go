// Package freeport hands tests loopback ports to give an agent, a listener
// or a test CA before they start.
//
// A port from net.Listen(":0") comes from the kernel's ephemeral range
// (/proc/sys/net/ipv4/ip_local_port_range), the range every outgoing
// connection's local port and every other listener on port 0 also take
// theirs from. Between the test closing its probe and the agent binding
// the port, any of them could take it, and the agent failed to start with
// "address already in use" (the ingress tests: its HTTP listener on port 0
// took the HTTPS port just handed out, about 3 runs in 1,000). Ports below
// the ephemeral range are only ever taken by an explicit bind, so these
// come from there, at random (test binaries of several packages run at
// once), and never twice in one process.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
)

// Ports handed out are in [lowest, highest]: below lowest sit well-known
// and registered services a machine may run; above highest, the dynamic
// ports a test's agent hands its tasks (structs.MinDynamicPort).
const (
	lowest  = 10000
	highest = 19999
)

var (
	mu     sync.Mutex
	handed = map[int]bool{}
)

// TCP returns a loopback port that was free for TCP a moment ago and that
// no outgoing connection can take.
func TCP(tb testing.TB) int {
	tb.Helper()
	return pick(tb, false)
}

// TCPUDP returns a loopback port free for both TCP and UDP (serf gossips
// over both on one port).
func TCPUDP(tb testing.TB) int {
	tb.Helper()
	return pick(tb, true)
}

func pick(tb testing.TB, udp bool) int {
	tb.Helper()
	hi := min(ephemeralLow(), highest+1)
	mu.Lock()
	defer mu.Unlock()
	if hi-lowest < 1000 {
		// No room below the ephemeral range: take the kernel's choice.
		for range 100 {
			p, err := probe(0, udp)
			if err == nil && !handed[p] {
				handed[p] = true
				return p
			}
		}
		tb.Fatal("freeport: no free port from the kernel")
	}
	for range 200 {
		p := lowest + rand.IntN(hi-lowest)
		if handed[p] {
			continue
		}
		if _, err := probe(p, udp); err == nil {
			handed[p] = true
			return p
		}
	}
	tb.Fatalf("freeport: no free port in %d-%d after 200 tries", lowest, hi-1)
	return 0
}

// probe binds 127.0.0.1:port for TCP (and UDP) and releases it, returning
// the port bound.
func probe(port int, udp bool) (int, error) {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	port = l.Addr().(*net.TCPAddr).Port
	if udp {
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			return 0, err
		}
		u.Close()
	}
	return port, nil
}

// ephemeralLow is the lowest port of the kernel's ephemeral range
// (Linux's default 32768 when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low int
	if _, err := fmt.Sscan(strings.TrimSpace(string(b)), &low); err != nil || low <= 0 {
		return 32768
	}
	return low
}
