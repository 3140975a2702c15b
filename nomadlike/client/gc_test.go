package client

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/client/clienttest"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

func runBatch(t *testing.T, srv *clienttest.Server, c *Client, script string) *structs.Allocation {
	t.Helper()
	a := testAlloc(c.NodeID(), structs.JobTypeBatch, clienttest.DriverName, sh(script), nil)
	srv.AddAlloc(a)
	clienttest.WaitFor(t, waitTimeout, "the batch allocation to complete", func() bool {
		cur := srv.Alloc(a.ID)
		return cur != nil && cur.ClientStatus == structs.AllocClientStatusComplete
	})
	clienttest.WaitFor(t, waitTimeout, "the allocation's runner to finish", func() bool {
		e, err := c.entry(a.ID)
		if err != nil {
			return false
		}
		select {
		case <-e.done:
			return true
		default:
			return false
		}
	})
	return a
}

func TestGCAllocRemovesDirAndAnswersLogs(t *testing.T) {
	srv := clienttest.NewServer(t, time.Second)
	dataDir := t.TempDir()
	c := newClient(t, srv, dataDir, clienttest.NewDriver())
	defer shutdown(t, c)

	running := testAlloc(c.NodeID(), structs.JobTypeService, clienttest.DriverName, sh("sleep 100"), nil)
	srv.AddAlloc(running)
	a := runBatch(t, srv, c, "echo done")
	dir := filepath.Join(dataDir, "alloc", a.ID)
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("alloc dir before GC: %v", err)
	}
	stateDir := filepath.Join(dataDir, "client", "tasks", a.ID)
	if _, err := os.Stat(stateDir); err != nil {
		t.Fatalf("task state dir before GC: %v", err)
	}
	clienttest.WaitFor(t, waitTimeout, "the service allocation to run", func() bool {
		cur := srv.Alloc(running.ID)
		return cur != nil && cur.ClientStatus == structs.AllocClientStatusRunning
	})
	var ce *structs.CodedError
	if err := c.GCAlloc(context.Background(), running.ID); !errors.As(err, &ce) || ce.Code != http.StatusBadRequest {
		t.Errorf("GCAlloc of a running allocation = %v, want a 400", err)
	}

	if err := c.GCAlloc(context.Background(), a.ID); err != nil {
		t.Fatalf("GCAlloc: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("alloc dir after GC: stat = %v, want it gone", err)
	}
	if _, err := os.Stat(stateDir); !os.IsNotExist(err) {
		t.Errorf("task state dir %s after GC: stat = %v, want it gone (it leaked two empty dirs per allocation)", stateDir, err)
	}
	if err := c.GCAlloc(context.Background(), a.ID); err != nil {
		t.Errorf("second GCAlloc = %v, want nil (already collected)", err)
	}
	// Its logs were retained (logs_retention is on by default).
	var got strings.Builder
	err := c.StreamLogs(context.Background(), a.ID, "web", "stdout", "start", 0, false, func(f *api.StreamFrame) error { got.Write(f.Data); return nil })
	if err != nil || got.String() != "done\n" {
		t.Errorf("retained logs of a collected allocation = %q, %v; want \"done\\n\"", got.String(), err)
	}
	if at, _, ok := c.RetainedLogs(a.ID); !ok || at.IsZero() {
		t.Errorf("RetainedLogs(%s) = %v, %v; want retained", a.ID, at, ok)
	}
	// Without retention (or once pruned) the answer is a 404 saying why.
	os.RemoveAll(filepath.Join(dataDir, "retained_logs", a.ID))
	err = c.StreamLogs(context.Background(), a.ID, "web", "stdout", "start", 0, false, func(*api.StreamFrame) error { return nil })
	if !errors.As(err, &ce) || ce.Code != http.StatusNotFound || !strings.Contains(err.Error(), "garbage collected") {
		t.Errorf("logs of a collected allocation = %v, want a 404 saying it was garbage collected", err)
	}
	// The server still lists it as terminal: the client must not run it again.
	srv.StopAlloc(running.ID)
	clienttest.WaitFor(t, waitTimeout, "the stopped service allocation to finish", func() bool {
		return srv.Alloc(running.ID).ClientStatus == structs.AllocClientStatusComplete
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("collected alloc dir came back: %v", err)
	}
}

func TestPeriodicGCMaxAllocsAndDiskThreshold(t *testing.T) {
	srv := clienttest.NewServer(t, time.Second)
	dataDir := t.TempDir()
	c := newClient(t, srv, dataDir, clienttest.NewDriver())
	defer shutdown(t, c)
	first := runBatch(t, srv, c, "echo one")
	second := runBatch(t, srv, c, "echo two")

	c.collectGarbage(GCConfig{MaxAllocs: 1, DiskUsageThreshold: 100, InodeUsageThreshold: 100})
	if _, err := os.Stat(filepath.Join(dataDir, "alloc", first.ID)); !os.IsNotExist(err) {
		t.Errorf("oldest terminal alloc dir: stat = %v, want it gone", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "alloc", second.ID)); err != nil {
		t.Errorf("newest terminal alloc dir: %v, want it kept", err)
	}
	// Any disk usage is above a tiny threshold: the rest goes.
	c.collectGarbage(GCConfig{MaxAllocs: 50, DiskUsageThreshold: 1e-9, InodeUsageThreshold: 100})
	if _, err := os.Stat(filepath.Join(dataDir, "alloc", second.ID)); !os.IsNotExist(err) {
		t.Errorf("alloc dir with the disk above the threshold: stat = %v, want it gone", err)
	}
	third := runBatch(t, srv, c, "echo three")
	if err := c.GC(context.Background()); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "alloc", third.ID)); !os.IsNotExist(err) {
		t.Errorf("alloc dir after a full GC: stat = %v, want it gone", err)
	}
}
