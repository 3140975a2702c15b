package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/drivers"
	"github.com/nomadlike/nomadlike/nomadlike/client/allocdir"
	"github.com/nomadlike/nomadlike/nomadlike/client/restarts"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Store is the part of the client state DB an alloc runner writes.
type Store interface {
	PutAlloc(a *structs.Allocation) error
	PutTaskHandle(allocID, task string, h *drivers.TaskHandle) error
	DeleteTaskHandle(allocID, task string) error
	PutTaskState(allocID, task string, s *structs.TaskState) error
}

// Config configures an alloc Runner.
type Config struct {
	Alloc *structs.Allocation
	// Node returns the node as currently fingerprinted.
	Node   func() *structs.Node
	Region string
	// AllocRoot is DataDir/alloc; StateRoot is where drivers keep per-task state.
	AllocRoot, StateRoot string
	Drivers              map[string]drivers.Driver
	Store                Store
	Logger               *slog.Logger
	Now                  func() time.Time
	// OnUpdate receives a copy of the allocation after every client-side change.
	// It must not block for long.
	OnUpdate func(*structs.Allocation)
	// Handles and States restore tasks from the state DB (re-attach).
	Handles map[string]*drivers.TaskHandle
	States  map[string]*structs.TaskState
	// Artifact says which host paths local artifact sources may read.
	Artifact ArtifactConfig
	// Services registers the allocation's services and serves templates'
	// nomadService; nil: no service discovery (services are not registered).
	Services ServiceDiscovery
	// TaskAPI is the agent's HTTP API, served to each task on
	// secrets/api.sock (taskapi_hook.go); nil: no Task API.
	TaskAPI http.Handler
	// Networks gives groups in network mode bridge or cni/<name> their own
	// network; nil: such allocations fail to start, saying so.
	Networks Networks
	// Metrics are the client's runner instruments; nil measures nothing.
	Metrics *Metrics
}

// Runner runs one allocation.
type Runner struct {
	cfg   Config
	dir   *allocdir.AllocDir
	tasks map[string]*taskRunner
	names []string // task names in job order
	group []*structs.Task

	mu    sync.Mutex
	alloc *structs.Allocation
	// gateCh holds one channel per lifecycle phase, closed (under mu) when
	// the phase's tasks may start; see gates.
	gateCh   map[phase]chan struct{}
	gateOpen map[phase]bool
	// healthCh (size 1) wakes watchHealth after a change.
	healthCh chan struct{}
	// servicesCh (size 1) wakes registerServices after a change.
	servicesCh chan struct{}
	// checks are the latest results of the service checks (checks.go).
	checks checkResults
	// svc is what the registration loop must withdraw before a kill and
	// how far it got (services.go).
	svc withdrawals
	// persistLock (size 1) serialises persist; a channel, not a mutex, so
	// that a test's synctest bubble sees a waiting persist as blocked.
	persistLock chan struct{}
	// persisting tracks persistAsync's goroutines; Run waits for them.
	persisting sync.WaitGroup
	// started is when Run began a new allocation (zero for a restored
	// one); reported is set once it was first seen running (metrics).
	started  time.Time
	reported bool
}

// New returns a runner for cfg.Alloc. The allocation must carry its Job.
func New(cfg Config) (*Runner, error) {
	a := cfg.Alloc
	if a.Job == nil {
		return nil, fmt.Errorf("allocation %s has no job attached", a.ID)
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return nil, fmt.Errorf("allocation %s: job %q has no group %q", a.ID, a.Job.ID, a.TaskGroup)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	r := &Runner{cfg: cfg, dir: allocdir.New(cfg.AllocRoot, a.ID), tasks: map[string]*taskRunner{}, alloc: a.Copy(),
		group: tg.Tasks, gateCh: map[phase]chan struct{}{}, gateOpen: map[phase]bool{},
		healthCh: make(chan struct{}, 1), servicesCh: make(chan struct{}, 1), persistLock: make(chan struct{}, 1)}
	for _, p := range phases {
		r.gateCh[p] = make(chan struct{})
	}
	var drvNames []string
	for n := range cfg.Drivers {
		drvNames = append(drvNames, n)
	}
	sort.Strings(drvNames)
	for _, t := range tg.Tasks {
		policy := t.RestartPolicy
		if policy == nil {
			policy = tg.RestartPolicy
		}
		if policy == nil {
			policy = structs.DefaultRestartPolicy(a.Job.Type)
		}
		// An ephemeral lifecycle task (prestart, poststart without sidecar,
		// poststop) completes on success in any job type, as a batch task.
		trackAs := a.Job.Type
		if isEphemeral(t) {
			trackAs = structs.JobTypeBatch
		}
		st := cfg.States[t.Name]
		if st == nil {
			st = &structs.TaskState{State: structs.TaskStatePending, Events: []*structs.TaskEvent{}}
		}
		tr := &taskRunner{
			task: t, allocID: a.ID, driver: cfg.Drivers[t.Driver], drvNames: drvNames, dir: r.dir,
			stateDir: cfg.StateRoot, region: cfg.Region, jobType: a.Job.Type,
			current: r.current, store: cfg.Store, hooks: defaultHooks(cfg.Artifact, cfg.Services, cfg.TaskAPI),
			tracker: restarts.NewTracker(policy, trackAs), metrics: cfg.Metrics,
			logger: cfg.Logger.With("alloc_id", a.ID, "task", t.Name),
			now:    cfg.Now, state: st.Copy(), handle: cfg.Handles[t.Name],
			killCh: make(chan struct{}), nowCh: make(chan struct{}), restartCh: make(chan *restartRequest),
		}
		tr.changed = func() { r.taskChanged(tr) }
		tr.withdrawServices = func(ctx context.Context, wait bool) { r.withdrawServices(ctx, tr.task.Name, wait) }
		tr.gate = r.gateCh[phaseOf(t)]
		r.tasks[t.Name] = tr
		r.names = append(r.names, t.Name)
	}
	r.alloc.TaskStates = r.taskStates()
	return r, nil
}

// ID returns the allocation's ID.
func (r *Runner) ID() string { return r.cfg.Alloc.ID }

// Dir returns the allocation's directory.
func (r *Runner) Dir() *allocdir.AllocDir { return r.dir }

// Destroy removes what the allocation left on disk: its directory (task
// dirs and logs) and the drivers' per-task state dirs under StateRoot. Call
// it once the runner has finished.
func (r *Runner) Destroy() error {
	r.teardownNetwork()
	errs := []error{r.dir.Destroy()}
	if r.cfg.StateRoot != "" {
		if err := os.RemoveAll(filepath.Join(r.cfg.StateRoot, r.ID())); err != nil {
			errs = append(errs, fmt.Errorf("remove task state dirs: %w", err))
		}
	}
	return errors.Join(errs...)
}

// HasTask reports whether the allocation's group has the named task.
func (r *Runner) HasTask(name string) bool { _, ok := r.tasks[name]; return ok }

// TaskNames returns the allocation's task names, sorted.
func (r *Runner) TaskNames() []string {
	names := make([]string, 0, len(r.tasks))
	for n := range r.tasks {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func (r *Runner) current() (*structs.Allocation, *structs.Node) {
	r.mu.Lock()
	a := r.alloc
	r.mu.Unlock()
	return a, r.cfg.Node()
}

func (r *Runner) taskStates() map[string]*structs.TaskState {
	out := make(map[string]*structs.TaskState, len(r.tasks))
	for n, tr := range r.tasks {
		out[n] = tr.State()
	}
	return out
}

// Alloc returns a copy of the allocation with the client's status.
func (r *Runner) Alloc() *structs.Allocation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.alloc.Copy()
}

// Terminal reports whether the client has finished the allocation.
func (r *Runner) Terminal() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.alloc.ClientTerminalStatus()
}

// Run runs the allocation's tasks. It returns when all are dead or ctx ends.
func (r *Runner) Run(ctx context.Context) {
	if r.Terminal() {
		r.teardownNetwork() // finished while the client was away
		r.unmountSecrets()
		return
	}
	if err := (allocDirHook{dir: r.dir}).Prerun(); err != nil {
		r.setupFailed(err)
		return
	}
	defer r.persisting.Wait()
	if err := r.setupNetwork(ctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		r.setupFailed(err)
		r.teardownNetwork()
		return
	}
	r.mu.Lock()
	if r.alloc.ClientStatus == structs.AllocClientStatusPending {
		r.started = time.Now()
	}
	r.mu.Unlock()
	r.lifecycleChanged()
	hctx, stopHealth := context.WithCancel(ctx)
	var health sync.WaitGroup
	health.Go(func() { r.watchHealth(hctx) })
	defer func() {
		r.healthChanged() // a last look at the final task states
		health.Wait()
		stopHealth()
	}()
	stopServices := r.startServices(ctx)
	defer stopServices()
	var wg sync.WaitGroup
	for _, name := range r.names {
		tr := r.tasks[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr.run(ctx)
		}()
	}
	wg.Wait()
	if ctx.Err() == nil {
		// Every task is dead: release the network and the secrets tmpfs,
		// so rendered secrets do not outlive the tasks. (A client shutting
		// down keeps them for the tasks it leaves running.)
		r.teardownNetwork()
		r.unmountSecrets()
	}
}

// unmountSecrets unmounts the tasks' secrets tmpfs of a finished
// allocation (its directory stays until it is collected).
func (r *Runner) unmountSecrets() {
	if err := r.dir.UnmountSecrets(); err != nil {
		r.cfg.Logger.Warn("unmount the secrets of a finished allocation", "alloc_id", r.ID(), "error", err)
	}
}

// setupFailed fails every task of an allocation that could not be prepared.
func (r *Runner) setupFailed(err error) {
	r.cfg.Logger.Error("prepare allocation", "alloc_id", r.ID(), "error", err)
	for _, tr := range r.tasks {
		ev := structs.NewTaskEvent(structs.TaskSetupFailure, r.cfg.Now(), err.Error())
		ev.SetupError = err.Error()
		tr.dead(true, ev)
	}
}

// Update takes a new server version of the allocation: a stop or evict
// kills its tasks; other changes (in-place job updates) apply to the next
// start of each task.
func (r *Runner) Update(a *structs.Allocation) {
	r.mu.Lock()
	n := a.Copy()
	n.ClientStatus, n.ClientDescription, n.TaskStates = r.alloc.ClientStatus, r.alloc.ClientDescription, r.alloc.TaskStates
	n.NetworkStatus = r.alloc.NetworkStatus // the client's, as the task states
	if n.Job == nil {
		n.Job = r.alloc.Job
	}
	keepHealth(r.alloc, n)
	r.alloc = n
	r.mu.Unlock()
	r.healthChanged()
	r.servicesChanged()
	r.persist(false)
	if a.DesiredStatus == structs.AllocDesiredStatusStop || a.DesiredStatus == structs.AllocDesiredStatusEvict {
		r.kill(nil, false)
	}
}

// Kill stops every task but the poststop ones, which then run (once the
// others are dead) as Nomad runs them when an allocation is stopped; ev
// (optional) is recorded on each first. Kill does not wait the tasks'
// shutdown_delay (a dev agent's shutdown, an allocation the servers
// removed); a stop from the servers (Update) does.
func (r *Runner) Kill(ev *structs.TaskEvent) { r.kill(ev, true) }

func (r *Runner) kill(ev *structs.TaskEvent, now bool) {
	for _, tr := range r.tasks {
		if phaseOf(tr.task) == phasePoststop {
			continue
		}
		var e *structs.TaskEvent
		if ev != nil {
			c := *ev
			e = &c
		}
		if now {
			tr.killNow(e)
		} else {
			tr.Kill(e)
		}
	}
}

// taskChanged recomputes the allocation's status after a task's change,
// applies the lifecycle (opens the gates of phases that may now start,
// stops the siblings of a failed task, the others of a dead leader, the
// sidecars once the main tasks are dead), persists and reports the
// allocation.
func (r *Runner) taskChanged(tr *taskRunner) {
	// The task's state is read under r.mu: two changes of one task racing
	// here must not let the older state (read first, locked last) win, which
	// left a batch allocation "running" after its tasks had exited.
	r.mu.Lock()
	st := tr.State()
	a := r.alloc.Copy()
	if a.TaskStates == nil {
		a.TaskStates = map[string]*structs.TaskState{}
	}
	a.TaskStates[tr.task.Name] = st
	a.ClientStatus, a.ClientDescription = ClientStatus(a.TaskStates)
	a.ModifyTime = r.cfg.Now().UnixNano()
	r.alloc = a
	if !r.reported && !r.started.IsZero() && a.ClientStatus == structs.AllocClientStatusRunning {
		r.reported = true
		r.cfg.Metrics.allocRunning(r.started)
	}
	r.mu.Unlock()

	r.lifecycleChanged()
	r.servicesChanged()
	r.persist(true)
	r.healthChanged()
}

// persist stores the allocation as it is now and, with report, hands a
// copy to OnUpdate. Calls are serialised and each stores the newest copy
// (read under the lock), so concurrent changes are stored and reported in
// order: an older copy is never written after a newer one.
func (r *Runner) persist(report bool) {
	r.persistLock <- struct{}{}
	defer func() { <-r.persistLock }()
	r.mu.Lock()
	a := r.alloc // replaced, never changed in place, once shared
	r.mu.Unlock()
	if err := r.cfg.Store.PutAlloc(a); err != nil {
		r.cfg.Logger.Error("persist allocation", "alloc_id", a.ID, "error", err)
	}
	if report && r.cfg.OnUpdate != nil {
		r.cfg.OnUpdate(a.Copy())
	}
}

// persistAsync is persist(true) in a goroutine Run waits for before it
// returns.
func (r *Runner) persistAsync() { r.persisting.Go(func() { r.persist(true) }) }

// lifecycleChanged opens the gates the current task states allow and stops
// the tasks the lifecycle rules say must stop.
func (r *Runner) lifecycleChanged() {
	r.mu.Lock()
	states := r.alloc.TaskStates
	for p, g := range gates(r.group, states) {
		if g.Open && !r.gateOpen[p] {
			r.gateOpen[p] = true
			close(r.gateCh[p])
			r.cfg.Logger.Debug("lifecycle phase may start", "alloc_id", r.ID(), "phase", p.String())
		}
	}
	ks := kills(r.group, states, r.cfg.Now())
	r.mu.Unlock()
	for _, k := range ks {
		r.tasks[k.Task].Kill(k.Event)
	}
}
