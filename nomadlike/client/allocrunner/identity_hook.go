package allocrunner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// identityHook gets the task's workload identities from the servers (the
// default one always: templates read variables with it) and exposes those
// whose identity block asks: env = true sets NOMAD_TOKEN (NOMAD_TOKEN_<name>
// for a named one), file = true writes secrets/nomad_token
// (secrets/nomad_<name>.jwt, or filepath). Identities with a ttl are
// renewed while the task runs (identity_watch.go).
type identityHook struct {
	// sd signs identities; nil without servers (no identities).
	sd ServiceDiscovery

	mu     sync.Mutex
	tokens map[string]*structs.SignedWorkloadIdentity
	// taskDir is the last start's task dir, for renewals.
	taskDir string
}

func newIdentityHook(sd ServiceDiscovery) *identityHook {
	return &identityHook{sd: sd, tokens: map[string]*structs.SignedWorkloadIdentity{}}
}

func (*identityHook) Name() string { return "identity" }

// identitySignTimeout bounds the retries of a start's identity request
// (the servers may have no root key for a moment after an election).
const identitySignTimeout = 30 * time.Second

// needsIdentity reports whether a task uses a workload identity: it has an
// identity block, or a template (which may read variables with it).
func needsIdentity(t *structs.Task) bool {
	return t.Identity != nil || len(t.Identities) > 0 || slices.ContainsFunc(t.Templates, readsServices)
}

// sign asks the servers for the task's identities that have no token yet
// or whose token expires within half its TTL (all of them when force).
func (h *identityHook) sign(ctx context.Context, alloc *structs.Allocation, task *structs.Task, force bool) error {
	now := time.Now()
	var reqs []*structs.WorkloadIdentityRequest
	h.mu.Lock()
	for _, w := range task.TaskIdentities() {
		cur := h.tokens[w.IdentityName()]
		if !force && cur != nil && (cur.Expiration.IsZero() || now.Before(cur.Expiration.Add(-w.TTL/2))) {
			continue
		}
		reqs = append(reqs, &structs.WorkloadIdentityRequest{AllocID: alloc.ID, TaskName: task.Name, IdentityName: w.IdentityName()})
	}
	h.mu.Unlock()
	if len(reqs) == 0 {
		return nil
	}
	signed, err := h.sd.SignIdentities(ctx, reqs)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range signed {
		h.tokens[s.IdentityName] = s
	}
	return nil
}

// token returns identity name's current JWT ("" when none).
func (h *identityHook) token(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s := h.tokens[name]; s != nil {
		return s.JWT
	}
	return ""
}

// identityFile is where an identity's token is written, relative to the
// task dir.
func identityFile(w *structs.WorkloadIdentity) string {
	if w.Filepath != "" {
		return w.Filepath
	}
	if w.IdentityName() == structs.WorkloadIdentityDefaultName {
		return filepath.Join("secrets", "nomad_token")
	}
	return filepath.Join("secrets", "nomad_"+w.IdentityName()+".jwt")
}

// identityEnv is the environment variable of an identity's token.
func identityEnv(w *structs.WorkloadIdentity) string {
	if w.IdentityName() == structs.WorkloadIdentityDefaultName {
		return "NOMAD_TOKEN"
	}
	return "NOMAD_TOKEN_" + w.IdentityName()
}

// writeFiles writes the tokens of the identities with file = true into
// the task dir, through its root (the task cannot redirect the write).
func (h *identityHook) writeFiles(taskDir string, task *structs.Task) error {
	root, err := os.OpenRoot(taskDir)
	if err != nil {
		return err
	}
	defer root.Close()
	for _, w := range task.TaskIdentities() {
		tok := h.token(w.IdentityName())
		if !w.File || tok == "" {
			continue
		}
		rel := identityFile(w)
		if strings.HasPrefix(filepath.Clean(rel), "..") || filepath.IsAbs(rel) {
			return &validationError{err: fmt.Errorf("identity %q: filepath %q must be inside the task dir (e.g. secrets/token.jwt)", w.IdentityName(), rel)}
		}
		if dir := filepath.Dir(rel); dir != "." {
			if err := root.MkdirAll(dir, 0o700); err != nil {
				return fmt.Errorf("identity %q: %w", w.IdentityName(), err)
			}
		}
		if err := root.WriteFile(rel, []byte(tok), 0o600); err != nil {
			return fmt.Errorf("identity %q: write %s: %w", w.IdentityName(), rel, err)
		}
	}
	return nil
}

func (h *identityHook) Prestart(ctx context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if h.sd == nil || !needsIdentity(req.Task) {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, identitySignTimeout)
	defer cancel()
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		err := h.sign(sctx, req.Alloc, req.Task, false)
		if err == nil {
			break
		}
		if !sleepCtx(sctx, wait) {
			return fmt.Errorf("get the task's workload identities: %w", err)
		}
	}
	if err := h.writeFiles(resp.TaskDir, req.Task); err != nil {
		return err
	}
	h.mu.Lock()
	h.taskDir = resp.TaskDir
	h.mu.Unlock()
	env := map[string]string{}
	for _, w := range req.Task.TaskIdentities() {
		if w.Env {
			env[identityEnv(w)] = h.token(w.IdentityName())
		}
	}
	if len(env) > 0 {
		resp.Env = resp.Env.WithVars(env)
		resp.Config, resp.Unresolved = resp.Env.ReplaceConfigUnresolved(req.Task.Config)
		if resp.Config == nil {
			resp.Config = map[string]any{}
		}
	}
	resp.IdentityToken = h.token(structs.WorkloadIdentityDefaultName)
	return nil
}
