package allocrunner

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/template"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// fakeDiscovery is an in-memory ServiceDiscovery with blocking reads.
type fakeDiscovery struct {
	mu      sync.Mutex
	index   uint64
	byAlloc map[string][]*structs.ServiceRegistration
	others  []*structs.ServiceRegistration // registered by "other" allocations
	changed chan struct{}                  // closed and replaced on every write
	// vars are variables by path; reads need the token "jwt:<task>:default".
	vars   map[string]*structs.VariableDecrypted
	tokens []string // tokens used to read variables
	// identityTTL, when set, makes signed identities expire (numbered JWTs).
	identityTTL time.Duration
	signed      int
}

func newFakeDiscovery() *fakeDiscovery {
	return &fakeDiscovery{index: 1, byAlloc: map[string][]*structs.ServiceRegistration{}, changed: make(chan struct{})}
}

func (f *fakeDiscovery) bump() {
	f.index++
	close(f.changed)
	f.changed = make(chan struct{})
}

func (f *fakeDiscovery) UpdateAllocServices(_ context.Context, allocID string, regs []*structs.ServiceRegistration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.byAlloc[allocID] = regs
	f.bump()
	return nil
}

func (f *fakeDiscovery) setOthers(regs ...*structs.ServiceRegistration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.others = regs
	f.bump()
}

func (f *fakeDiscovery) registered(allocID string) []*structs.ServiceRegistration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byAlloc[allocID]
}

// wait blocks until the index passes waitIndex or ctx ends.
func (f *fakeDiscovery) wait(ctx context.Context, waitIndex uint64) {
	for {
		f.mu.Lock()
		idx, ch := f.index, f.changed
		f.mu.Unlock()
		if idx > waitIndex {
			return
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return
		}
	}
}

func (f *fakeDiscovery) ServiceRegistrations(ctx context.Context, _, name string, waitIndex uint64) ([]*structs.ServiceRegistration, uint64, error) {
	f.wait(ctx, waitIndex)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*structs.ServiceRegistration
	for _, r := range f.others {
		if r.ServiceName == name {
			out = append(out, r)
		}
	}
	return out, f.index, ctx.Err()
}

func (f *fakeDiscovery) setVar(path string, items map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.vars == nil {
		f.vars = map[string]*structs.VariableDecrypted{}
	}
	f.bump()
	f.vars[path] = &structs.VariableDecrypted{VariableMetadata: structs.VariableMetadata{Namespace: "default", Path: path, ModifyIndex: f.index}, Items: items}
}

func (f *fakeDiscovery) SignIdentities(_ context.Context, reqs []*structs.WorkloadIdentityRequest) ([]*structs.SignedWorkloadIdentity, error) {
	var out []*structs.SignedWorkloadIdentity
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range reqs {
		s := &structs.SignedWorkloadIdentity{AllocID: r.AllocID, TaskName: r.TaskName, IdentityName: r.IdentityName,
			JWT: "jwt:" + r.TaskName + ":" + r.IdentityName}
		if f.identityTTL > 0 {
			f.signed++
			s.JWT += ":" + strconv.Itoa(f.signed)
			s.Expiration = time.Now().Add(f.identityTTL)
		}
		out = append(out, s)
	}
	return out, nil
}

func (f *fakeDiscovery) Variable(ctx context.Context, token, _, path string, waitIndex uint64) (*structs.VariableDecrypted, uint64, error) {
	f.wait(ctx, waitIndex)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens = append(f.tokens, token)
	return f.vars[path].Copy(), f.index, ctx.Err()
}

func (f *fakeDiscovery) Variables(ctx context.Context, token, _, prefix string, waitIndex uint64) ([]*structs.VariableMetadata, uint64, error) {
	f.wait(ctx, waitIndex)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*structs.VariableMetadata
	for p, v := range f.vars {
		if strings.HasPrefix(p, prefix) {
			out = append(out, v.VariableMetadata.Copy())
		}
	}
	return out, f.index, ctx.Err()
}

func (f *fakeDiscovery) ListServices(ctx context.Context, _ string, waitIndex uint64) ([]*structs.ServiceRegistrationListStub, uint64, error) {
	f.wait(ctx, waitIndex)
	f.mu.Lock()
	defer f.mu.Unlock()
	return nil, f.index, ctx.Err()
}

// startServiceRunner runs job's allocation with sd as service discovery.
func startServiceRunner(t *testing.T, job *structs.Job, sd ServiceDiscovery) *testRunner {
	t.Helper()
	return startServiceRunnerPort(t, job, sd, 23456)
}

// startServiceRunnerPort is startServiceRunner with port "http" on port.
func startServiceRunnerPort(t *testing.T, job *structs.Job, sd ServiceDiscovery, port int) *testRunner {
	t.Helper()
	return startRunnerWithServices(t, job, func(a *structs.Allocation) {
		a.ID, a.Name, a.NodeID = "5e1f0a52-1c3e-4b7a-9f1e-2a6b3c4d5e6f", "svc.g[0]", "node-1"
		a.AllocatedResources = &structs.AllocatedResources{Shared: structs.AllocatedSharedResources{
			Ports: []structs.PortMapping{{Label: "http", Value: port, HostIP: "127.0.0.1"}}}}
	}, sd)
}

// waitUntil polls cond every 20ms until it holds or 15s pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServicesRegisteredWhileRunning(t *testing.T) {
	sd := newFakeDiscovery()
	task := shTask("web", "", false, "sleep 60")
	task.Services = []*structs.Service{{Name: "api", PortLabel: "http", Tags: []string{"v1"}}}
	job := &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{task},
		Networks: []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}},
		Services: []*structs.Service{{Name: "web", PortLabel: "http"}},
	}}}
	r := startServiceRunner(t, job, sd)
	waitUntil(t, "two registrations", func() bool { return len(sd.registered(r.ID())) == 2 })
	regs := sd.registered(r.ID())
	want := map[string]string{
		"_nomad-task-" + r.ID() + "-web-api-http": "api",
		"_nomad-group-" + r.ID() + "-g-web-http":  "web",
	}
	for _, reg := range regs {
		if want[reg.ID] != reg.ServiceName || reg.Address != "127.0.0.1" || reg.Port != 23456 || reg.Datacenter != "dc1" || reg.JobID != "svc" {
			t.Errorf("unexpected registration %+v", reg)
		}
	}
	r.Kill(nil)
	r.wait(t)
	if left := sd.registered(r.ID()); len(left) != 0 {
		t.Errorf("registrations left after the tasks died: %+v", left)
	}
}

func TestTemplateReRenderedOnServiceChange(t *testing.T) {
	for _, mode := range []string{structs.TemplateChangeModeRestart, structs.TemplateChangeModeSignal} {
		t.Run(mode, func(t *testing.T) {
			sd := newFakeDiscovery()
			sd.setOthers(&structs.ServiceRegistration{ID: "a", ServiceName: "backend", Address: "10.0.0.1", Port: 1})
			task := shTask("web", "", false, "trap 'echo got-hup' HUP; while true; do sleep 0.1; done")
			task.Templates = []*structs.Template{{
				EmbeddedTmpl: `{{ range nomadService "backend" }}{{ .Address }}:{{ .Port }}` + "\n" + `{{ end }}`,
				DestPath:     "local/upstreams.txt", ChangeMode: mode, ChangeSignal: "SIGHUP",
			}}
			job := &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
				Name: "g", Count: 1, Tasks: []*structs.Task{task}}}}
			r := startServiceRunner(t, job, sd)
			path := filepath.Join(r.Dir().Dir, "web", "local", "upstreams.txt")
			read := func() string { b, _ := os.ReadFile(path); return string(b) }
			waitUntil(t, "task running", func() bool {
				st := r.Alloc().TaskStates["web"]
				return st != nil && st.State == structs.TaskStateRunning
			})
			if got := read(); got != "10.0.0.1:1\n" {
				t.Fatalf("first render %q", got)
			}
			sd.setOthers(&structs.ServiceRegistration{ID: "a", ServiceName: "backend", Address: "10.0.0.1", Port: 1},
				&structs.ServiceRegistration{ID: "b", ServiceName: "backend", Address: "10.0.0.2", Port: 2})
			waitUntil(t, "re-render", func() bool { return read() == "10.0.0.1:1\n10.0.0.2:2\n" })
			typ, msg := structs.TaskRestartSignal, templateRestartReason
			if mode == structs.TemplateChangeModeSignal {
				typ, msg = structs.TaskSignaling, templateSignalReason
			}
			waitUntil(t, "a "+typ+" event", func() bool { return hasEvent(r.Alloc(), "web", typ, msg) })
		})
	}
}

func TestTemplatePrimeAfterReattach(t *testing.T) {
	sd := newFakeDiscovery()
	sd.setOthers(&structs.ServiceRegistration{ID: "a", ServiceName: "backend", Address: "10.0.0.1", Port: 1})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	taskDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(taskDir, "local"), 0o755); err != nil {
		t.Fatal(err)
	}
	task := &structs.Task{Name: "web", Templates: []*structs.Template{
		{EmbeddedTmpl: `{{ range nomadService "backend" }}{{ .Port }}{{ end }}`, DestPath: "local/up.txt", Perms: "0644"},
		{EmbeddedTmpl: `static`, DestPath: "local/static.txt", Perms: "0644"},
	}}
	dest := filepath.Join(taskDir, "local", "up.txt")
	base := template.Config{TaskDir: taskDir, SharedDir: t.TempDir()}

	// The file on disk is current: nothing to do, but the service is now watched.
	if err := os.WriteFile(dest, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(taskDir, "local", "static.txt"), []byte("static"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &templateHook{services: newServiceCache(ctx, sd, "default")}
	changed, err := h.prime(task, base)
	if err != nil || len(changed) != 0 {
		t.Fatalf("prime with current files: changed %v, err %v", changed, err)
	}
	sd.setOthers(&structs.ServiceRegistration{ID: "a", ServiceName: "backend", Address: "10.0.0.1", Port: 2})
	select {
	case <-h.services.changed:
	case <-time.After(10 * time.Second):
		t.Fatal("the primed template's service is not watched")
	}
	if changed, err := h.rerender(task); err != nil || len(changed) != 1 {
		t.Fatalf("rerender: changed %v, err %v", changed, err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "2" {
		t.Errorf("up.txt = %q, want 2", b)
	}

	// A file that changed while the client was down is rewritten and reported.
	if err := os.WriteFile(dest, []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	h2 := &templateHook{services: newServiceCache(ctx, sd, "default")}
	changed, err = h2.prime(task, base)
	if err != nil || len(changed) != 1 || changed[0] != task.Templates[0] {
		t.Fatalf("prime with a stale file: changed %v, err %v", changed, err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "2" {
		t.Errorf("up.txt = %q, want 2", b)
	}
}

// TestTemplateNomadVarAndIdentity: the task gets its identity in
// secrets/nomad_token and NOMAD_TOKEN, its template reads a variable with
// that identity, and a change of the variable re-renders the template and
// restarts the task (change_mode restart).
func TestTemplateNomadVarAndIdentity(t *testing.T) {
	sd := newFakeDiscovery()
	sd.setVar("nomad/jobs/svc", map[string]string{"password": "one"})
	task := shTask("web", "", false, "echo \"env=$NOMAD_TOKEN\" >> local/env.log; sleep 60")
	task.Identity = &structs.WorkloadIdentity{Name: structs.WorkloadIdentityDefaultName, Env: true, File: true}
	task.Templates = []*structs.Template{{
		EmbeddedTmpl: `{{ with nomadVar "nomad/jobs/svc" }}password={{ .password }}{{ end }}` + "\n",
		DestPath:     "secrets/app.env", ChangeMode: structs.TemplateChangeModeRestart,
	}}
	job := &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{task}}}}
	r := startServiceRunner(t, job, sd)
	dir := filepath.Join(r.Dir().Dir, "web")
	read := func(rel string) string { b, _ := os.ReadFile(filepath.Join(dir, rel)); return string(b) }
	waitUntil(t, "task running", func() bool {
		st := r.Alloc().TaskStates["web"]
		return st != nil && st.State == structs.TaskStateRunning
	})
	if got := read("secrets/nomad_token"); got != "jwt:web:default" {
		t.Fatalf("secrets/nomad_token = %q", got)
	}
	if got := read("secrets/app.env"); got != "password=one\n" {
		t.Fatalf("first render %q", got)
	}
	waitUntil(t, "the task's NOMAD_TOKEN", func() bool { return strings.Contains(read("local/env.log"), "env=jwt:web:default") })
	sd.setVar("nomad/jobs/svc", map[string]string{"password": "two"})
	waitUntil(t, "re-render", func() bool { return read("secrets/app.env") == "password=two\n" })
	waitUntil(t, "a restart event", func() bool { return hasEvent(r.Alloc(), "web", structs.TaskRestartSignal, templateRestartReason) })
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if slices.ContainsFunc(sd.tokens, func(tok string) bool { return tok != "jwt:web:default" }) {
		t.Errorf("variables read with tokens %q, want only the task's identity", sd.tokens)
	}
}

// TestIdentityRenewedBeforeExpiry: an identity with a ttl is signed again
// at half its TTL while the task runs, and its file rewritten.
func TestIdentityRenewedBeforeExpiry(t *testing.T) {
	sd := newFakeDiscovery()
	sd.identityTTL = 2 * time.Second
	task := shTask("web", "", false, "sleep 60")
	task.Identities = []*structs.WorkloadIdentity{{Name: "vault", Audience: []string{"vault.io"}, File: true, TTL: 2 * time.Second}}
	job := &structs.Job{ID: "svc", Type: structs.JobTypeService, TaskGroups: []*structs.TaskGroup{{
		Name: "g", Count: 1, Tasks: []*structs.Task{task}}}}
	r := startServiceRunner(t, job, sd)
	path := filepath.Join(r.Dir().Dir, "web", "secrets", "nomad_vault.jwt")
	read := func() string { b, _ := os.ReadFile(path); return string(b) }
	waitUntil(t, "the first token", func() bool { return strings.HasPrefix(read(), "jwt:web:vault:") })
	first := read()
	waitUntil(t, "a renewed token", func() bool { return read() != first && strings.HasPrefix(read(), "jwt:web:vault:") })
	if st := r.Alloc().TaskStates["web"]; st == nil || st.State != structs.TaskStateRunning || st.Restarts != 0 {
		t.Errorf("task state after renewal %+v, want running without restarts (change_mode noop)", st)
	}
}
