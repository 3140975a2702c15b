package ingress

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the per-route instruments.
type metrics struct {
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	errors5xx *prometheus.CounterVec
	upstream  *prometheus.CounterVec
	conns     *prometheus.CounterVec

	mu     sync.Mutex
	routes map[string]*routeMetrics
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{routes: map[string]*routeMetrics{},
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nomadlike_ingress_requests_total",
			Help: "HTTP requests the ingress routed, by route and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "nomadlike_ingress_request_duration_seconds",
			Help: "Time to serve an HTTP request through the ingress, by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"}),
		errors5xx: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nomadlike_ingress_responses_5xx_total",
			Help: "HTTP responses with a 5xx status (the instance's or the ingress's), by route."}, []string{"route"}),
		upstream: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nomadlike_ingress_upstream_errors_total",
			Help: "Failed attempts to reach an instance (connection refused, reset, timeout), by route."}, []string{"route"}),
		conns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "nomadlike_ingress_tcp_connections_total",
			Help: "TCP connections the ingress accepted, by route (:port)."}, []string{"route"}),
	}
	reg.MustRegister(m.requests, m.duration, m.errors5xx, m.upstream, m.conns)
	return m
}

// routeMetrics are one route's instruments, resolved once (a label
// lookup per request costs a hash of the label values and a lock).
type routeMetrics struct {
	key       string
	requests  *prometheus.CounterVec
	duration  prometheus.Observer
	errors5xx prometheus.Counter
	upstream  prometheus.Counter
	conns     prometheus.Counter
	// byCode caches the requests counter of each status code 100-599.
	byCode [500]atomic.Pointer[prometheus.Counter]
}

// route returns the instruments of the route key, made on first use and
// kept across routing table rebuilds.
func (m *metrics) route(key string) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rm := m.routes[key]; rm != nil {
		return rm
	}
	rm := &routeMetrics{key: key, requests: m.requests, duration: m.duration.WithLabelValues(key),
		errors5xx: m.errors5xx.WithLabelValues(key), upstream: m.upstream.WithLabelValues(key),
		conns: m.conns.WithLabelValues(key)}
	m.routes[key] = rm
	return rm
}

// observe records one HTTP request's status code and duration.
func (rm *routeMetrics) observe(code int, d time.Duration) {
	rm.codeCounter(code).Inc()
	rm.duration.Observe(d.Seconds())
	if code >= 500 {
		rm.errors5xx.Inc()
	}
}

func (rm *routeMetrics) codeCounter(code int) prometheus.Counter {
	if code < 100 || code > 599 {
		return rm.requests.WithLabelValues(rm.key, strconv.Itoa(code))
	}
	slot := &rm.byCode[code-100]
	if c := slot.Load(); c != nil {
		return *c
	}
	c := rm.requests.WithLabelValues(rm.key, strconv.Itoa(code))
	slot.Store(&c)
	return c
}
