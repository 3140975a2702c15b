package allocrunner

import (
	"context"
	"fmt"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/network"
	"github.com/nomadlike/nomadlike/nomadlike/client/taskenv"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Networks sets up and tears down allocations' own networks (the client's
// network.Manager). Setup of an allocation already attached returns its
// recorded network (re-attach); Teardown of one without a network is a no-op.
type Networks interface {
	Setup(ctx context.Context, req network.Request) (*network.Result, error)
	Teardown(ctx context.Context, allocID string) error
}

// networkTeardownTimeout bounds a teardown that runs without a caller's ctx.
const networkTeardownTimeout = time.Minute

// isolatedNetwork returns the group's network when it asks for a
// namespace of its own (mode bridge or cni/<name>), else nil.
func (r *Runner) isolatedNetwork() *structs.NetworkResource {
	a, _ := r.current()
	if a.Job == nil {
		return nil
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return nil
	}
	for _, n := range tg.Networks {
		if n.Isolated() {
			return n
		}
	}
	return nil
}

// setupNetwork gives the allocation its network before any task starts:
// the tasks join its namespace, the allocation reports its address. The
// rest of the network (firewall, port mappings) may still be being set up
// when it returns: each task waits for it before it is reported running
// (taskRunner.networkReady), so it overlaps the tasks' preparation and
// start instead of preceding them.
func (r *Runner) setupNetwork(ctx context.Context) error {
	n := r.isolatedNetwork()
	if n == nil {
		return nil
	}
	if r.cfg.Networks == nil {
		return fmt.Errorf("group network mode %q: this client cannot give allocations a network of their own", n.Mode)
	}
	a, _ := r.current()
	req := network.Request{AllocID: a.ID, Mode: n.Mode, Hostname: n.Hostname, DNS: n.DNS}
	if n.CNI != nil && len(n.CNI.Args) > 0 {
		// Interpolated as Nomad does: node values and the allocation's
		// variables (${node.pool}, ${NOMAD_ALLOC_DIR}).
		e := taskenv.Build(taskenv.Input{Node: r.cfg.Node(), Alloc: a, Task: &structs.Task{}, AllocDir: r.dir.Dir, Region: r.cfg.Region})
		req.CNIArgs = make(map[string]string, len(n.CNI.Args))
		for k, v := range n.CNI.Args {
			req.CNIArgs[k] = e.Replace(v)
		}
	}
	if a.AllocatedResources != nil {
		req.Ports = a.AllocatedResources.Shared.Ports
	}
	res, err := r.cfg.Networks.Setup(ctx, req)
	if err != nil {
		return fmt.Errorf("set up the group's network: %w", err)
	}
	r.cfg.Logger.Info("allocation network ready", "alloc_id", a.ID, "mode", n.Mode, "address", res.Status.Address, "netns", res.Isolation.Path)
	r.mu.Lock()
	c := r.alloc.Copy()
	c.NetworkStatus = res.Status.Copy()
	r.alloc = c
	r.mu.Unlock()
	for _, tr := range r.tasks {
		tr.network = res.Isolation
		tr.networkReady = res.Wait
	}
	// Recorded and reported without holding up the tasks (a state DB
	// commit waits on the disk): persist writes the allocation as it is
	// when it runs, so a task's change persisted first loses nothing.
	r.persistAsync()
	return nil
}

// teardownNetwork releases the allocation's network once its tasks are
// all dead (or it is destroyed).
func (r *Runner) teardownNetwork() {
	if r.cfg.Networks == nil || r.isolatedNetwork() == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), networkTeardownTimeout)
	defer cancel()
	if err := r.cfg.Networks.Teardown(ctx, r.ID()); err != nil {
		r.cfg.Logger.Error("tear down the allocation's network; the client retries when it restarts", "alloc_id", r.ID(), "error", err)
	}
}
