package network

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// BenchmarkBridgeSetup measures what bridge mode adds to an allocation's
// start over host networking: creating its namespace and running the CNI
// plugins (loopback, bridge, host-local, firewall, portmap with one mapped
// port). Teardown is measured separately (reported as teardown-ms/op).
func BenchmarkBridgeSetup(b *testing.B) {
	m := benchManager(b)
	ctx := context.Background()
	var teardown time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := fmt.Sprintf("0b5e6a1c-0000-4000-8000-%012d", i)
		if _, err := m.Setup(ctx, Request{AllocID: id, Mode: "bridge",
			Ports: []structs.PortMapping{{Label: "http", Value: 40000 + i%1000, To: 80}}}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		start := time.Now()
		if err := m.Teardown(ctx, id); err != nil {
			b.Fatal(err)
		}
		teardown += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(teardown.Milliseconds())/float64(b.N), "teardown-ms/op")
}
