package agent

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
)

// httpMetrics are the API's instruments on the agent's registry.
type httpMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	blocking prometheus.Gauge
	// admitted and refused are the server admission's (http_admission.go).
	admitted prometheus.Gauge
	refused  prometheus.Counter
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	if reg == nil {
		reg = newAgentRegistry()
	}
	m := &httpMetrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nomadlike_http_requests_total", Help: "HTTP requests served, by method, route template and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nomadlike_http_request_duration_seconds", Help: "HTTP request latency, by method and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
		blocking: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nomadlike_http_blocking_queries_in_flight", Help: "Blocking queries (?index=) waiting for a change.",
		}),
		admitted: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "nomadlike_http_admitted_requests", Help: "Server API requests being worked on (each holds an admission slot).",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "nomadlike_http_admission_refused_total", Help: "Server API requests answered 429 after waiting for an admission slot.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.blocking, m.admitted, m.refused)
	return m
}

func (m *httpMetrics) observe(method, route string, code int, d time.Duration) {
	m.requests.WithLabelValues(method, route, strconv.Itoa(code)).Inc()
	m.duration.WithLabelValues(method, route).Observe(d.Seconds())
}

// metricsHandler is GET /v1/metrics: Prometheus text with
// ?format=prometheus, else Nomad's JSON summary.
func (s *HTTPServer) metricsHandler(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("format") == "prometheus" {
		promhttp.HandlerFor(s.metrics.gatherer(), promhttp.HandlerOpts{}).ServeHTTP(w, r)
		return
	}
	s.wrap(func(http.ResponseWriter, *http.Request) (any, error) {
		return s.metrics.summary()
	}).ServeHTTP(w, r)
}

// metricsSummary is Nomad's JSON metrics shape (api.MetricsSummary).
type metricsSummary struct {
	Timestamp string
	Gauges    []gaugeValue
	Counters  []sampledValue
	Samples   []sampledValue
}

type gaugeValue struct {
	Name   string
	Value  float64
	Labels map[string]string
}

type sampledValue struct {
	Name   string
	Count  int
	Sum    float64
	Mean   float64
	Labels map[string]string
}

func (m *httpMetrics) summary() (*metricsSummary, error) {
	families, err := m.gatherer().Gather()
	if err != nil {
		return nil, err
	}
	out := &metricsSummary{Timestamp: time.Now().UTC().Format("2006-01-02 15:04:05 -0700 MST"),
		Gauges: []gaugeValue{}, Counters: []sampledValue{}, Samples: []sampledValue{}}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range mt.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			name := f.GetName()
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				out.Gauges = append(out.Gauges, gaugeValue{Name: name, Value: mt.GetGauge().GetValue(), Labels: labels})
			case dto.MetricType_COUNTER:
				v := mt.GetCounter().GetValue()
				out.Counters = append(out.Counters, sampledValue{Name: name, Count: int(v), Sum: v, Labels: labels})
			case dto.MetricType_HISTOGRAM:
				h := mt.GetHistogram()
				out.Samples = append(out.Samples, sample(name, h.GetSampleCount(), h.GetSampleSum(), labels))
			case dto.MetricType_SUMMARY:
				sm := mt.GetSummary()
				out.Samples = append(out.Samples, sample(name, sm.GetSampleCount(), sm.GetSampleSum(), labels))
			}
		}
	}
	return out, nil
}

func sample(name string, count uint64, sum float64, labels map[string]string) sampledValue {
	v := sampledValue{Name: name, Count: int(count), Sum: sum, Labels: labels}
	if count > 0 {
		v.Mean = sum / float64(count)
	}
	return v
}
