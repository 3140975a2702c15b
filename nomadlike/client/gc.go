package client

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// maxGCedRemembered bounds how many collected allocation IDs the client
// remembers (to answer "garbage collected" and never restart one).
const maxGCedRemembered = 4096

// allocGC remembers which allocations this client destroyed. The zero
// value is ready to use.
type allocGC struct {
	mu    sync.Mutex
	ids   map[string]bool
	order []string
	// pass serialises collections (the periodic one and requested ones).
	pass sync.Mutex
}

func (g *allocGC) mark(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.ids == nil {
		g.ids = map[string]bool{}
	}
	if g.ids[id] {
		return
	}
	g.ids[id] = true
	g.order = append(g.order, id)
	if len(g.order) > maxGCedRemembered {
		delete(g.ids, g.order[0])
		g.order = g.order[1:]
	}
}

func (g *allocGC) collected(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ids[id]
}

// gcCandidate is a terminal allocation whose runner has finished.
type gcCandidate struct {
	id       string
	entry    *allocEntry
	finished time.Time
}

// runGC destroys terminal allocations every GC interval when there are
// more than gc_max_allocs of them or the disk is fuller than
// gc_disk_usage_threshold (or gc_inode_usage_threshold), oldest first.
func (c *Client) runGC(ctx context.Context) {
	cfg := c.cfg.GC.withDefaults()
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c.collectGarbage(cfg)
		c.retained.prune()
	}
}

// collectGarbage runs one pass of the periodic collection with cfg.
func (c *Client) collectGarbage(cfg GCConfig) {
	c.gc.pass.Lock()
	defer c.gc.pass.Unlock()
	cands := c.gcCandidates()
	n := 0
	for ; n < len(cands) && len(cands)-n > cfg.MaxAllocs; n++ {
		c.destroyAlloc(cands[n], fmt.Sprintf("more than gc_max_allocs = %d terminal allocations", cfg.MaxAllocs))
	}
	for ; n < len(cands); n++ {
		blocks, inodes, err := diskUsedPercent(filepath.Join(c.cfg.DataDir, "alloc"))
		if err != nil {
			c.cfg.Logger.Warn("cannot read disk usage for garbage collection", "error", err)
			return
		}
		switch {
		case blocks > cfg.DiskUsageThreshold:
			c.destroyAlloc(cands[n], fmt.Sprintf("disk %.1f%% used, above gc_disk_usage_threshold = %g%%", blocks, cfg.DiskUsageThreshold))
		case inodes > cfg.InodeUsageThreshold:
			c.destroyAlloc(cands[n], fmt.Sprintf("inodes %.1f%% used, above gc_inode_usage_threshold = %g%%", inodes, cfg.InodeUsageThreshold))
		default:
			return
		}
	}
}

// gcCandidates returns the terminal allocations whose runners have
// returned and whose status was sent, oldest finished first.
func (c *Client) gcCandidates() []gcCandidate {
	c.mu.Lock()
	var out []gcCandidate
	for id, e := range c.runners {
		select {
		case <-e.done:
		default:
			continue
		}
		out = append(out, gcCandidate{id: id, entry: e})
	}
	c.mu.Unlock()
	keep := out[:0]
	for _, cand := range out {
		// An allocation whose final status the servers have not received
		// yet stays: after a restart this client would forget it was
		// collected and, seeing it still running on the servers, run it again.
		if !cand.entry.runner.Terminal() || c.sess.updates.hasPending(cand.id) {
			continue
		}
		a := cand.entry.runner.Alloc()
		for _, ts := range a.TaskStates {
			if ts != nil && ts.FinishedAt.After(cand.finished) {
				cand.finished = ts.FinishedAt
			}
		}
		keep = append(keep, cand)
	}
	slices.SortFunc(keep, func(a, b gcCandidate) int {
		if c := a.finished.Compare(b.finished); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return keep
}

// destroyAlloc removes a finished allocation's runner, local state and
// directory (task dirs and logs). The server keeps its record.
func (c *Client) destroyAlloc(cand gcCandidate, why string) {
	c.mu.Lock()
	if c.runners[cand.id] != cand.entry {
		c.mu.Unlock()
		return // removed meanwhile
	}
	delete(c.runners, cand.id)
	c.gc.mark(cand.id)
	c.mu.Unlock()
	c.cfg.Logger.Info("garbage collecting allocation", "alloc_id", cand.id, "reason", why)
	if err := c.db.DeleteAlloc(cand.id); err != nil {
		c.cfg.Logger.Error("remove allocation state", "alloc_id", cand.id, "error", err)
	}
	c.destroyDir(cand.id, cand.entry.runner)
}

// destroyDir removes a finished allocation's directory after keeping the
// tail of its logs (logs_retention) and forgets its log shipping positions.
func (c *Client) destroyDir(id string, r *allocrunner.Runner) {
	if err := c.retained.retain(id, r.TaskNames(), r.Dir()); err != nil {
		c.cfg.Logger.Warn("keep logs of collected allocation", "alloc_id", id, "error", err)
	}
	if c.ship != nil {
		if err := c.ship.Forget(id); err != nil {
			c.cfg.Logger.Warn("remove log shipping positions", "alloc_id", id, "error", err)
		}
	}
	if err := r.Destroy(); err != nil {
		c.cfg.Logger.Error("remove allocation directory", "alloc_id", id, "error", err)
	}
}

// GCAlloc destroys one terminal allocation's directory now
// (/v1/client/allocation/{id}/gc). An allocation still running is a 400;
// one already collected is not an error.
func (c *Client) GCAlloc(ctx context.Context, allocID string) error {
	c.gc.pass.Lock()
	defer c.gc.pass.Unlock()
	e, err := c.entry(allocID)
	if err != nil {
		if c.gc.collected(allocID) {
			return nil
		}
		return err
	}
	select {
	case <-e.done:
	default:
		if !e.runner.Terminal() {
			return structs.NewBadRequest("allocation %s is still running on node %s; stop it first (nomadlike alloc stop %s), then collect it",
				structs.ShortID(allocID), structs.ShortID(c.id.NodeID), structs.ShortID(allocID))
		}
		// Terminal, but its runner is still winding down: wait for it.
		select {
		case <-e.done:
		case <-ctx.Done():
			return fmt.Errorf("collect allocation %s: %w", structs.ShortID(allocID), ctx.Err())
		}
	}
	if !e.runner.Terminal() {
		return structs.NewBadRequest("allocation %s has not finished on node %s; stop it first, then collect it", structs.ShortID(allocID), structs.ShortID(c.id.NodeID))
	}
	c.destroyAlloc(gcCandidate{id: allocID, entry: e}, "requested")
	return nil
}

// GC destroys every terminal allocation's directory now (/v1/client/gc).
func (c *Client) GC(ctx context.Context) error {
	c.gc.pass.Lock()
	defer c.gc.pass.Unlock()
	for _, cand := range c.gcCandidates() {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("client garbage collection: %w", err)
		}
		c.destroyAlloc(cand, "requested")
	}
	return nil
}

// collectedError is the error for a request about an allocation this client
// destroyed, or nil when it did not.
func (c *Client) collectedError(allocID string) error {
	if !c.gc.collected(allocID) {
		return nil
	}
	return structs.NewNotFound("allocation %s was garbage collected on node %s: its directory was removed (its logs are kept only with client { logs_retention } enabled, for max_age)",
		structs.ShortID(allocID), structs.ShortID(c.id.NodeID))
}

// diskUsedPercent is the used share of the blocks and of the inodes of the
// file system holding dir, as df computes them (diskStats).
func diskUsedPercent(dir string) (blocks, inodes float64, err error) {
	d, err := diskStats("", dir)
	if err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", dir, err)
	}
	return d.UsedPercent, d.InodesUsedPercent, nil
}

// hasPending reports whether an update of the allocation waits to be sent.
func (u *updater) hasPending(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.pending[id]
	return ok
}
