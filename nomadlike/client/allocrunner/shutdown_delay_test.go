package allocrunner

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// orderDiscovery is a fakeDiscovery that notes, when the allocation's
// registrations are removed, whether the task had been signalled yet (the
// file its TERM trap writes exists).
type orderDiscovery struct {
	*fakeDiscovery
	termFile string

	mu           sync.Mutex
	removedAt    time.Time
	termAtRemove bool
}

func (o *orderDiscovery) UpdateAllocServices(ctx context.Context, allocID string, regs []*structs.ServiceRegistration) error {
	if len(regs) == 0 && len(o.registered(allocID)) > 0 {
		_, err := os.Stat(o.termFile)
		o.mu.Lock()
		if o.removedAt.IsZero() {
			o.removedAt, o.termAtRemove = time.Now(), err == nil
		}
		o.mu.Unlock()
	}
	return o.fakeDiscovery.UpdateAllocServices(ctx, allocID, regs)
}

// delayJob is a service job whose task "web" (a service "api") records the
// TERM it gets in term and its pid in pid, with the given shutdown_delays.
func delayJob(dir string, group, task time.Duration) *structs.Job {
	tk := shTask("web", "", false, `echo $$ > `+filepath.Join(dir, "pid")+`; trap 'echo term > `+filepath.Join(dir, "term")+`; exit 0' TERM; while true; do sleep 0.1; done`)
	tk.ShutdownDelay = task
	tk.Services = []*structs.Service{{Name: "api", PortLabel: "http"}}
	return &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{tk}, ShutdownDelay: &group,
		Networks: []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}},
		Services: []*structs.Service{{Name: "web", PortLabel: "http"}},
	}}}
}

// stopAlloc sends the runner the servers' stop of its allocation.
func stopAlloc(r *testRunner, noDelay bool) {
	stop := r.Alloc()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	if noDelay {
		yes := true
		stop.DesiredTransition.NoShutdownDelay = &yes
	}
	r.Update(stop)
}

func startDelayRunner(t *testing.T, group, task time.Duration) (*testRunner, *orderDiscovery, string) {
	t.Helper()
	dir := t.TempDir()
	sd := &orderDiscovery{fakeDiscovery: newFakeDiscovery(), termFile: filepath.Join(dir, "term")}
	r := startServiceRunner(t, delayJob(dir, group, task), sd)
	waitUntil(t, "both services registered", func() bool { return len(sd.registered(r.ID())) == 2 })
	return r, sd, dir
}

// TestShutdownDelayDeregistersThenWaitsThenKills: on a stop, the services
// are removed while the task still runs, then the group's and the task's
// shutdown_delay pass, then the task gets its kill signal.
func TestShutdownDelayDeregistersThenWaitsThenKills(t *testing.T) {
	group, task := 700*time.Millisecond, 500*time.Millisecond
	r, sd, dir := startDelayRunner(t, group, task)
	stopAlloc(r, false)
	a := r.wait(t)
	sd.mu.Lock()
	removedAt, termAtRemove := sd.removedAt, sd.termAtRemove
	sd.mu.Unlock()
	if removedAt.IsZero() || termAtRemove {
		t.Fatalf("services removed at %v, task already signalled then: %v; want removed before the kill", removedAt, termAtRemove)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "term")); err != nil || string(b) != "term\n" {
		t.Fatalf("the task did not get its kill signal: %q, %v", b, err)
	}
	waiting := eventTime(t, a, "web", structs.TaskWaitingShuttingDownDelay)
	killing := eventTime(t, a, "web", structs.TaskKilling)
	if removedAt.UnixNano() > waiting {
		t.Errorf("services removed at %d, after the delay began at %d", removedAt.UnixNano(), waiting)
	}
	if killing-waiting < int64(group+task) {
		t.Errorf("kill sent %v after the delay began, want at least the group's and task's shutdown_delay %v; events:\n%s",
			time.Duration(killing-waiting), group+task, describe(a))
	}
	if !hasEvent(a, "web", structs.TaskWaitingShuttingDownDelay, "Waiting for shutdown_delay of 1.2s before killing the task") {
		t.Errorf("no shutdown_delay event naming the delay; events:\n%s", describe(a))
	}
	if a.ClientStatus != structs.AllocClientStatusComplete {
		t.Errorf("client status %s, want complete", a.ClientStatus)
	}
}

// TestNoShutdownDelaySkipsTheWait: a stop with no_shutdown_delay kills the
// task at once, saying it skipped the delay.
func TestNoShutdownDelaySkipsTheWait(t *testing.T) {
	r, _, _ := startDelayRunner(t, time.Hour, time.Hour)
	stopAlloc(r, true)
	a := r.wait(t) // would time out after 20s had the hour been waited
	if !hasEvent(a, "web", structs.TaskSkippingShutdownDelay, "Skipping shutdown_delay of 2h0m0s") {
		t.Errorf("no skipping event; events:\n%s", describe(a))
	}
	if hasEvent(a, "web", structs.TaskWaitingShuttingDownDelay, "") {
		t.Errorf("waited the delay with no_shutdown_delay; events:\n%s", describe(a))
	}
}

// TestKillNowCutsShutdownDelayShort: a kill that skips the delay (a dev
// agent's shutdown) ends a delay already being waited.
func TestKillNowCutsShutdownDelayShort(t *testing.T) {
	r, _, _ := startDelayRunner(t, 0, time.Hour)
	stopAlloc(r, false)
	waitUntil(t, "the shutdown_delay", func() bool {
		return hasEvent(r.Alloc(), "web", structs.TaskWaitingShuttingDownDelay, "")
	})
	r.Kill(nil)
	if a := r.wait(t); a.TaskStates["web"].State != structs.TaskStateDead {
		t.Errorf("task not dead; events:\n%s", describe(a))
	}
}

// TestClientShutdownDoesNotWaitShutdownDelay: a client shutdown during the
// delay returns at once and leaves the task running (for the next client
// process), as any client shutdown does.
func TestClientShutdownDoesNotWaitShutdownDelay(t *testing.T) {
	r, _, dir := startDelayRunner(t, time.Hour, 0)
	stopAlloc(r, false)
	waitUntil(t, "the shutdown_delay", func() bool {
		return hasEvent(r.Alloc(), "web", structs.TaskWaitingShuttingDownDelay, "")
	})
	r.cancel()
	a := r.wait(t)
	b, err := os.ReadFile(filepath.Join(dir, "pid"))
	pid, perr := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || perr != nil {
		t.Fatalf("task pid: %q, %v, %v", b, err, perr)
	}
	t.Cleanup(func() {
		// The task outlives the client's shutdown by design: kill it and
		// wait (bounded) until it is gone, so it writes nothing into the
		// temporary dir while the test's cleanup removes it ("directory
		// not empty" failed a CI run).
		_ = syscall.Kill(pid, syscall.SIGKILL)
		for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
	})
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("task process %d gone after a client shutdown: %v", pid, err)
	}
	if hasEvent(a, "web", structs.TaskKilling, "") {
		t.Errorf("task killed on a client shutdown; events:\n%s", describe(a))
	}
}
