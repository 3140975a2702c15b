package allocrunner

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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
	results map[string]*structs.CheckQueryResult
	// passingSince is when every check last started passing (zero: not all pass).
	passingSince time.Time
}

// set stores res and reports whether its status changed.
func (c *checkResults) set(res *structs.CheckQueryResult, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.results == nil {
		c.results = map[string]*structs.CheckQueryResult{}
	}
	old := c.results[res.ID]
	c.results[res.ID] = res
	all := true
	for _, r := range c.results {
		all = all && r.Status == structs.CheckSuccess
	}
	switch {
	case !all:
		c.passingSince = time.Time{}
	case c.passingSince.IsZero():
		c.passingSince = now
	}
	return old == nil || old.Status != res.Status
}

// snapshot returns a copy of the results.
func (c *checkResults) snapshot() (map[string]*structs.CheckQueryResult, time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]*structs.CheckQueryResult, len(c.results))
	for id, r := range c.results {
		cp := *r
		out[id] = &cp
	}
	return out, c.passingSince
}

// Checks returns the latest result of each of the allocation's service
// checks, by check ID (GET /v1/client/allocation/{id}/checks).
func (r *Runner) Checks() map[string]*structs.CheckQueryResult {
	out, _ := r.checks.snapshot()
	return out
}

// groupChecks calls f for each check of the group's and its tasks' services.
func groupChecks(tg *structs.TaskGroup, f func(task string, s *structs.Service, c *structs.ServiceCheck)) {
	for _, s := range tg.Services {
		for _, c := range s.Checks {
			f("", s, c)
		}
	}
	for _, t := range tg.Tasks {
		for _, s := range t.Services {
			for _, c := range s.Checks {
				f(t.Name, s, c)
			}
		}
	}
}

// startChecks runs every service check of the allocation until ctx ends.
func (r *Runner) startChecks(ctx context.Context, wg *sync.WaitGroup) {
	a, _ := r.current()
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return
	}
	groupChecks(tg, func(task string, s *structs.Service, c *structs.ServiceCheck) {
		res := &structs.CheckQueryResult{ID: structs.CheckID(a.ID, tg.Name, task, s.Name, c.Name), Mode: "healthiness",
			Status: structs.CheckPending, Timestamp: r.cfg.Now().Unix(), Group: a.JobID + "." + tg.Name, Task: task, Service: s.Name, Check: c.Name,
			Output: "nomadlike: check not yet run"}
		r.checks.set(res, r.cfg.Now())
		wg.Go(func() { r.runCheck(ctx, *res, task, s, c) })
	})
}

// runCheck probes one check every interval while its task (for a group
// service: any task) runs; it is pending otherwise.
func (r *Runner) runCheck(ctx context.Context, base structs.CheckQueryResult, task string, s *structs.Service, c *structs.ServiceCheck) {
	for {
		res := base
		alloc, node := r.current() // copy-on-write: its TaskStates are a snapshot
		if checkActive(alloc.TaskStates, task) {
			addr, port := serviceAddress(alloc, node, s.PortLabel)
			res.Status, res.StatusCode, res.Output = probe(ctx, c, net.JoinHostPort(addr, strconv.Itoa(port)))
		} else {
			res.Status, res.Output = structs.CheckPending, "nomadlike: the task is not running"
		}
		if ctx.Err() != nil {
			return
		}
		now := r.cfg.Now()
		res.Timestamp = now.Unix()
		if r.checks.set(&res, now) {
			r.healthChanged()
		}
		if !sleepCtx(ctx, c.Interval) {
			return
		}
	}
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
	req, err := http.NewRequestWithContext(ctx, c.Method, proto+"://"+addr+c.Path, nil)
	if err != nil {
		return structs.CheckFailure, 0, err.Error()
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
	for _, res := range results {
		if res.Status == structs.CheckSuccess {
			continue
		}
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
