package freeport

import (
	"fmt"
	"net"
	"testing"
)

// TestPortsBelowEphemeralRange: ports handed out are bindable, below the
// kernel's ephemeral range and the tasks' dynamic ports, and never the
// same twice.
func TestPortsBelowEphemeralRange(t *testing.T) {
	low := min(ephemeralLow(), highest+1)
	seen := map[int]bool{}
	for i := range 50 {
		p := TCP(t)
		if i%2 == 0 {
			p = TCPUDP(t)
		}
		if seen[p] {
			t.Fatalf("port %d handed out twice", p)
		}
		seen[p] = true
		if low-lowest >= 1000 && (p < lowest || p >= low) {
			t.Fatalf("port %d outside %d-%d", p, lowest, low-1)
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatalf("port %d not bindable: %v", p, err)
		}
		l.Close()
	}
}

// TestBusyPortSkipped: a port someone listens on is never handed out.
func TestBusyPortSkipped(t *testing.T) {
	p := TCP(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mu.Lock()
	delete(handed, p) // as if another process had handed it out
	mu.Unlock()
	if _, err := probe(p, false); err == nil {
		t.Fatalf("probe of busy port %d succeeded", p)
	}
}
