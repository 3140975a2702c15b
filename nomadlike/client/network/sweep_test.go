package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
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
	for i := range sweepParallel + 1 {
		id := fmt.Sprintf("0b5e6a1c-0000-4000-8000-0000000000%02d", i)
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
