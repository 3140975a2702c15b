package server

import (
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// serverMetrics are the server's Prometheus instruments. The agent hands
// every component one registry (Config.Metrics); a server without one
// registers on a private registry nobody reads.
type serverMetrics struct {
	fsmApply          *prometheus.HistogramVec
	planEvaluate      prometheus.Histogram
	planApply         prometheus.Histogram
	planQueueWait     prometheus.Histogram
	planRefusedNodes  prometheus.Counter
	workerEval        *prometheus.HistogramVec
	heartbeatsExpired prometheus.Counter
	// planQueued counts plans submitted and not yet taken by the applier.
	planQueued atomic.Int64
}

// latencyBuckets span 100µs to ~26s, for Raft applies, plans and evals.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2, 19)

func newServerMetrics(reg prometheus.Registerer, s *Server) *serverMetrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &serverMetrics{
		fsmApply: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nomadlike_fsm_apply_seconds", Help: "Time to apply one Raft entry to the state store, by message type.",
			Buckets: latencyBuckets,
		}, []string{"type"}),
		planEvaluate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nomadlike_plan_evaluate_seconds", Help: "Time the plan applier spends checking a plan against the newest state.",
			Buckets: latencyBuckets,
		}),
		planApply: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nomadlike_plan_apply_seconds", Help: "Time to commit a plan's result through Raft.",
			Buckets: latencyBuckets,
		}),
		planQueueWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nomadlike_plan_queue_wait_seconds", Help: "Time a worker's plan waits in the plan queue until the plan applier takes it.",
			Buckets: latencyBuckets,
		}),
		planRefusedNodes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nomadlike_plan_node_rejected_total", Help: "Nodes the plan applier refused in a plan (the node no longer fit).",
		}),
		workerEval: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nomadlike_worker_dequeue_to_ack_seconds", Help: "Time from a worker dequeuing an evaluation to acking (or nacking) it, by scheduler type and outcome.",
			Buckets: latencyBuckets,
		}, []string{"type", "outcome"}),
		heartbeatsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nomadlike_heartbeats_expired_total", Help: "Client heartbeats that expired (the node was marked down or disconnected).",
		}),
	}
	reg.MustRegister(m.fsmApply, m.planEvaluate, m.planApply, m.planQueueWait, m.planRefusedNodes, m.workerEval, m.heartbeatsExpired,
		&serverCollector{s: s})
	return m
}

// observeSince records the time since start in h.
func observeSince(h prometheus.Observer, start time.Time) { h.Observe(time.Since(start).Seconds()) }

// serverCollector reports gauges read at scrape time: the broker's and the
// plan queue's depths, and nodes and allocations by status from the state.
type serverCollector struct{ s *Server }

var (
	descLeader    = prometheus.NewDesc("nomadlike_server_is_leader", "1 on the leader (the broker, plan queue and heartbeat gauges are the leader's), 0 elsewhere.", nil, nil)
	descBroker    = prometheus.NewDesc("nomadlike_broker_evals", "Evaluations in the leader's broker, by state (ready, unacked, pending, delayed, blocked).", []string{"state"}, nil)
	descBrokerAge = prometheus.NewDesc("nomadlike_broker_oldest_eval_age_seconds", "Age of the oldest evaluation in the leader's broker, by state (ready: waiting for a worker since it became ready; unacked: held by a worker since it was dequeued) and scheduler type; 0 when there is none.", []string{"state", "type"}, nil)
	descPlanQueue = prometheus.NewDesc("nomadlike_plan_queue_depth", "Plans waiting for the plan applier.", nil, nil)
	descNodes     = prometheus.NewDesc("nomadlike_nodes", "Client nodes, by status.", []string{"status"}, nil)
	descAllocs    = prometheus.NewDesc("nomadlike_allocations", "Allocations in the state, by client status.", []string{"client_status"}, nil)
	descHeartbeat = prometheus.NewDesc("nomadlike_heartbeat_timers", "Client heartbeat timers the leader runs.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *serverCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descLeader, descBroker, descBrokerAge, descPlanQueue, descNodes, descAllocs, descHeartbeat} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *serverCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	leader := 0.0
	if s.IsLeader() {
		leader = 1
	}
	ch <- prometheus.MustNewConstMetric(descLeader, prometheus.GaugeValue, leader)
	bs := s.broker.stats()
	for state, n := range map[string]int{"ready": bs.Ready, "unacked": bs.Unacked, "pending": bs.Pending, "delayed": bs.Delayed, "blocked": s.blocked.count()} {
		ch <- prometheus.MustNewConstMetric(descBroker, prometheus.GaugeValue, float64(n), state)
	}
	for state, ages := range map[string]map[string]time.Duration{"ready": bs.OldestReady, "unacked": bs.OldestUnacked} {
		for _, typ := range brokerAgeTypes(ages) {
			ch <- prometheus.MustNewConstMetric(descBrokerAge, prometheus.GaugeValue, ages[typ].Seconds(), state, typ)
		}
	}
	ch <- prometheus.MustNewConstMetric(descPlanQueue, prometheus.GaugeValue, float64(s.metrics.planQueued.Load()))
	if s.hb != nil {
		ch <- prometheus.MustNewConstMetric(descHeartbeat, prometheus.GaugeValue, float64(s.hb.count()))
	}
	nodes, allocs := s.state.StatusCounts()
	for _, st := range []string{structs.NodeStatusInit, structs.NodeStatusReady, structs.NodeStatusDown, structs.NodeStatusDisconnected} {
		ch <- prometheus.MustNewConstMetric(descNodes, prometheus.GaugeValue, float64(nodes[st]), st)
	}
	for _, st := range []string{structs.AllocClientStatusPending, structs.AllocClientStatusRunning, structs.AllocClientStatusComplete,
		structs.AllocClientStatusFailed, structs.AllocClientStatusLost, structs.AllocClientStatusUnknown} {
		ch <- prometheus.MustNewConstMetric(descAllocs, prometheus.GaugeValue, float64(allocs[st]), st)
	}
}

// brokerAgeTypes are the scheduler types the broker age gauges report: the
// four job types always (0 when none waits, so a dashboard's series do not
// come and go) and any other type present (the core scheduler's).
func brokerAgeTypes(ages map[string]time.Duration) []string {
	types := []string{structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch}
	for typ := range ages {
		if !slices.Contains(types, typ) {
			types = append(types, typ)
		}
	}
	return types
}
