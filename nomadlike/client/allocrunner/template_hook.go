package allocrunner

import (
	"bytes"
	"context"
	"maps"
	"strings"
	"sync"

	"github.com/nomadlike/nomadlike/nomadlike/client/template"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// templateHook renders the task's template blocks into its directory
// before it starts (after the artifacts it may use as sources are fetched).
// The KEY=VALUE lines of env = true templates join the task's environment
// and the driver config is interpolated again with them.
//
// Templates are rendered at the first start; a restart renders them again
// only when the restart policy says render_templates = true, as in Nomad,
// or when the client has service discovery (nomadService data may have
// changed). While the task runs, template_watch.go renders them again when
// a service they read changes and applies change_mode. A template that does
// not render (a syntax error, a missing source, a Consul function) fails
// the task with a Setup Failure event naming the destination and the line;
// it is not restarted, as no restart would fix it.
type templateHook struct {
	// services serves nomadService; nil without service discovery.
	services *serviceCache

	mu       sync.Mutex
	rendered bool
	env      map[string]string // from env = true templates, kept for restarts
	// base is the render config of the last start (Template unset), for
	// re-renders while the task runs; contents the last output per template.
	base     *template.Config
	contents map[int][]byte
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
	if !h.rendered || rerender || h.services != nil {
		base := template.Config{TaskDir: resp.TaskDir, SharedDir: req.AllocDir.SharedDir(),
			Env: resp.Env.Lookup, Interpolate: resp.Env.Replace}
		if h.services != nil {
			h.services.setToken(resp.IdentityToken)
			base.Services = h.services
			base.Variables = h.services
		}
		env := map[string]string{}
		contents := map[int][]byte{}
		for i, t := range req.Task.Templates {
			cfg := base
			cfg.Template = t
			r, err := template.Render(cfg)
			if err != nil {
				return &fatalSetupError{err: err}
			}
			if err := r.Write(); err != nil {
				return err // an I/O error: the restart policy decides
			}
			maps.Copy(env, r.Env)
			contents[i] = r.Content
		}
		h.env, h.rendered, h.base, h.contents = env, true, &base, contents
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

// rerender renders the task's templates again with the last start's
// config and writes those whose content changed, which it returns. A
// template that fails now keeps its last content (the error is returned
// after the others are done).
func (h *templateHook) rerender(task *structs.Task) ([]*structs.Template, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.base == nil {
		return nil, nil
	}
	var changed []*structs.Template
	var firstErr error
	for i, t := range task.Templates {
		if !readsServices(t) {
			continue // its inputs did not change
		}
		cfg := *h.base
		cfg.Template = t
		r, err := template.Render(cfg)
		if err == nil && !bytes.Equal(r.Content, h.contents[i]) {
			if err = r.Write(); err == nil {
				h.contents[i] = r.Content
				maps.Copy(h.env, r.Env)
				changed = append(changed, t)
			}
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return changed, firstErr
}

// readsServices reports whether a template may call nomadService or
// nomadServices (a source file is read again to find out).
func readsServices(t *structs.Template) bool {
	return t.SourcePath != "" || strings.Contains(t.EmbeddedTmpl, "nomadService") || strings.Contains(t.EmbeddedTmpl, "nomadVar")
}

// fatalSetupError is a prestart hook error no restart can fix: the task
// fails at once with a Setup Failure event carrying the error's text.
type fatalSetupError struct{ err error }

func (e *fatalSetupError) Error() string { return e.err.Error() }
func (e *fatalSetupError) Unwrap() error { return e.err }

// prime takes over the templates of a task re-attached after a client
// restart (no prestart ran): it records base, renders the templates that
// read services and writes those whose file differs from the new content,
// which it returns (services may have changed while the client was down).
func (h *templateHook) prime(task *structs.Task, base template.Config) ([]*structs.Template, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.base != nil {
		return nil, nil // a start rendered them meanwhile
	}
	if h.services != nil {
		base.Services = h.services
	}
	h.base, h.rendered, h.contents, h.env = &base, true, map[int][]byte{}, map[string]string{}
	var changed []*structs.Template
	var firstErr error
	for i, t := range task.Templates {
		cfg := base
		cfg.Template = t
		r, err := template.Render(cfg)
		if err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		maps.Copy(h.env, r.Env)
		h.contents[i] = r.Content
		if r.Unchanged() {
			continue
		}
		if err := r.Write(); err != nil {
			firstErr = cmpErr(firstErr, err)
			continue
		}
		if readsServices(t) {
			changed = append(changed, t)
		}
	}
	return changed, firstErr
}

// cmpErr keeps the first error.
func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}
