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
// port). ns/op is Setup (what a task waits for before its prestart hooks:
// namespace, interface, address); complete-ms/op is Setup and Wait (the
// firewall and port mappings too, which a task waits for before it is
// reported running). Teardown is measured separately (teardown-ms/op).
func BenchmarkBridgeSetup(b *testing.B) {
	benchSetup(b, func(i int) []structs.PortMapping {
		return []structs.PortMapping{{Label: "http", Value: 40000 + i%1000, To: 80}}
	})
}

// BenchmarkBridgeSetupRange is BenchmarkBridgeSetup with a port range of
// count ports (one portmap entry per port and protocol): what a range adds.
func BenchmarkBridgeSetupRange(b *testing.B) {
	for _, count := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("count=%d", count), func(b *testing.B) {
			benchSetup(b, func(int) []structs.PortMapping {
				return []structs.PortMapping{{Label: "rtp", Value: 41000, To: 10000, Count: count}}
			})
		})
	}
}

// benchSetup sets up and tears down one allocation's bridge network per
// iteration with the ports of iteration i.
func benchSetup(b *testing.B, ports func(i int) []structs.PortMapping) {
	m := benchManager(b)
	ctx := context.Background()
	var complete, teardown time.Duration
	b.ResetTimer()
	for i := range b.N {
		id := testAllocID()
		start := time.Now()
		res, err := m.Setup(ctx, Request{AllocID: id, Mode: "bridge", Ports: ports(i)})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := res.Wait(ctx); err != nil {
			b.Fatal(err)
		}
		complete += time.Since(start)
		start = time.Now()
		if err := m.Teardown(ctx, id); err != nil {
			b.Fatal(err)
		}
		teardown += time.Since(start)
		b.StartTimer()
	}
	b.ReportMetric(float64(complete.Milliseconds())/float64(b.N), "complete-ms/op")
	b.ReportMetric(float64(teardown.Milliseconds())/float64(b.N), "teardown-ms/op")
}
