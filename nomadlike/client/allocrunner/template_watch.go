package allocrunner

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/client/template"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Reasons recorded when a re-rendered template acts on its task, as Nomad's.
const (
	templateRestartReason = "Template with change_mode restart re-rendered"
	templateSignalReason  = "Template re-rendered"
)

// templateHookOf returns the task's template hook.
func (tr *taskRunner) templateHookOf() *templateHook {
	for _, h := range tr.hooks {
		if th, ok := h.(*templateHook); ok {
			return th
		}
	}
	return nil
}

// watchTemplates re-renders the task's templates whenever a service they
// read changes, until ctx ends. When a file's content changed and the task
// runs, change_mode applies: "restart" restarts the task, "signal" sends
// change_signal, "noop" leaves it be. splay delays the action by a random
// time up to the largest splay of the changed templates.
func (tr *taskRunner) watchTemplates(ctx context.Context, h *templateHook) {
	tr.primeTemplates(ctx, h)
	for {
		select {
		case <-ctx.Done():
			return
		case <-h.services.changed:
		}
		changed, err := h.rerender(tr.task)
		if err != nil {
			tr.logger.Warn("re-render template failed; keeping its last content", "error", err)
		}
		if len(changed) == 0 {
			continue
		}
		if ok, _ := tr.running(); !ok {
			continue // the next start uses the new files
		}
		var splay time.Duration
		for _, t := range changed {
			splay = max(splay, t.Splay)
		}
		if splay > 0 && !sleepCtx(ctx, rand.N(splay)) {
			return
		}
		tr.applyChangeMode(ctx, changed)
	}
}

// applyChangeMode acts on the templates that changed: one restart if any
// asks for it, else each distinct change_signal once.
func (tr *taskRunner) applyChangeMode(ctx context.Context, changed []*structs.Template) {
	if slices.ContainsFunc(changed, func(t *structs.Template) bool { return t.ChangeMode == structs.TemplateChangeModeRestart }) {
		if err := tr.restartBecause(ctx, templateRestartReason); err != nil {
			tr.logger.Warn("restart after template change failed", "error", err)
		}
		return
	}
	var sent []string
	for _, t := range changed {
		if t.ChangeMode != structs.TemplateChangeModeSignal || slices.Contains(sent, t.ChangeSignal) {
			continue
		}
		sent = append(sent, t.ChangeSignal)
		if err := tr.signalBecause(ctx, t.ChangeSignal, templateSignalReason); err != nil {
			tr.logger.Warn("signal after template change failed", "signal", t.ChangeSignal, "error", err)
		}
	}
}

// primeTemplates, for a task re-attached after a client restart, builds
// the render config the task's start would have (task dir and
// environment), renders the templates so their services are watched, and
// applies change_mode to those that changed while the client was down.
func (tr *taskRunner) primeTemplates(ctx context.Context, h *templateHook) {
	tr.mu.Lock()
	restored := tr.handle != nil
	tr.mu.Unlock()
	if !restored {
		return
	}
	alloc, node := tr.current()
	req := &PrestartRequest{Alloc: alloc, Task: tr.task, Node: node, Region: tr.region, AllocDir: tr.dir, Driver: tr.driver}
	resp := &PrestartResponse{}
	for _, hk := range []prestartHook{taskDirHook{}, envHook{}} {
		if err := hk.Prestart(ctx, req, resp); err != nil {
			tr.logger.Warn("prepare templates of a re-attached task; they are not watched", "error", err)
			return
		}
	}
	changed, err := h.prime(tr.task, template.Config{TaskDir: resp.TaskDir, SharedDir: tr.dir.SharedDir(),
		Env: resp.Env.Lookup, Interpolate: resp.Env.Replace})
	if err != nil {
		tr.logger.Warn("render templates of a re-attached task", "error", err)
	}
	if ok, _ := tr.running(); ok && len(changed) > 0 {
		tr.applyChangeMode(ctx, changed)
	}
}
