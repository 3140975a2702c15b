package allocrunner

import (
	"context"
	"maps"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/client/template"
)

// templateHook renders the task's template blocks into its directory
// before it starts (after the artifacts it may use as sources are fetched).
// The KEY=VALUE lines of env = true templates join the task's environment
// and the driver config is interpolated again with them.
//
// Templates are rendered at the first start; a restart renders them again
// only when the restart policy says render_templates = true, as in Nomad.
// There is no Consul or Nomad Variables data that could change while the
// task runs, so change_mode never fires. A template that does not render
// (a syntax error, a missing source, a Consul function) fails the task with
// a Setup Failure event naming the destination and the line; it is not
// restarted, as no restart would fix it.
type templateHook struct {
	mu       sync.Mutex
	rendered bool
	env      map[string]string // from env = true templates, kept for restarts
}

func newTemplateHook() *templateHook { return &templateHook{} }

func (*templateHook) Name() string { return "template" }

func (h *templateHook) Prestart(_ context.Context, req *PrestartRequest, resp *PrestartResponse) error {
	if len(req.Task.Templates) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	rerender := req.Task.RestartPolicy != nil && req.Task.RestartPolicy.RenderTemplates
	if !h.rendered || rerender {
		env := map[string]string{}
		for _, t := range req.Task.Templates {
			r, err := template.Render(template.Config{
				Template: t, TaskDir: resp.TaskDir, SharedDir: req.AllocDir.SharedDir(),
				Env: resp.Env.Lookup, Interpolate: resp.Env.Replace,
			})
			if err != nil {
				return &fatalSetupError{err: err}
			}
			if err := r.Write(); err != nil {
				return err // an I/O error: the restart policy decides
			}
			maps.Copy(env, r.Env)
		}
		h.env, h.rendered = env, true
	}
	if len(h.env) > 0 {
		resp.Env = resp.Env.WithVars(h.env)
		resp.Config, resp.Unresolved = resp.Env.ReplaceConfigUnresolved(req.Task.Config)
		if resp.Config == nil {
			resp.Config = map[string]any{}
		}
	}
	return nil
}

// fatalSetupError is a prestart hook error no restart can fix: the task
// fails at once with a Setup Failure event carrying the error's text.
type fatalSetupError struct{ err error }

func (e *fatalSetupError) Error() string { return e.err.Error() }
func (e *fatalSetupError) Unwrap() error { return e.err }
