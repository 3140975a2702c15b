package allocrunner

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// ServiceDiscovery is the client's link to Nomad's built-in service
// discovery on the servers: registering an allocation's services and
// reading (blocking queries) what others registered.
type ServiceDiscovery interface {
	// UpdateAllocServices replaces the allocation's registrations (empty:
	// removes them).
	UpdateAllocServices(ctx context.Context, allocID string, regs []*structs.ServiceRegistration) error
	// ServiceRegistrations reads one service's registrations, blocking
	// until the index passes waitIndex (0: at once).
	ServiceRegistrations(ctx context.Context, namespace, name string, waitIndex uint64) ([]*structs.ServiceRegistration, uint64, error)
	// ListServices reads the services of a namespace, blocking as above.
	ListServices(ctx context.Context, namespace string, waitIndex uint64) ([]*structs.ServiceRegistrationListStub, uint64, error)
	// SignIdentities gets the workload identities of an allocation's tasks.
	SignIdentities(ctx context.Context, reqs []*structs.WorkloadIdentityRequest) ([]*structs.SignedWorkloadIdentity, error)
	// Variable reads a variable with a task's identity token, blocking
	// until the index passes waitIndex (0: at once).
	Variable(ctx context.Context, token, namespace, path string, waitIndex uint64) (*structs.VariableDecrypted, uint64, error)
	// Variables lists variables under prefix with a task's identity token.
	Variables(ctx context.Context, token, namespace, prefix string, waitIndex uint64) ([]*structs.VariableMetadata, uint64, error)
}

// deregisterTimeout bounds the last deregistration after the tasks died;
// the servers' service reaper removes what a failed call leaves.
const deregisterTimeout = 10 * time.Second

// ServiceRegistrationID is the ID of a registration, as Nomad forms it:
// _nomad-task-<alloc>-<task>-<service>-<port> (or _nomad-group-<alloc>-<group>-...).
func ServiceRegistrationID(allocID, kind, owner, service, port string) string {
	return fmt.Sprintf("_nomad-%s-%s-%s-%s-%s", kind, allocID, owner, service, port)
}

// desiredServices returns the registrations alloc should have given its
// task states: each running task's services, and the group's services
// while any task runs. Nothing once the allocation is told to stop.
func desiredServices(alloc *structs.Allocation, node *structs.Node, states map[string]*structs.TaskState, bound []boundService) []*structs.ServiceRegistration {
	if alloc == nil || alloc.Job == nil || alloc.DesiredStatus != structs.AllocDesiredStatusRun {
		return nil
	}
	running := func(name string) bool {
		s := states[name]
		return s != nil && s.State == structs.TaskStateRunning
	}
	anyRunning := false
	for name := range states {
		anyRunning = anyRunning || running(name)
	}
	var out []*structs.ServiceRegistration
	for _, b := range bound {
		if b.task != "" && !running(b.task) || b.task == "" && !anyRunning {
			continue
		}
		s := b.svc
		addr, port := serviceAddress(alloc, node, s.PortLabel, s.AddressMode)
		out = append(out, &structs.ServiceRegistration{
			ID: ServiceRegistrationID(alloc.ID, b.kind, b.owner, s.Name, s.PortLabel), ServiceName: s.Name,
			Namespace: alloc.Namespace, NodeID: alloc.NodeID, Datacenter: nodeDatacenter(node), JobID: alloc.JobID,
			AllocID: alloc.ID, Tags: slices.Clone(b.tags(alloc)), Address: addr, Port: port,
		})
	}
	return out
}

func nodeDatacenter(n *structs.Node) string {
	if n == nil {
		return ""
	}
	return n.Datacenter
}

// serviceAddress is the address and port of the allocation's port label
// ("" label: port 0; a number: that port) in an address mode. host and auto: the node address
// and the host port; alloc and driver: the allocation's address and the
// port's "to" value (its host port when "to" is unset), as Nomad does.
// The allocation's address is its own network's (NetworkStatus) in mode
// bridge or cni/<name>; without a network of its own, the node's.
func serviceAddress(alloc *structs.Allocation, node *structs.Node, label, mode string) (string, int) {
	ip := ""
	port := 0
	if ar := alloc.AllocatedResources; ar != nil {
		for _, p := range ar.Shared.Ports {
			if p.Label == label && label != "" {
				ip, port = p.HostIP, p.Value
				if (mode == structs.AddressModeAlloc || mode == structs.AddressModeDriver) && p.To > 0 {
					port = p.To
				}
			}
		}
		if ip == "" {
			for _, n := range ar.Shared.Networks {
				if n != nil && n.IP != "" {
					ip = n.IP
					break
				}
			}
		}
	}
	if st := alloc.NetworkStatus; st != nil && st.Address != "" && (mode == structs.AddressModeAlloc || mode == structs.AddressModeDriver) {
		ip = st.Address // the allocation's own network (bridge, cni/<name>)
	}
	if port == 0 && structs.NumericPort(label) {
		port, _ = strconv.Atoi(label) // a port number, not a label
	}
	if ip == "" && node != nil {
		ip = node.Attributes["unique.network.ip-address"]
	}
	if ip == "" {
		ip = "127.0.0.1"
	}
	return ip, port
}

// markFailing sets Failing on the registrations of services with a
// failing check (regs are new, owned by the caller).
func markFailing(regs []*structs.ServiceRegistration, failing map[string]bool) []*structs.ServiceRegistration {
	for _, r := range regs {
		r.Failing = failing[r.ServiceName]
	}
	return regs
}

// servicesChanged wakes the registration loop (never blocks).
func (r *Runner) servicesChanged() {
	select {
	case r.servicesCh <- struct{}{}:
	default:
	}
}

// bound returns the allocation's services with their fields interpolated.
func (r *Runner) bound(alloc *structs.Allocation, node *structs.Node) []boundService {
	return bindServices(alloc, node, r.dir.Dir, r.cfg.Region)
}

// hasServices reports whether the allocation's group or tasks declare services.
func (r *Runner) hasServices() bool {
	a, _ := r.current()
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return false
	}
	if len(tg.Services) > 0 {
		return true
	}
	return slices.ContainsFunc(tg.Tasks, func(t *structs.Task) bool { return len(t.Services) > 0 })
}

// withdrawals are the tasks whose services are withdrawn before their kill
// (guarded by Runner.mu): a request generation (want) the registration
// loop acknowledges (done, broadcast by closing doneCh) once the servers
// have the registrations without them.
type withdrawals struct {
	running  bool // the registration loop runs
	stopping map[string]bool
	want     uint64
	done     uint64
	doneCh   chan struct{}
}

// withdrawServices deregisters task's services (and the group's once no
// task that is not stopping runs) ahead of the task's kill; with wait, it
// returns when the registration loop has sent that to the servers, after
// deregisterTimeout, or when ctx ends.
func (r *Runner) withdrawServices(ctx context.Context, task string, wait bool) {
	r.mu.Lock()
	if r.svc.stopping == nil {
		r.svc.stopping = map[string]bool{}
	}
	r.svc.stopping[task] = true
	r.svc.want++
	gen, running := r.svc.want, r.svc.running
	r.mu.Unlock()
	r.servicesChanged()
	if !wait || !running {
		return
	}
	t := time.NewTimer(deregisterTimeout)
	defer t.Stop()
	for {
		r.mu.Lock()
		done, ch := r.svc.done, r.svc.doneCh
		r.mu.Unlock()
		if done >= gen {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		case <-t.C:
			r.cfg.Logger.Warn("services not deregistered before shutdown_delay; waiting the delay anyway",
				"alloc_id", r.ID(), "task", task, "waited", deregisterTimeout)
			return
		}
	}
}

// servicesView returns the allocation, its task states without those of
// stopping tasks (their services withdrawn), and the withdrawal generation
// they reflect, read together.
func (r *Runner) servicesView() (*structs.Allocation, map[string]*structs.TaskState, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	states := r.alloc.TaskStates // copy-on-write: a snapshot
	if len(r.svc.stopping) > 0 {
		states = maps.Clone(states)
		for name := range r.svc.stopping {
			delete(states, name)
		}
	}
	return r.alloc, states, r.svc.want
}

// servicesSent records that the servers have the registrations of
// withdrawal generation gen.
func (r *Runner) servicesSent(gen uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if gen > r.svc.done {
		r.svc.done = gen
		if r.svc.doneCh != nil {
			close(r.svc.doneCh)
		}
		r.svc.doneCh = make(chan struct{})
	}
}

// registerServices keeps the servers' registrations of the allocation in
// line with its running tasks until ctx ends, retrying failed calls.
func (r *Runner) registerServices(ctx context.Context) {
	var sent []*structs.ServiceRegistration
	first := true
	var wait time.Duration
	for {
		alloc, states, gen := r.servicesView()
		node := r.cfg.Node()
		want := markFailing(desiredServices(alloc, node, states, r.bound(alloc, node)), r.checks.failingServices())
		if first || !slices.EqualFunc(want, sent, (*structs.ServiceRegistration).Equal) {
			if err := r.cfg.Services.UpdateAllocServices(ctx, r.ID(), want); err != nil {
				if ctx.Err() != nil {
					return
				}
				wait = retryAfter(wait, 30*time.Second)
				r.cfg.Logger.Warn("register services failed; will retry", "alloc_id", r.ID(), "retry_in", wait, "error", err)
				if !sleepCtx(ctx, wait) {
					return
				}
				continue
			}
			sent, first, wait = want, false, 0
		}
		r.servicesSent(gen)
		select {
		case <-ctx.Done():
			return
		case <-r.servicesCh:
		}
	}
}

// deregisterServices removes the allocation's registrations once its tasks
// are dead.
func (r *Runner) deregisterServices() {
	ctx, cancel := context.WithTimeout(context.Background(), deregisterTimeout)
	defer cancel()
	if err := r.cfg.Services.UpdateAllocServices(ctx, r.ID(), nil); err != nil {
		r.cfg.Logger.Warn("deregister services failed; the servers will remove them", "alloc_id", r.ID(), "error", err)
	}
}

// retryAfter is the next wait before retrying a failed call to the
// servers: double the last one (at least 500ms), at most limit.
func retryAfter(wait, limit time.Duration) time.Duration {
	return min(max(2*wait, 500*time.Millisecond), limit)
}

// sleepCtx waits d or until ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// startServices starts, with service discovery, the registration loop and
// the template watchers. The returned func, called once the tasks are
// done, stops them and removes the registrations, unless ctx ended (a
// client shutdown leaves the tasks, and so their services, running).
func (r *Runner) startServices(ctx context.Context) func() {
	if r.cfg.Services == nil {
		var wg sync.WaitGroup
		sctx, cancel := context.WithCancel(ctx)
		r.startChecks(sctx, &wg)
		return func() { cancel(); wg.Wait() }
	}
	sctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	a, _ := r.current()
	register := r.hasServices()
	if register {
		r.mu.Lock()
		r.svc.running = true
		r.svc.doneCh = make(chan struct{})
		r.mu.Unlock()
		wg.Go(func() { r.registerServices(sctx) })
	}
	r.startChecks(sctx, &wg)
	for _, name := range r.names {
		tr := r.tasks[name]
		if ih := tr.identityHookOf(); ih != nil && hasTTLIdentity(tr.task) {
			wg.Go(func() { tr.watchIdentities(sctx, ih) })
		}
		if len(tr.task.Templates) == 0 {
			continue
		}
		h := tr.templateHookOf()
		if h == nil {
			continue
		}
		h.mu.Lock()
		h.services = newServiceCache(sctx, r.cfg.Services, a.Namespace)
		h.mu.Unlock()
		wg.Go(func() { tr.watchTemplates(sctx, h) })
	}
	return func() {
		shutdown := ctx.Err() != nil
		r.mu.Lock()
		r.svc.running = false
		r.mu.Unlock()
		cancel()
		wg.Wait()
		if register && !shutdown {
			r.deregisterServices()
		}
	}
}
