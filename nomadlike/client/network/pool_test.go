package network

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"

	"github.com/nomadlike/nomadlike/internal/freeport"
)

// poolManager is testManager with a warm pool of size n, closed when the
// test ends (before its bridge is removed).
func poolManager(t *testing.T, n int) *Manager {
	t.Helper()
	base := testManager(t)
	cfg := base.cfg
	cfg.PoolSize = n
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(context.Background()); err != nil {
			t.Errorf("close the pool: %v", err)
		}
	})
	if err := m.EnsureEgressGuard(); err != nil {
		t.Fatal(err)
	}
	return m
}

// poolNetNS counts the pool's namespaces of m's bridge on the host.
func poolNetNS(m *Manager) int {
	n := 0
	es, _ := os.ReadDir(NetNSDir)
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "nomadlike-pool-"+m.cfg.BridgeName+"-") {
			n++
		}
	}
	return n
}

// waitPoolFull waits until m's pool has n ready entries and its filler
// has stopped.
func waitPoolFull(t *testing.T, m *Manager, n int) {
	t.Helper()
	var ready int
	var filling bool
	waitUntil(t, func() string {
		return fmt.Sprintf("the pool has %d ready entries (filling: %v), want %d", ready, filling, n)
	}, func() bool {
		m.pool.mu.Lock()
		ready, filling = len(m.pool.ready), m.pool.filling
		m.pool.mu.Unlock()
		return ready == n && !filling
	})
}

// waitUntil polls cond until it holds, failing with what() after a minute.
func waitUntil(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(what())
		}
	}
}

// TestWarmPool: the first bridge allocation fills the pool; the next one
// takes a pooled namespace (moved to its own path, only portmap run for
// it), whose egress is blocked and whose mapped port serves; it is
// re-attached as any other; its teardown and the pool's Close leave
// nothing behind, counted.
func TestWarmPool(t *testing.T) {
	m := poolManager(t, 2)
	ctx := context.Background()
	a1, a2 := testAllocID(), testAllocID()
	before := countHost(t, m, a1, a2)
	if _, err := m.Setup(ctx, Request{AllocID: a1, Mode: "bridge"}); err != nil {
		t.Fatal(err)
	}
	waitPoolFull(t, m, 2)
	if got := countHost(t, m, a1, a2); poolNetNS(m) != 2 || got.veth != before.veth+3 || got.leases != before.leases+3 {
		t.Fatalf("with one allocation and a full pool of 2: %+v (%d pool namespaces), before: %+v", got, poolNetNS(m), before)
	}
	port := freeport.TCP(t)
	res, err := m.Setup(ctx, Request{AllocID: a2, Mode: "bridge", Ports: []structs.PortMapping{{Label: "http", Value: port, To: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := m.readRecord(a2)
	if err != nil || rec.Runtime.HeadID == "" || rec.Runtime.Head != poolHead || rec.Rest != 0 {
		t.Fatalf("the second allocation's record: %+v %v (want a pooled namespace, set up completely)", rec, err)
	}
	if res.Isolation.Path != netnsPath(a2) || !isNetNS(res.Isolation.Path) {
		t.Fatalf("namespace %s: want one at %s", res.Isolation.Path, netnsPath(a2))
	}
	if _, err := os.Stat(m.poolFile(rec.Runtime.HeadID)); !os.IsNotExist(err) {
		t.Fatalf("the claimed entry's pool file is still there (%v)", err)
	}
	egressBlockedAndPortServes(t, m, res, port)
	waitPoolFull(t, m, 2)
	during := countHost(t, m, a1, a2)
	if during.netns != before.netns+2 || during.veth != before.veth+4 || during.leases != before.leases+4 || during.chains != before.chains+1 {
		t.Fatalf("two allocations and a full pool: %+v, before: %+v", during, before)
	}
	// A restarted client re-attaches to the pooled allocation's network.
	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	again, err := m2.Setup(ctx, Request{AllocID: a2, Mode: "bridge"})
	if err != nil || again.Status.Address != res.Status.Address {
		t.Fatalf("re-attach: %+v %v", again, err)
	}
	for _, id := range []string{a1, a2} {
		if err := m.Teardown(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, a1, a2); after != before || poolNetNS(m) != 0 {
		t.Fatalf("after the teardowns and Close: %+v (%d pool namespaces), before: %+v", after, poolNetNS(m), before)
	}
	if es, _ := os.ReadDir(m.cfg.poolDir()); len(es) > 0 {
		t.Fatalf("pool files left: %d", len(es))
	}
}

// TestWarmPoolAfterCrash: a client killed with a full pool, one entry
// half claimed (its namespace moved, no allocation record yet) and one
// claimed but its file not yet removed: the next client's Sweep releases
// the pool and the half claim, keeps the claimed allocation's network,
// and then nothing is left once that allocation is torn down, counted.
func TestWarmPoolAfterCrash(t *testing.T) {
	m := poolManager(t, 2)
	ctx := context.Background()
	a1, a2, a3 := testAllocID(), testAllocID(), testAllocID()
	before := countHost(t, m, a1, a2, a3)
	if _, err := m.Setup(ctx, Request{AllocID: a1, Mode: "bridge"}); err != nil {
		t.Fatal(err)
	}
	waitPoolFull(t, m, 2)
	res, err := m.Setup(ctx, Request{AllocID: a2, Mode: "bridge", Ports: []structs.PortMapping{{Label: "http", Value: freeport.TCP(t), To: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitPoolFull(t, m, 2)
	// Killed after a2's record was written, before its entry's file went.
	rec, err := m.readRecord(a2)
	if err != nil || rec.Runtime.HeadID == "" {
		t.Fatalf("a2's record: %+v %v", rec, err)
	}
	if err := m.writePoolEntry(&poolEntry{ID: rec.Runtime.HeadID, NetNS: netnsPath(rec.Runtime.HeadID), ConfList: rec.ConfList, Claim: a2}); err != nil {
		t.Fatal(err)
	}
	// Killed half-way through a claim for a3: moved, no record.
	m.pool.mu.Lock()
	e := m.pool.ready[0]
	m.pool.ready = m.pool.ready[1:]
	m.pool.mu.Unlock()
	e.Claim = a3
	if err := m.writePoolEntry(e); err != nil {
		t.Fatal(err)
	}
	if err := moveNetNS(e.NetNS, netnsPath(a3)); err != nil {
		t.Fatal(err)
	}
	// The killed client's state: m is abandoned (its pool never closed).
	m.pool.mu.Lock()
	m.pool.ready, m.pool.closed = nil, true
	m.pool.mu.Unlock()

	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Sweep(ctx, func(id string) bool { return id == a2 }); err != nil {
		t.Fatal(err)
	}
	got := countHost(t, m2, a1, a2, a3)
	if poolNetNS(m2) != 0 || got.netns != before.netns+1 || got.veth != before.veth+1 || got.leases != before.leases+1 || got.chains != before.chains+1 {
		t.Fatalf("after the sweep (a2 kept): %+v (%d pool namespaces), before: %+v", got, poolNetNS(m2), before)
	}
	if es, _ := os.ReadDir(m2.cfg.poolDir()); len(es) > 0 {
		t.Fatalf("pool files left after the sweep: %d", len(es))
	}
	if again, err := m2.Setup(ctx, Request{AllocID: a2, Mode: "bridge"}); err != nil || again.Status.Address != res.Status.Address {
		t.Fatalf("re-attach a2: %+v %v", again, err)
	}
	if err := m2.Teardown(ctx, a2); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m2, a1, a2, a3); after != before {
		t.Fatalf("after a2's teardown: %+v, before: %+v", after, before)
	}
}

// TestSweepPoolSparesClaimantsOwnNamespace: a pooled entry's file names a
// claimant whose record is not the entry's (an earlier Sweep released the
// half claim but could not remove the file, and the allocation then set
// up a namespace of its own at the same path): the next Sweep releases
// the entry without touching the allocation's namespace or interface.
func TestSweepPoolSparesClaimantsOwnNamespace(t *testing.T) {
	m := testManager(t)
	ctx := context.Background()
	a1 := testAllocID()
	before := countHost(t, m, a1)
	setupWait(t, m, Request{AllocID: a1, Mode: "bridge"})
	t.Cleanup(func() { _ = m.Teardown(ctx, a1) })
	id := "pool-" + m.cfg.BridgeName + "-0123456789ab"
	if err := m.writePoolEntry(&poolEntry{ID: id, NetNS: netnsPath(id), ConfList: m.bridge.Bytes, Claim: a1}); err != nil {
		t.Fatal(err)
	}
	m2, err := New(m.cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := m2.Sweep(ctx, func(id string) bool { return id == a1 }); err != nil {
		t.Fatal(err)
	}
	if got := countHost(t, m2, a1); !isNetNS(netnsPath(a1)) || got.netns != before.netns+1 || got.veth != before.veth+1 {
		t.Fatalf("after the sweep: %+v, before: %+v: the allocation's namespace or interface went with the stale pool entry", got, before)
	}
	if _, err := os.Stat(m2.poolFile(id)); !os.IsNotExist(err) {
		t.Fatalf("the stale entry's pool file is still there (%v)", err)
	}
}

// TestClaimSparesATakenPath: a pooled namespace claimed for an allocation
// whose namespace path is already taken (here by a namespace the test
// made, as another client process using the same allocation ID would)
// fails to move there; the claim's cleanup releases the pooled entry
// (its namespace, interface and lease) but leaves the path's namespace
// to its owner.
//
// With the setup's ctx cancelled (its allocation stopped while it
// started) the entry is released all the same: no record names it, so
// neither the allocation's teardown nor anything before the client's
// next start would.
func TestClaimSparesATakenPath(t *testing.T) {
	t.Run("live", func(t *testing.T) { testClaimSparesATakenPath(t, false) })
	t.Run("cancelled", func(t *testing.T) { testClaimSparesATakenPath(t, true) })
}

func testClaimSparesATakenPath(t *testing.T, cancelled bool) {
	m := poolManager(t, 1)
	ctx := context.Background()
	a1, a2 := testAllocID(), testAllocID()
	before := countHost(t, m, a1, a2)
	setupWait(t, m, Request{AllocID: a1, Mode: "bridge"})
	t.Cleanup(func() { _ = m.Teardown(ctx, a1) })
	waitPoolFull(t, m, 1)
	if err := createNetNS(netnsPath(a2)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = removeNetNS(netnsPath(a2)) })
	sctx, cancel := context.WithCancel(ctx)
	if cancelled {
		cancel()
	}
	defer cancel()
	if _, err := m.Setup(sctx, Request{AllocID: a2, Mode: "bridge"}); err == nil {
		t.Fatal("Setup into a taken namespace path succeeded")
	}
	if !isNetNS(netnsPath(a2)) {
		t.Fatal("the failed claim removed the namespace at the allocation's path, which was not the pooled entry's")
	}
	waitPoolIdle(t, m)
	m.pool.mu.Lock()
	ready := len(m.pool.ready)
	m.pool.mu.Unlock()
	// a1's network, a2's path's namespace (no interface) and the pool's
	// ready entries: nothing of the failed claim's entry.
	if got := countHost(t, m, a1, a2); got.netns != before.netns+2 || got.veth != before.veth+1+ready || got.leases != before.leases+1+ready || poolNetNS(m) != ready {
		t.Fatalf("after the failed claim: %+v (%d pool namespaces, %d ready), before: %+v", got, poolNetNS(m), ready, before)
	}
	if es, _ := os.ReadDir(m.cfg.poolDir()); len(es) != ready {
		t.Fatalf("%d pool files, want the %d ready entries'", len(es), ready)
	}
	if _, err := os.Stat(m.filesDir(a2)); !os.IsNotExist(err) {
		t.Fatalf("the failed setup's files dir: %v, want it removed", err)
	}
}

// waitPoolIdle waits until m's pool filler has stopped.
func waitPoolIdle(t *testing.T, m *Manager) {
	t.Helper()
	waitUntil(t, func() string { return "the pool's filler still runs" }, m.PoolIdle)
}

// TestSetupSparesATakenPath: the same without the pool: a setup whose
// namespace path is taken fails without a DEL in that namespace (which
// would remove its owner's interface) or removing it.
func TestSetupSparesATakenPath(t *testing.T) {
	m := testManager(t)
	ctx := context.Background()
	owner, a1 := testAllocID(), testAllocID()
	setupWait(t, m, Request{AllocID: owner, Mode: "bridge"})
	t.Cleanup(func() { _ = m.Teardown(ctx, owner) })
	// a1's path bind-mounts owner's namespace, as another process's
	// allocation of the same ID would hold one.
	if err := moveNetNS(netnsPath(owner), netnsPath(a1)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = moveNetNS(netnsPath(a1), netnsPath(owner)) })
	before := countHost(t, m, owner, a1)
	if _, err := m.Setup(ctx, Request{AllocID: a1, Mode: "bridge"}); !errors.Is(err, errPathTaken) {
		t.Fatalf("Setup into a taken namespace path: %v, want errPathTaken", err)
	}
	if after := countHost(t, m, owner, a1); !isNetNS(netnsPath(a1)) || after != before {
		t.Fatalf("after the failed setup: %+v, before: %+v (the namespace at the taken path, or its interface, went)", after, before)
	}
	if ids, _ := m.Attached(); len(ids) != 1 {
		t.Fatalf("records: %v, want only the owner's", ids)
	}
}

// TestCloseStopsTheEntryBeingMade: Close while the pool's filler makes an
// entry whose firewall plugin hangs (after adding its rules) kills the
// plugin instead of waiting for the entry's minute-long bound, and tears
// the entry down: no namespace, interface, lease or rule of it is left,
// counted.
func TestCloseStopsTheEntryBeingMade(t *testing.T) {
	mark := filepath.Join(t.TempDir(), "firewall-hangs")
	// For the pool's entries only: the allocation's own firewall is the
	// real one.
	script := "#!/bin/sh\nif [ \"$CNI_COMMAND\" = ADD ] && [ \"${CNI_CONTAINERID#pool-}\" != \"$CNI_CONTAINERID\" ]; then\n" +
		"  /usr/lib/cni/firewall >/dev/null || exit 1\n  touch " + mark + "\n  exec sleep 600\nfi\nexec /usr/lib/cni/firewall\n"
	base := managerWithFirewall(t, script)
	cfg := base.Config()
	cfg.PoolSize = 1
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a1 := testAllocID()
	before := countHost(t, m, a1)
	setupWait(t, m, Request{AllocID: a1, Mode: "bridge"})
	waitUntil(t, func() string { return "the pool's filler never reached its firewall plugin" }, func() bool {
		_, err := os.Stat(mark)
		return err == nil
	})
	if got := countHost(t, m, a1); got.veth != before.veth+2 || got.leases != before.leases+2 || poolNetNS(m) != 1 {
		t.Fatalf("with the entry's firewall hanging: %+v (%d pool namespaces), before a1: %+v (want a1's and the entry's)", got, poolNetNS(m), before)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := m.Close(cctx); err != nil {
		t.Fatalf("Close: %v (it waited for the entry being made)", err)
	}
	if got := countHost(t, m, a1); got.netns != before.netns+1 || got.veth != before.veth+1 || got.leases != before.leases+1 || poolNetNS(m) != 0 {
		t.Fatalf("after Close: %+v (%d pool namespaces), before a1: %+v (want a1's only)", got, poolNetNS(m), before)
	}
	if es, _ := os.ReadDir(m.cfg.poolDir()); len(es) > 0 {
		t.Fatalf("pool files left: %d", len(es))
	}
	if err := m.Teardown(ctx, a1); err != nil {
		t.Fatal(err)
	}
	// The entry's firewall rules, added before its plugin hung, went too.
	if after := countHost(t, m, a1); after != before {
		t.Fatalf("after a1's teardown: %+v, before: %+v", after, before)
	}
}

// setupWait sets up req's network on m and waits until it is complete.
func setupWait(t *testing.T, m *Manager, req Request) *Result {
	t.Helper()
	res, err := m.Setup(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	return res
}

// TestNoPortmapWithoutPorts: a bridge allocation that maps no port runs
// no portmap plugin (whose ADD and DEL would do nothing but start a
// process), pooled or not; its network is complete when Setup returns
// from the pool. One that maps a port runs it for its setup and its
// teardown. Nothing is left behind, counted.
func TestNoPortmapWithoutPorts(t *testing.T) {
	calls := filepath.Join(t.TempDir(), "portmap-calls")
	base := testManager(t)
	dir := t.TempDir()
	for _, p := range []string{"loopback", "bridge", "host-local", "firewall"} {
		if err := os.Symlink(filepath.Join("/usr/lib/cni", p), filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	script := "#!/bin/sh\necho \"$CNI_COMMAND $CNI_CONTAINERID\" >> " + calls + "\nexec /usr/lib/cni/portmap\n"
	if err := os.WriteFile(filepath.Join(dir, "portmap"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := base.Config()
	cfg.CNIPath, cfg.PoolSize = dir, 1
	cfg.GatewayDNS = func(gw net.IP) (string, error) { return gw.String(), nil }
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(context.Background()) })
	ctx := context.Background()
	plain, pooled, mapped := testAllocID(), testAllocID(), testAllocID()
	t.Cleanup(func() { // before Close, if the test stops early
		for _, id := range []string{plain, pooled, mapped} {
			_ = m.Teardown(ctx, id)
		}
	})
	before := countHost(t, m, plain, pooled, mapped)
	setupWait(t, m, Request{AllocID: plain, Mode: "bridge"}) // not pooled: the pool fills after it
	waitPoolFull(t, m, 1)
	res, err := m.Setup(ctx, Request{AllocID: pooled, Mode: "bridge"})
	if err != nil {
		t.Fatal(err)
	}
	if res.rest != nil {
		t.Fatal("a pooled allocation without ports has a background part")
	}
	if rec, err := m.readRecord(pooled); err != nil || rec.Runtime.HeadID == "" || rec.Rest != 0 {
		t.Fatalf("record: %+v %v (want a pooled namespace, complete)", rec, err)
	}
	// Complete without portmap: it resolves through the gateway's DNS
	// server and its egress is guarded, as any bridge allocation.
	if dns := res.Status.DNS; dns == nil || len(dns.Servers) != 1 || !strings.HasSuffix(dns.Servers[0], ".1") {
		t.Fatalf("DNS of a pooled allocation without ports: %+v, want the gateway's", dns)
	}
	if b, err := os.ReadFile(res.Isolation.ResolvConf); err != nil || !strings.Contains(string(b), "nameserver "+res.Status.DNS.Servers[0]+"\n") {
		t.Fatalf("resolv.conf: %q %v", b, err)
	}
	egressBlocked(t, m, res)
	waitPoolFull(t, m, 1) // refilled without a finish
	for _, id := range []string{plain, pooled} {
		if err := m.Teardown(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(calls); len(b) > 0 {
		t.Fatalf("portmap ran for allocations without ports:\n%s", b)
	}
	setupWait(t, m, Request{AllocID: mapped, Mode: "bridge", Ports: []structs.PortMapping{{Label: "http", Value: freeport.TCP(t), To: 80}}})
	if err := m.Teardown(ctx, mapped); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(calls); string(b) != "ADD "+mapped+"\nDEL "+mapped+"\n" {
		t.Fatalf("portmap calls for an allocation with a port:\n%s", b)
	}
	if err := m.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, plain, pooled, mapped); after != before || poolNetNS(m) != 0 {
		t.Fatalf("after: %+v (%d pool namespaces), before: %+v", after, poolNetNS(m), before)
	}
}
