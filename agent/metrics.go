package agent

import (
	"sync"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// newAgentRegistry returns the registry one agent's server, client and HTTP
// API register on, with the Go runtime and process collectors. It also
// makes sure the go-metrics bridge runs before Raft and serf start.
func newAgentRegistry() *prometheus.Registry {
	goMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// gatherer is what GET /v1/metrics serves: the agent's registry and the
// process-wide go-metrics bridge.
func (m *httpMetrics) gatherer() prometheus.Gatherer {
	return prometheus.Gatherers{m.reg, goMetrics()}
}

// goMetricsBridge holds the registry that hashicorp/go-metrics reports to.
// Raft, serf and memberlist emit through go-metrics' process-wide global
// (Nomad's names: nomad_raft_commitTime, nomad_memberlist_gossip, ...), so
// the bridge is set up once per process and every agent in it serves it.
var goMetricsBridge struct {
	once sync.Once
	reg  *prometheus.Registry
}

// goMetrics sets up the go-metrics global with a Prometheus sink on first
// use and returns the sink's registry. The sink (goMetricsSink) adds the
// "nomad" prefix itself: go-metrics' ServiceName would copy every key to
// insert it.
func goMetrics() *prometheus.Registry {
	goMetricsBridge.once.Do(func() {
		reg := prometheus.NewRegistry()
		goMetricsBridge.reg = reg
		sink := newGoMetricsSink("nomad", 5*time.Minute)
		if err := reg.Register(sink); err != nil {
			return // the registry stays empty; the agent's own metrics still work
		}
		cfg := metrics.DefaultConfig("")
		cfg.EnableHostname = false
		cfg.EnableRuntimeMetrics = false // the Go collector reports the runtime
		_, _ = metrics.NewGlobal(cfg, sink)
	})
	return goMetricsBridge.reg
}
