package allocrunner

import (
	"context"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// identityRenewReason is the event reason of a change_mode applied after
// an identity was renewed.
const identityRenewReason = "Workload identity renewed"

// identityHookOf returns the task's identity hook.
func (tr *taskRunner) identityHookOf() *identityHook {
	for _, h := range tr.hooks {
		if ih, ok := h.(*identityHook); ok {
			return ih
		}
	}
	return nil
}

// hasTTLIdentity reports whether a task has an identity that expires.
func hasTTLIdentity(t *structs.Task) bool {
	for _, w := range t.TaskIdentities() {
		if w.TTL > 0 {
			return true
		}
	}
	return false
}

// nextRenewal is when the first expiring identity is due for renewal (half
// its TTL before it expires); zero when none expires.
func (h *identityHook) nextRenewal(task *structs.Task) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	var next time.Time
	for _, w := range task.TaskIdentities() {
		s := h.tokens[w.IdentityName()]
		if w.TTL <= 0 || s == nil || s.Expiration.IsZero() {
			continue
		}
		at := s.Expiration.Add(-w.TTL / 2)
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	return next
}

// watchIdentities renews the task's expiring identities at half their
// TTL while the task runs, rewrites their files and applies their
// change_mode, until ctx ends. A renewal that fails is retried; the task
// keeps its old token meanwhile.
func (tr *taskRunner) watchIdentities(ctx context.Context, h *identityHook) {
	var wait time.Duration
	for ctx.Err() == nil {
		next := h.nextRenewal(tr.task)
		if next.IsZero() {
			next = time.Now().Add(time.Second) // not signed yet: the task has not started
		}
		if !sleepCtx(ctx, max(time.Until(next), wait)) {
			return
		}
		if ok, _ := tr.running(); !ok {
			continue // the next start signs what it needs
		}
		before := map[string]string{}
		for _, w := range tr.task.TaskIdentities() {
			before[w.IdentityName()] = h.token(w.IdentityName())
		}
		alloc, _ := tr.current()
		if err := h.sign(ctx, alloc, tr.task, false); err != nil {
			wait = retryAfter(wait, 10*time.Second)
			tr.logger.Warn("renew workload identity failed; retrying", "error", err, "retry_in", wait)
			continue
		}
		wait = 0
		h.mu.Lock()
		dir := h.taskDir
		h.mu.Unlock()
		if err := h.writeFiles(dir, tr.task); err != nil {
			tr.logger.Warn("write renewed workload identity", "error", err)
		}
	apply:
		for _, w := range tr.task.TaskIdentities() {
			if h.token(w.IdentityName()) == before[w.IdentityName()] {
				continue
			}
			switch w.ChangeMode {
			case "restart":
				if err := tr.restartBecause(ctx, identityRenewReason); err != nil {
					tr.logger.Warn("restart after identity renewal failed", "error", err)
				}
				break apply // one restart serves every renewed identity
			case "signal":
				if err := tr.signalBecause(ctx, w.ChangeSignal, identityRenewReason); err != nil {
					tr.logger.Warn("signal after identity renewal failed", "signal", w.ChangeSignal, "error", err)
				}
			}
		}
	}
}
