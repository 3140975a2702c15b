package allocrunner

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// checkOutputMax bounds the output kept of one check result.
const checkOutputMax = 4 << 10

// checkResults holds the latest result of each service check of an
// allocation, and since when they have all passed.
type checkResults struct {
	mu      sync.Mutex
	results map[string]*checkEntry
	// passingSince is when every check that counts toward deployment
	// health last started passing (zero: not all pass).
	passingSince time.Time
}

// checkEntry is a check's latest result and how it counts toward
// deployment health (its on_update).
type checkEntry struct {
	res      *structs.CheckQueryResult
	onUpdate string
	// warning: the failure is a warning (a script check's exit code 1).
	warning bool
}

// healthy reports whether the entry counts as passing for deployment
// health: on_update = "ignore" always does, "ignore_warnings" also on a
// warning.
func (e *checkEntry) healthy() bool {
	switch {
	case e.onUpdate == structs.OnUpdateIgnore:
		return true
	case e.warning && e.onUpdate == structs.OnUpdateIgnoreWarn:
		return true
	}
	return e.res.Status == structs.CheckSuccess
}

// set stores res and reports whether its status changed.
func (c *checkResults) set(res *structs.CheckQueryResult, now time.Time) bool {
	return c.setEntry(&checkEntry{res: res}, now)
}

// setEntry stores e and reports whether its status changed.
func (c *checkResults) setEntry(e *checkEntry, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.results == nil {
		c.results = map[string]*checkEntry{}
	}
	old := c.results[e.res.ID]
	c.results[e.res.ID] = e
	all := true
	for _, r := range c.results {
		all = all && r.healthy()
	}
	switch {
	case !all:
		c.passingSince = time.Time{}
	case c.passingSince.IsZero():
		c.passingSince = now
	}
	return old == nil || old.res.Status != e.res.Status || old.warning != e.warning
}

// snapshot returns a copy of the results and of the IDs of those failing
// deployment health.
func (c *checkResults) snapshot() (map[string]*structs.CheckQueryResult, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]*structs.CheckQueryResult, len(c.results))
	for id, r := range c.results {
		cp := *r.res
		out[id] = &cp
	}
	return out, c.passingSince
}

// failingServices names the services with a failing check.
func (c *checkResults) failingServices() map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]bool{}
	for _, r := range c.results {
		if r.res.Status == structs.CheckFailure {
			out[r.res.Service] = true
		}
	}
	return out
}

// unhealthy returns copies of the results failing deployment health.
func (c *checkResults) unhealthy() []*structs.CheckQueryResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*structs.CheckQueryResult
	for _, r := range c.results {
		if !r.healthy() {
			cp := *r.res
			out = append(out, &cp)
		}
	}
	return out
}

// Checks returns the latest result of each of the allocation's service
// checks, by check ID (GET /v1/client/allocation/{id}/checks).
func (r *Runner) Checks() map[string]*structs.CheckQueryResult {
	out, _ := r.checks.snapshot()
	return out
}

// startChecks runs every service check of the allocation until ctx ends.
func (r *Runner) startChecks(ctx context.Context, wg *sync.WaitGroup) {
	a, node := r.current()
	for _, b := range r.bound(a, node) {
		for _, c := range b.svc.Checks {
			res := &structs.CheckQueryResult{ID: structs.CheckID(a.ID, a.TaskGroup, b.task, b.svc.Name, c.Name), Mode: "healthiness",
				Status: structs.CheckPending, Timestamp: r.cfg.Now().Unix(), Group: a.JobID + "." + a.TaskGroup, Task: b.task,
				Service: b.svc.Name, Check: c.Name, Output: "nomadlike: check not yet run"}
			r.checks.setEntry(&checkEntry{res: res, onUpdate: c.OnUpdate}, r.cfg.Now())
			wg.Go(func() { r.runCheck(ctx, *res, b, c) })
		}
	}
}

// checkTask is the task a check runs for: a script check's task, else the
// service's ("" for a group service: any task).
func checkTask(b boundService, c *structs.ServiceCheck) string {
	if c.TaskName != "" {
		return c.TaskName
	}
	return b.task
}

// runCheck probes one check every interval while its task (for a group
// service: any task) runs; it is pending otherwise. With check_restart it
// restarts the task after limit consecutive failures (check_restart.go).
func (r *Runner) runCheck(ctx context.Context, base structs.CheckQueryResult, b boundService, c *structs.ServiceCheck) {
	task := checkTask(b, c)
	watch := newRestartWatch(c.CheckRestart)
	for {
		res := base
		warning := false
		alloc, node := r.current() // copy-on-write: its TaskStates are a snapshot
		active := checkActive(alloc.TaskStates, task)
		if active {
			res.Status, res.StatusCode, res.Output, warning = r.runOnce(ctx, alloc, node, b, c, task)
		} else {
			res.Status, res.Output = structs.CheckPending, "nomadlike: the task is not running"
		}
		if ctx.Err() != nil {
			return
		}
		now := r.cfg.Now()
		res.Timestamp = now.Unix()
		if r.checks.setEntry(&checkEntry{res: &res, onUpdate: c.OnUpdate, warning: warning}, now) {
			r.healthChanged()
			r.servicesChanged() // the registrations' Failing flag
		}
		if active && watch.observe(res.Status, warning, startedAt(alloc.TaskStates, task), now) {
			r.restartForCheck(ctx, task, c.Name)
		}
		if !sleepCtx(ctx, c.Interval) {
			return
		}
	}
}

// runOnce runs the check once: a script in its task, or a probe of its
// address (the check's own port and address_mode, else the service's port
// in host mode, as in Nomad).
func (r *Runner) runOnce(ctx context.Context, alloc *structs.Allocation, node *structs.Node, b boundService, c *structs.ServiceCheck, task string) (status string, code int, output string, warning bool) {
	if c.Type == structs.ServiceCheckScript {
		return r.scriptCheck(ctx, task, c)
	}
	label := c.PortLabel
	if label == "" {
		label = b.svc.PortLabel
	}
	addr, port := serviceAddress(alloc, node, label, c.AddressMode)
	status, code, output = probe(ctx, c, net.JoinHostPort(addr, strconv.Itoa(port)))
	return status, code, output, false
}

// checkActive reports whether the check's task (any task for "") runs.
func checkActive(states map[string]*structs.TaskState, task string) bool {
	if task != "" {
		s := states[task]
		return s != nil && s.State == structs.TaskStateRunning
	}
	for _, s := range states {
		if s != nil && s.State == structs.TaskStateRunning {
			return true
		}
	}
	return false
}

// probe runs one http or tcp check against addr.
func probe(ctx context.Context, c *structs.ServiceCheck, addr string) (status string, code int, output string) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	if c.Type == structs.ServiceCheckTCP {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return structs.CheckFailure, 0, err.Error()
		}
		_ = conn.Close()
		return structs.CheckSuccess, 0, "nomad: tcp ok"
	}
	proto := c.Protocol
	if proto == "" {
		proto = "http"
	}
	var reqBody io.Reader
	if c.Body != "" {
		reqBody = strings.NewReader(c.Body)
	}
	req, err := http.NewRequestWithContext(ctx, c.Method, proto+"://"+addr+c.Path, reqBody)
	if err != nil {
		return structs.CheckFailure, 0, err.Error()
	}
	for name, vals := range c.Header {
		if strings.EqualFold(name, "Host") && len(vals) > 0 {
			req.Host = vals[0]
			continue
		}
		for _, v := range vals {
			req.Header.Add(name, v)
		}
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // #nosec G402 -- health probes, as Nomad's tls_skip_verify
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		return structs.CheckFailure, 0, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, checkOutputMax))
	out := fmt.Sprintf("nomad: http: %s\n%s", resp.Status, body)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return structs.CheckSuccess, resp.StatusCode, out
	}
	return structs.CheckFailure, resp.StatusCode, out
}

// withChecks refines a task-state verdict for health_check = "checks" when
// the group has service checks: healthy also needs every check passing for
// min_healthy_time; unhealthy when that has not happened by the deadline.
// Until the task states say healthy, their verdict stands.
func (r *Runner) withChecks(v healthVerdict, u *structs.UpdateStrategy, since, now time.Time) healthVerdict {
	if u.HealthCheck != structs.UpdateStrategyHealthCheckChecks || !v.Decided || !v.Healthy {
		return v
	}
	results, passing := r.checks.snapshot()
	if len(results) == 0 {
		return v
	}
	deadline := since.Add(u.HealthyDeadline)
	if !passing.IsZero() {
		healthyAt := passing.Add(u.MinHealthyTime)
		if !healthyAt.After(now) {
			return v
		}
		if healthyAt.Before(deadline) {
			return healthVerdict{Next: healthyAt}
		}
	}
	if now.Before(deadline) {
		return healthVerdict{Next: deadline}
	}
	ev := map[string]string{}
	for _, res := range r.checks.unhealthy() {
		owner := res.Task
		if owner == "" {
			for _, t := range r.group {
				if phaseOf(t) == phaseMain {
					owner = t.Name
					break
				}
			}
		}
		ev[owner] = "Services not healthy by deadline"
	}
	return healthVerdict{Decided: true, Events: ev}
}
