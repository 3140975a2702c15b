package allocrunner

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Metrics are the alloc and task runners' instruments, shared by every
// runner of a client (nil fields: not measured).
type Metrics struct {
	// DriverStart observes each driver StartTask call, by driver.
	DriverStart *prometheus.HistogramVec
	// AllocStart observes the time from a runner starting a new
	// allocation to the allocation first reporting running.
	AllocStart prometheus.Histogram
}

// NewMetrics creates the runners' instruments and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	buckets := prometheus.ExponentialBuckets(0.001, 2, 16) // 1ms .. ~33s
	m := &Metrics{
		DriverStart: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nomadlike_client_driver_start_seconds", Help: "Time a driver takes to start a task, by driver.", Buckets: buckets,
		}, []string{"driver"}),
		AllocStart: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "nomadlike_client_alloc_start_seconds", Help: "Time from the client starting an allocation to the allocation running.", Buckets: buckets,
		}),
	}
	reg.MustRegister(m.DriverStart, m.AllocStart)
	return m
}

func (m *Metrics) driverStarted(driver string, start time.Time) {
	if m != nil && m.DriverStart != nil {
		m.DriverStart.WithLabelValues(driver).Observe(time.Since(start).Seconds())
	}
}

func (m *Metrics) allocRunning(start time.Time) {
	if m != nil && m.AllocStart != nil {
		m.AllocStart.Observe(time.Since(start).Seconds())
	}
}

// Status returns the allocation's client status and, by driver, how many of
// its tasks are running (each has a live task supervisor), without copying
// the allocation.
func (r *Runner) Status() (clientStatus string, running map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	running = map[string]int{}
	for _, t := range r.group {
		if st := r.alloc.TaskStates[t.Name]; st != nil && st.State == structs.TaskStateRunning {
			running[t.Driver]++
		}
	}
	return r.alloc.ClientStatus, running
}

// Autoscaled reports whether the allocation's group has an enabled scaling
// policy: only those allocations' usage goes to the servers (the
// autoscaler's source), so a large cluster without policies sends none.
func (r *Runner) Autoscaled() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.alloc.Job == nil {
		return false
	}
	for _, g := range r.alloc.Job.TaskGroups {
		if g.Name == r.alloc.TaskGroup {
			return g.Scaling != nil && g.Scaling.Enabled && len(g.Scaling.Policy) > 0
		}
	}
	return false
}
