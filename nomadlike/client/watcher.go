package client

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
	"github.com/nomadlike/nomadlike/nomadlike/client/clientstate"
	"github.com/nomadlike/nomadlike/nomadlike/client/logship"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// allocWait is the blocking query's wait time.
const allocWait = 5 * time.Minute

// allocEntry is a running (or finished) allocation on this node.
type allocEntry struct {
	runner *allocrunner.Runner
	// modifyIndex is the AllocModifyIndex last applied.
	modifyIndex uint64
	done        chan struct{} // closed when the runner's Run returns
}

// reconcile starts, updates and removes alloc runners to match the server.
func (c *Client) reconcile(ctx context.Context, allocs []*structs.Allocation) {
	seen := map[string]bool{}
	// Allocations are independent: start and update them concurrently so
	// their state writes coalesce into a few transactions (clientstate uses
	// bbolt's Batch), and wait for all before the next round so updates to
	// one allocation stay in order.
	var wg sync.WaitGroup
	for _, a := range allocs {
		seen[a.ID] = true
		c.mu.Lock()
		e, ok := c.runners[a.ID]
		c.mu.Unlock()
		switch {
		case !ok:
			if a.TerminalStatus() || c.gc.collected(a.ID) {
				continue // finished before we saw it, by a previous client process, or collected
			}
			wg.Go(func() { c.startAlloc(ctx, a, nil) })
		case a.AllocModifyIndex != e.modifyIndex:
			e.modifyIndex = a.AllocModifyIndex
			c.cfg.Logger.Info("allocation updated", "alloc_id", a.ID, "desired_status", a.DesiredStatus)
			wg.Go(func() { e.runner.Update(a) })
		}
		if ok && a.ClientStatus == structs.AllocClientStatusUnknown && !a.TerminalStatus() {
			// The servers marked it unknown while this node was disconnected
			// (max_client_disconnect): report its real state again.
			if cur := e.runner.Alloc(); cur.ClientStatus != structs.AllocClientStatusUnknown {
				c.cfg.Logger.Info("allocation marked unknown by the servers while disconnected; reporting its state again",
					"alloc_id", a.ID, "client_status", cur.ClientStatus)
				c.sess.Enqueue(cur)
			}
		}
	}
	wg.Wait()
	c.mu.Lock()
	var gone []*allocEntry
	for id, e := range c.runners {
		if !seen[id] {
			gone = append(gone, e)
			delete(c.runners, id)
		}
	}
	c.mu.Unlock()
	for _, e := range gone {
		c.removeAlloc(ctx, e)
	}
}

// startAlloc creates and runs a runner for a (with restored task records).
func (c *Client) startAlloc(ctx context.Context, a *structs.Allocation, restored *clientstate.RestoredAlloc) {
	cfg := allocrunner.Config{
		Alloc: a, Node: c.sess.Node, Region: c.cfg.Region,
		AllocRoot: filepath.Join(c.cfg.DataDir, "alloc"), StateRoot: c.stateRoot(),
		Drivers: c.drivers, Store: c.db, Logger: c.cfg.Logger, Now: c.cfg.Now, OnUpdate: c.sess.Enqueue,
		Services: serviceDiscovery{c: c}, TaskAPI: c.cfg.TaskAPI, Artifact: c.cfg.Artifact, Networks: c.networks, Metrics: c.metrics,
	}
	if restored != nil {
		cfg.Handles, cfg.States = restored.Handles, restored.States
	} else if err := c.db.PutAlloc(a); err != nil {
		c.cfg.Logger.Error("persist allocation", "alloc_id", a.ID, "error", err)
	}
	r, err := allocrunner.New(cfg)
	if err != nil {
		c.cfg.Logger.Error("cannot run allocation", "alloc_id", a.ID, "error", err)
		f := a.Copy()
		f.ClientStatus, f.ClientDescription = structs.AllocClientStatusFailed, err.Error()
		c.sess.Enqueue(f)
		return
	}
	e := &allocEntry{runner: r, modifyIndex: a.AllocModifyIndex, done: make(chan struct{})}
	c.mu.Lock()
	c.runners[a.ID] = e
	c.mu.Unlock()
	if restored == nil {
		c.cfg.Logger.Info("starting allocation", "alloc_id", a.ID, "name", a.Name)
		c.sess.Enqueue(r.Alloc())
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(e.done)
		r.Run(ctx)
	}()
	c.shipLogs(ctx, a, r)
}

// shipLogs forwards each task's log lines while the allocation runs (and
// until its files are read once it is terminal); see package logship.
func (c *Client) shipLogs(ctx context.Context, a *structs.Allocation, r *allocrunner.Runner) {
	if c.ship == nil {
		return
	}
	for _, task := range r.TaskNames() {
		t := logship.Target{AllocID: a.ID, JobID: a.JobID, Namespace: a.Namespace, Group: a.TaskGroup, Task: task,
			NodeName: c.cfg.NodeName, Dir: r.Dir(), Done: r.Terminal}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.ship.Run(ctx, t)
		}()
	}
}

// removeAlloc handles an allocation the server no longer lists (garbage
// collected): its tasks are killed, and its state and directory removed.
func (c *Client) removeAlloc(ctx context.Context, e *allocEntry) {
	id := e.runner.ID()
	c.cfg.Logger.Info("allocation removed by the server; stopping and cleaning up", "alloc_id", id)
	c.gc.mark(id)
	e.runner.Kill(nil)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-e.done:
		case <-ctx.Done():
			return
		}
		if err := c.db.DeleteAlloc(id); err != nil {
			c.cfg.Logger.Error("remove allocation state", "alloc_id", id, "error", err)
		}
		c.destroyDir(id, e.runner)
	}()
}
