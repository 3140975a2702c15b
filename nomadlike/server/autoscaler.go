package server

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// The leader's autoscaler evaluates each group's scaling policy in the
// nomad-autoscaler format (horizontal application scaling with the
// nomad-apm source) against the usage the clients report, and scales
// through ScaleJob, the path `job scale` takes: min/max hold, each action
// is a scaling event with its reason, and a job whose deployment is
// running is left alone.

// Autoscaler defaults, as nomad-autoscaler's.
const (
	defaultEvaluationInterval = 10 * time.Second
	defaultCooldown           = 5 * time.Minute
	defaultTargetThreshold    = 0.01
	// usageMaxAge is how old a client's usage report may be and still count.
	usageMaxAge = time.Minute
	// autoscalerTick is how often the leader looks for policies due.
	autoscalerTick = time.Second
)

// usageTable holds each node's latest usage report (leader memory). A
// report is only consulted for the allocations the state places on the
// node that sent it: a client cannot speak for another node's allocations.
type usageTable struct {
	mu    sync.Mutex
	nodes map[string]nodeUsage
}

type nodeUsage struct {
	at     time.Time
	allocs map[string]*structs.AllocUsage
}

// ReportUsage records a client's usage report (PUT /v1/node/{id}/usage),
// replacing what the node reported before.
func (s *Server) ReportUsage(nodeID string, r *structs.NodeUsageReport) {
	t := &s.usage
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.nodes == nil {
		t.nodes = map[string]nodeUsage{}
	}
	if r == nil || len(r.Allocs) == 0 {
		delete(t.nodes, nodeID)
		return
	}
	t.nodes[nodeID] = nodeUsage{at: time.Now(), allocs: r.Allocs}
}

// get returns what alloc's own node last reported of it, nil when the
// report is missing or older than usageMaxAge.
func (t *usageTable) get(a *structs.Allocation, now time.Time) *structs.AllocUsage {
	t.mu.Lock()
	defer t.mu.Unlock()
	n, ok := t.nodes[a.NodeID]
	if !ok || now.Sub(n.at) > usageMaxAge {
		return nil
	}
	return n.allocs[a.ID]
}

// prune forgets the reports of nodes that stopped reporting.
func (t *usageTable) prune(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, n := range t.nodes {
		if now.Sub(n.at) > usageMaxAge {
			delete(t.nodes, id)
		}
	}
}

// autoscalerState is the autoscaler's memory of each policy (by ID).
type autoscalerState struct {
	mu       sync.Mutex
	policies map[string]*policyState
}

type policyState struct {
	lastEval, lastAction time.Time
	last                 *structs.ScalingDecision
}

// LastScalingDecision returns the autoscaler's last decision for a policy
// (nil before its first evaluation on this leader).
func (s *Server) LastScalingDecision(policyID string) *structs.ScalingDecision {
	s.autoscale.mu.Lock()
	defer s.autoscale.mu.Unlock()
	if ps := s.autoscale.policies[policyID]; ps != nil && ps.last != nil {
		d := *ps.last
		return &d
	}
	return nil
}

// runAutoscaler is the leader goroutine that evaluates policies when due.
func (s *Server) runAutoscaler(ctx context.Context) {
	t := time.NewTicker(autoscalerTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.usage.prune(time.Now())
		jobs, err := s.state.Jobs(nil, "*")
		if err != nil {
			s.logger.Warn("autoscaler: list jobs", "error", err)
			continue
		}
		for _, p := range JobScalingPolicies(jobs, "") {
			if ctx.Err() != nil {
				return
			}
			s.autoscalePolicy(ctx, p, time.Now())
		}
	}
}

// autoscalePolicy evaluates p if it is due and records the decision.
func (s *Server) autoscalePolicy(ctx context.Context, p *structs.ScalingPolicy, now time.Time) {
	if !p.Enabled || p.Type != structs.ScalingPolicyTypeHorizontal || len(p.Policy) == 0 {
		return
	}
	pol, err := parseAutoscalePolicy(p.Policy)
	s.autoscale.mu.Lock()
	if s.autoscale.policies == nil {
		s.autoscale.policies = map[string]*policyState{}
	}
	ps := s.autoscale.policies[p.ID]
	if ps == nil {
		ps = &policyState{}
		s.autoscale.policies[p.ID] = ps
	}
	interval := defaultEvaluationInterval // a policy that does not parse is reported at the default pace
	if pol != nil {
		interval = pol.interval
	}
	due := now.Sub(ps.lastEval) >= interval
	if due {
		ps.lastEval = now
	}
	lastAction := ps.lastAction
	s.autoscale.mu.Unlock()
	if !due {
		return
	}
	d := s.decide(ctx, p, pol, err, lastAction, now)
	s.autoscale.mu.Lock()
	ps.last = d
	if d.Action == "scale-up" || d.Action == "scale-down" {
		ps.lastAction = now
	}
	s.autoscale.mu.Unlock()
}

// decide evaluates one policy and, when the count should change, scales.
func (s *Server) decide(ctx context.Context, p *structs.ScalingPolicy, pol *autoscalePolicy, parseErr error, lastAction, now time.Time) *structs.ScalingDecision {
	d := &structs.ScalingDecision{Time: now}
	if parseErr != nil {
		d.Action, d.Reason = "error", parseErr.Error()
		return d
	}
	ns, jobID, group := p.Target[structs.ScalingTargetNamespace], p.Target[structs.ScalingTargetJob], p.Target[structs.ScalingTargetGroup]
	job, err := s.state.JobByID(nil, ns, jobID)
	if err != nil || job == nil || job.Stop {
		d.Action, d.Reason = "skipped", "the job is stopped or gone"
		return d
	}
	var tg *structs.TaskGroup
	for _, g := range job.TaskGroups {
		if g.Name == group {
			tg = g
		}
	}
	if tg == nil {
		d.Action, d.Reason = "skipped", fmt.Sprintf("group %q is not in the job", group)
		return d
	}
	d.Current, d.Desired = int64(tg.Count), int64(tg.Count)
	if dep, err := s.state.LatestDeploymentByJobID(nil, ns, jobID); err == nil && dep != nil && dep.Active() {
		d.Action, d.Reason = "skipped", fmt.Sprintf("deployment %s is %s: the autoscaler never fights a rollout", dep.ID[:min(8, len(dep.ID))], dep.Status)
		return d
	}
	if !lastAction.IsZero() && now.Sub(lastAction) < pol.cooldown {
		d.Action, d.Reason = "skipped", fmt.Sprintf("in cooldown for %v after the last scaling action", (pol.cooldown-now.Sub(lastAction)).Round(time.Second))
		return d
	}
	allocs, err := s.state.AllocsByJob(nil, ns, jobID, false)
	if err != nil {
		d.Action, d.Reason = "error", fmt.Sprintf("list allocations: %v", err)
		return d
	}
	var running []*structs.Allocation
	for _, a := range allocs {
		if a.TaskGroup == group && a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusRunning {
			running = append(running, a)
		}
	}
	// The checks' answers; the largest count wins (scaling up is safer).
	var best *structs.ScalingDecision
	var reasons []string
	for _, c := range pol.checks {
		metric, err := s.queryNomadAPM(c.query, running, now)
		if err != nil {
			reasons = append(reasons, fmt.Sprintf("check %s: %v", c.name, err))
			continue
		}
		desired, why := c.strategy.apply(metric, d.Current)
		cd := &structs.ScalingDecision{Time: now, Check: c.name, Query: c.query, Metric: &metric, Current: d.Current, Desired: desired,
			Strategy: c.strategy.name, Reason: fmt.Sprintf("check %s: %s = %.2f; %s", c.name, c.query, metric, why)}
		if best == nil || cd.Desired > best.Desired {
			best = cd
		}
	}
	if best == nil {
		d.Action, d.Reason = "none", strings.Join(reasons, "; ")
		return d
	}
	d = best
	if d.Desired < p.Min {
		d.Desired, d.Reason = p.Min, d.Reason+fmt.Sprintf("; held at min %d", p.Min)
	}
	if p.Max >= 0 && d.Desired > p.Max {
		d.Desired, d.Reason = p.Max, d.Reason+fmt.Sprintf("; held at max %d", p.Max)
	}
	switch {
	case d.Desired > d.Current:
		d.Action = "scale-up"
	case d.Desired < d.Current:
		d.Action = "scale-down"
	default:
		d.Action = "none"
		return d
	}
	count := d.Desired
	resp, err := s.ScaleJob(ctx, ns, jobID, &structs.ScalingRequest{
		Count: &count, Target: map[string]string{structs.ScalingTargetGroup: group},
		Message: fmt.Sprintf("autoscaler: %s from %d to %d: %s", d.Action, d.Current, d.Desired, d.Reason),
		Meta: map[string]any{"source": "nomadlike-autoscaler", "check": d.Check, "query": d.Query,
			"metric": strconv.FormatFloat(*d.Metric, 'f', 2, 64), "strategy": d.Strategy},
	})
	if err != nil {
		d.Action, d.Reason = "error", fmt.Sprintf("scale to %d: %v", count, err)
		return d
	}
	d.EvalID = resp.EvalID
	s.logger.Info("autoscaler scaled a group", "job_id", jobID, "group", group, "from", d.Current, "to", d.Desired, "reason", d.Reason)
	return d
}

// queryNomadAPM answers a nomad-apm task-group query ("avg_cpu",
// "max_memory", "avg_cpu-allocated", ...) from the clients' usage reports
// of the group's running allocations.
func (s *Server) queryNomadAPM(query string, allocs []*structs.Allocation, now time.Time) (float64, error) {
	op, metric, ok := strings.Cut(query, "_")
	if !ok {
		return 0, fmt.Errorf("query %q is not <op>_<metric> (e.g. avg_cpu)", query)
	}
	var vals []float64
	for _, a := range allocs {
		u := s.usage.get(a, now)
		if u == nil {
			continue
		}
		var cpuMHz, memMB float64
		if a.AllocatedResources != nil {
			for _, tr := range a.AllocatedResources.Tasks {
				if tr != nil {
					cpuMHz += float64(tr.Cpu.CpuShares)
					memMB += float64(tr.Memory.MemoryMB)
				}
			}
		}
		switch metric {
		case "cpu":
			vals = append(vals, u.CPUPercent)
		case "memory":
			vals = append(vals, float64(u.MemoryBytes))
		case "cpu-allocated":
			if cpuMHz > 0 {
				vals = append(vals, u.CPUMHz/cpuMHz*100)
			}
		case "memory-allocated":
			if memMB > 0 {
				vals = append(vals, float64(u.MemoryBytes)/(memMB*1024*1024)*100)
			}
		default:
			return 0, fmt.Errorf("query %q: metric %q is not cpu, memory, cpu-allocated or memory-allocated", query, metric)
		}
	}
	if len(vals) == 0 {
		return 0, fmt.Errorf("no usage reported yet for the %d running allocation(s)", len(allocs))
	}
	sort.Float64s(vals)
	switch op {
	case "avg":
		sum := 0.0
		for _, v := range vals {
			sum += v
		}
		return sum / float64(len(vals)), nil
	case "sum":
		sum := 0.0
		for _, v := range vals {
			sum += v
		}
		return sum, nil
	case "min":
		return vals[0], nil
	case "max":
		return vals[len(vals)-1], nil
	}
	return 0, fmt.Errorf("query %q: operation %q is not avg, sum, min or max", query, op)
}

// autoscalePolicy is a parsed scaling policy block.
type autoscalePolicy struct {
	interval, cooldown time.Duration
	checks             []autoscaleCheck
}

type autoscaleCheck struct {
	name, query string
	strategy    autoscaleStrategy
}

type autoscaleStrategy struct {
	name   string
	config map[string]any
}

// parseAutoscalePolicy reads a policy in the shape jobspec stores (and
// Nomad's HCL1 did): check "name" { ... } is "check": [{"name": [{...}]}].
func parseAutoscalePolicy(p map[string]any) (*autoscalePolicy, error) {
	out := &autoscalePolicy{interval: defaultEvaluationInterval, cooldown: defaultCooldown}
	var err error
	if out.interval, err = policyDuration(p, "evaluation_interval", defaultEvaluationInterval); err != nil {
		return nil, err
	}
	if out.cooldown, err = policyDuration(p, "cooldown", defaultCooldown); err != nil {
		return nil, err
	}
	for _, named := range labeledBlocks(p["check"]) {
		c := autoscaleCheck{name: named.name}
		if src, _ := named.body["source"].(string); src != "" && src != "nomad-apm" {
			return nil, fmt.Errorf("check %q: source %q is not supported: the built-in autoscaler reads nomad-apm (the clients' usage); drop source or set it to \"nomad-apm\"", c.name, src)
		}
		c.query, _ = named.body["query"].(string)
		if c.query == "" {
			return nil, fmt.Errorf("check %q needs a query, e.g. query = \"avg_cpu\"", c.name)
		}
		strategies := labeledBlocks(named.body["strategy"])
		if len(strategies) != 1 {
			return nil, fmt.Errorf("check %q needs one strategy block (target-value, threshold or fixed-value)", c.name)
		}
		c.strategy = autoscaleStrategy{name: strategies[0].name, config: strategies[0].body}
		if err := c.strategy.validate(); err != nil {
			return nil, fmt.Errorf("check %q: %w", c.name, err)
		}
		out.checks = append(out.checks, c)
	}
	if len(out.checks) == 0 {
		return nil, fmt.Errorf("the policy has no check block: add check \"name\" { source = \"nomad-apm\" query = \"avg_cpu\" strategy \"target-value\" { target = 70 } }")
	}
	return out, nil
}

type namedBlock struct {
	name string
	body map[string]any
}

// labeledBlocks flattens [{"name": [{...}]}, ...] into name/body pairs.
func labeledBlocks(v any) []namedBlock {
	var out []namedBlock
	list, _ := v.([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		for _, name := range sortedKeys(m) {
			bodies, _ := m[name].([]any)
			for _, b := range bodies {
				if body, ok := b.(map[string]any); ok {
					out = append(out, namedBlock{name: name, body: body})
				}
			}
		}
	}
	return out
}

func policyDuration(p map[string]any, key string, def time.Duration) (time.Duration, error) {
	v, ok := p[key]
	if !ok {
		return def, nil
	}
	s, _ := v.(string)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s = %v is not a positive duration such as \"30s\"", key, v)
	}
	return d, nil
}

func number(m map[string]any, key string) (float64, bool) {
	switch v := m[key].(type) {
	case int:
		return float64(v), true
	case int64:
		return float64(v), true
	case float64:
		return v, true
	}
	return 0, false
}

func (st autoscaleStrategy) validate() error {
	switch st.name {
	case "target-value":
		if _, ok := number(st.config, "target"); !ok {
			return fmt.Errorf("strategy target-value needs target = <number>")
		}
	case "fixed-value":
		if _, ok := number(st.config, "value"); !ok {
			return fmt.Errorf("strategy fixed-value needs value = <count>")
		}
	case "threshold":
		_, lo := number(st.config, "lower_bound")
		_, hi := number(st.config, "upper_bound")
		if !lo && !hi {
			return fmt.Errorf("strategy threshold needs lower_bound or upper_bound")
		}
		n := 0
		for _, k := range []string{"delta", "percentage", "value"} {
			if _, ok := number(st.config, k); ok {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("strategy threshold needs exactly one of delta, percentage or value")
		}
	default:
		return fmt.Errorf("strategy %q is not supported: use target-value, threshold or fixed-value", st.name)
	}
	return nil
}

// apply returns the count the strategy wants for metric at count current,
// and why.
func (st autoscaleStrategy) apply(metric float64, current int64) (int64, string) {
	switch st.name {
	case "target-value":
		target, _ := number(st.config, "target")
		threshold, ok := number(st.config, "threshold")
		if !ok {
			threshold = defaultTargetThreshold
		}
		if target == 0 {
			return current, "target 0: no change"
		}
		factor := metric / target
		if math.Abs(1-factor) <= threshold {
			return current, fmt.Sprintf("within %.2g of target %.2f", threshold, target)
		}
		if current == 0 {
			if factor > 0 {
				return 1, fmt.Sprintf("target %.2f, from zero to one", target)
			}
			return 0, "no load at zero"
		}
		want := int64(math.Ceil(factor * float64(current)))
		return want, fmt.Sprintf("target %.2f (factor %.2f)", target, factor)
	case "fixed-value":
		v, _ := number(st.config, "value")
		return int64(v), fmt.Sprintf("fixed value %d", int64(v))
	case "threshold":
		lo, hasLo := number(st.config, "lower_bound")
		hi, hasHi := number(st.config, "upper_bound")
		if (hasLo && metric < lo) || (hasHi && metric >= hi) {
			return current, fmt.Sprintf("outside the bounds [%v, %v): no change", lo, hi)
		}
		if d, ok := number(st.config, "delta"); ok {
			return current + int64(d), fmt.Sprintf("within the bounds: delta %+d", int64(d))
		}
		if pct, ok := number(st.config, "percentage"); ok {
			return int64(math.Ceil(float64(current) * (1 + pct/100))), fmt.Sprintf("within the bounds: %+.0f%%", pct)
		}
		v, _ := number(st.config, "value")
		return int64(v), fmt.Sprintf("within the bounds: value %d", int64(v))
	}
	return current, "unknown strategy"
}
