package network

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestSweepStopsWhenCancelled: a Sweep whose teardowns are all busy (here:
// each allocation's lock is held, as by a setup in progress) starts no
// more once its ctx ends and returns when the running ones end, instead
// of waiting for a free slot for ever.
func TestSweepStopsWhenCancelled(t *testing.T) {
	m, err := New(Config{StateDir: t.TempDir(), CNIPath: t.TempDir(), CNIConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	var unlocks []func()
	for range sweepParallel + 1 {
		id := testAllocID()
		if err := os.WriteFile(filepath.Join(m.cfg.recordDir(), id+".json"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		unlocks = append(unlocks, m.lock(id))
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Sweep(ctx, func(string) bool { return false }) }()
	cancel()
	// The running teardowns end; the last allocation's lock stays held,
	// so a teardown started for it after the cancel would never return.
	for _, unlock := range unlocks[:sweepParallel] {
		unlock()
	}
	defer unlocks[sweepParallel]()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Sweep: %v, want the cancel reported", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Sweep started a teardown after its ctx ended (or waits for a slot for ever)")
	}
	if _, err := os.Stat(filepath.Join(m.cfg.recordDir(), ids[sweepParallel]+".json")); err != nil {
		t.Fatalf("the record of the allocation not torn down: %v", err)
	}
}

// TestSweepPoolKeepsEntryOfUnreadableClaimant: a pooled entry claimed by
// an allocation whose record cannot be read may be that allocation's
// network: the Sweep releases nothing of it, keeps its file and says so.
func TestSweepPoolKeepsEntryOfUnreadableClaimant(t *testing.T) {
	m, err := New(Config{StateDir: t.TempDir(), CNIPath: t.TempDir(), CNIConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a1 := testAllocID()
	if err := os.WriteFile(m.recordPath(a1), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	id := "pool-" + m.cfg.BridgeName + "-0123456789ab"
	if err := m.writePoolEntry(&poolEntry{ID: id, NetNS: netnsPath(id), ConfList: m.bridge.Bytes, Claim: a1}); err != nil {
		t.Fatal(err)
	}
	if err := m.Sweep(context.Background(), func(id string) bool { return id == a1 }); err == nil || !strings.Contains(err.Error(), m.poolFile(id)) {
		t.Fatalf("Sweep: %v, want the entry reported with its file", err)
	}
	if _, err := os.Stat(m.poolFile(id)); err != nil {
		t.Fatalf("the entry's pool file: %v, want it kept", err)
	}
}

// TestSweepPoolRemovesAHalfMadeMoveTarget: a client killed during a
// claim's move, after creating the file at the claimant's namespace path
// but before mounting the pooled namespace on it, leaves an empty file
// there; the next Sweep removes it with the entry, or every later setup
// of that allocation would find its path taken.
func TestSweepPoolRemovesAHalfMadeMoveTarget(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root (/var/run/netns)")
	}
	m, err := New(Config{StateDir: t.TempDir(), CNIPath: t.TempDir(), CNIConfigDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	a1 := testAllocID()
	id := "pool-" + m.cfg.BridgeName + "-" + a1[:12]
	if err := os.MkdirAll(NetNSDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(netnsPath(a1), nil, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Remove(netnsPath(a1)) })
	// The entry's plugins cannot be found (an empty cni_path): its DEL
	// fails and its file stays, but the half-made target goes.
	if err := m.writePoolEntry(&poolEntry{ID: id, NetNS: netnsPath(id), ConfList: m.bridge.Bytes, Claim: a1}); err != nil {
		t.Fatal(err)
	}
	_ = m.Sweep(context.Background(), func(string) bool { return false })
	if _, err := os.Lstat(netnsPath(a1)); !os.IsNotExist(err) {
		t.Fatalf("the empty file at the claimant's path: %v, want it removed", err)
	}
}

// TestRestartAfterKilledDuringAttach: a client killed during a setup's
// first plugins (its record written, the namespace made, the interface
// and address perhaps given, but not yet recorded) restarts and sets the
// allocation up again: Setup gives it a network with an address and
// files (it returned the record's empty result, which the allocation
// runner read as a nil Status and panicked on, at every restart), and
// what the killed setup made is released first (one lease, one veth),
// as the teardown releases everything, counted.
func TestRestartAfterKilledDuringAttach(t *testing.T) {
	m := testManager(t)
	if err := m.EnsureEgressGuard(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := testAllocID()
	before := countHost(t, m, a)
	// What Setup has done when it is killed in attach, after its
	// plugins' ADD: the record without a result, the namespace attached.
	rec := &record{AllocID: a, Mode: structs.NetworkModeBridge, ConfList: m.bridge.Bytes, Runtime: runtimeConf{NetNS: netnsPath(a), IfName: ifName}}
	if err := os.MkdirAll(m.filesDir(a), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.writeRecord(rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Teardown(ctx, a) })
	if _, err := m.attach(ctx, m.bridge, bridgeRest, rec, Request{AllocID: a, Mode: structs.NetworkModeBridge}); err != nil {
		t.Fatal(err)
	}
	m2, err := New(m.cfg) // the restarted client
	if err != nil {
		t.Fatal(err)
	}
	res, err := m2.Setup(ctx, Request{AllocID: a, Mode: structs.NetworkModeBridge})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == nil || res.Status.Address == "" || res.Isolation == nil || res.Isolation.Path != netnsPath(a) {
		t.Fatalf("Setup after a setup killed half-way: %+v, want the allocation's address and namespace", res)
	}
	if err := res.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(res.Isolation.ResolvConf); err != nil {
		t.Fatalf("resolv.conf: %v", err)
	}
	if got := countHost(t, m, a); got.netns != before.netns+1 || got.veth != before.veth+1 || got.leases != before.leases+1 {
		t.Fatalf("set up again: %+v, before: %+v (want one namespace, veth and lease)", got, before)
	}
	if err := m2.Teardown(ctx, a); err != nil {
		t.Fatal(err)
	}
	if after := countHost(t, m, a); after != before {
		t.Fatalf("after teardown: %+v, before: %+v", after, before)
	}
}
