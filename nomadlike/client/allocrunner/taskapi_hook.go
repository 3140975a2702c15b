package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// taskAPISocket is the Task API's socket in the task's secrets dir (Nomad's).
const taskAPISocket = "api.sock"

// maxSocketPath is the longest unix socket path the kernel accepts.
const maxSocketPath = 107

// taskAPIHook serves the agent's HTTP API on secrets/api.sock (Nomad's Task
// API), so a task reaches it without a network: curl --unix-socket
// "$NOMAD_SECRETS_DIR/api.sock" http://localhost/v1/var/nomad/jobs/web. A
// request without a token is sent with the task's workload identity. The
// socket is made after the secrets tmpfs is mounted (the task dir hook) and
// lives until the task runner stops.
type taskAPIHook struct {
	handler http.Handler // nil: no Task API

	mu    sync.Mutex
	ln    net.Listener
	token string
}

func newTaskAPIHook(h http.Handler) *taskAPIHook { return &taskAPIHook{handler: h} }

func (*taskAPIHook) Name() string { return "task_api" }

func (h *taskAPIHook) Prestart(ctx context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if h.handler == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.token = resp.IdentityToken
	if h.ln != nil {
		return nil
	}
	path := filepath.Join(resp.TaskDir, "secrets", taskAPISocket)
	if len(path) > maxSocketPath {
		resp.Warnings = append(resp.Warnings, fmt.Sprintf("no Task API socket: its path %s is longer than the %d bytes a unix socket may have (use a shorter data_dir)", path, maxSocketPath))
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("task API socket: remove a stale %s: %w", path, err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("task API socket: %w", err)
	}
	h.ln = ln
	srv := &http.Server{Handler: http.HandlerFunc(h.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
		_ = os.Remove(path)
	}()
	return nil
}

// serve passes a request to the agent's API, with the task's identity
// when it carries no token.
func (h *taskAPIHook) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-Nomad-Token") == "" && r.Header.Get("Authorization") == "" {
		h.mu.Lock()
		tok := h.token
		h.mu.Unlock()
		if tok != "" {
			r.Header.Set("X-Nomad-Token", tok)
		}
	}
	h.handler.ServeHTTP(w, r)
}
