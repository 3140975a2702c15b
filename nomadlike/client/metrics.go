package client

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/client/allocrunner"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// newClientMetrics registers the client's instruments on reg (nil: a
// private registry): the runners' latencies and, read at scrape time, this
// client's allocations by client status and running tasks by driver.
func newClientMetrics(reg prometheus.Registerer, c *Client) *allocrunner.Metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	reg.MustRegister(clientCollector{c})
	return allocrunner.NewMetrics(reg)
}

var (
	descClientAllocs = prometheus.NewDesc("nomadlike_client_allocations", "Allocations this client runs or ran, by client status.", []string{"client_status"}, nil)
	descClientTasks  = prometheus.NewDesc("nomadlike_client_tasks_running", "Running tasks (each with a live task supervisor) on this client, by driver.", []string{"driver"}, nil)
)

type clientCollector struct{ c *Client }

// Describe implements prometheus.Collector.
func (cc clientCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descClientAllocs
	ch <- descClientTasks
}

// Collect implements prometheus.Collector.
func (cc clientCollector) Collect(ch chan<- prometheus.Metric) {
	c := cc.c
	c.mu.Lock()
	runners := make([]*allocrunner.Runner, 0, len(c.runners))
	for _, e := range c.runners {
		runners = append(runners, e.runner)
	}
	c.mu.Unlock()
	statuses := map[string]int{}
	running := map[string]int{}
	for _, r := range runners {
		st, byDriver := r.Status()
		statuses[st]++
		for d, n := range byDriver {
			running[d] += n
		}
	}
	for _, st := range []string{structs.AllocClientStatusPending, structs.AllocClientStatusRunning, structs.AllocClientStatusComplete,
		structs.AllocClientStatusFailed, structs.AllocClientStatusLost, structs.AllocClientStatusUnknown} {
		ch <- prometheus.MustNewConstMetric(descClientAllocs, prometheus.GaugeValue, float64(statuses[st]), st)
	}
	for d := range c.drivers {
		ch <- prometheus.MustNewConstMetric(descClientTasks, prometheus.GaugeValue, float64(running[d]), d)
	}
}
