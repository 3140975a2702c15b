package ingress

import (
	"strconv"
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
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	m := &metrics{
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

func (m *metrics) observeHTTP(route string, code int, d time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(route).Observe(d.Seconds())
	if code >= 500 {
		m.errors5xx.WithLabelValues(route).Inc()
	}
}

func (m *metrics) upstreamError(route string) { m.upstream.WithLabelValues(route).Inc() }

func (m *metrics) connection(route string) { m.conns.WithLabelValues(route).Inc() }
