package agent

import (
	"math"
	"sort"
	"testing"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	gmprom "github.com/hashicorp/go-metrics/prometheus"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// feedSink reports what Raft, serf and memberlist report: timings with and
// without labels, counters, gauges and a key with characters Prometheus
// names may not hold.
func feedSink(s metrics.MetricSink) {
	peer := []metrics.Label{{Name: "peer_id", Value: "server-2"}}
	for i := 1; i <= 1000; i++ {
		s.AddSampleWithLabels([]string{"raft", "commitTime"}, float32(i)/100, nil)
		s.AddSampleWithLabels([]string{"raft", "replication", "appendEntries", "rpc"}, float32(i%7), peer)
		s.IncrCounterWithLabels([]string{"raft", "apply"}, 1, nil)
	}
	s.AddSampleWithLabels([]string{"memberlist", "queue", "broadcasts"}, 0, nil)
	s.IncrCounterWithLabels([]string{"memberlist", "udp", "sent"}, 2.5, []metrics.Label{{Name: "node", Value: "a.global"}})
	s.SetGaugeWithLabels([]string{"raft", "peers"}, 3, nil)
	s.SetGaugeWithLabels([]string{"raft", "peers"}, 2, nil)
	s.SetGaugeWithLabels([]string{"serf", "member-flap/x"}, 1, nil)
}

func gather(t *testing.T, c prometheus.Collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

// exactQuantiles are the 0.5, 0.9 and 0.99 quantiles of what feedSink
// samples.
var exactQuantiles = map[string][]float64{
	"raft_commitTime":                    {5, 9, 9.9},
	"raft_replication_appendEntries_rpc": {3, 6, 6},
	"memberlist_queue_broadcasts":        {0, 0, 0},
}

// TestGoMetricsSinkExportsAsGoMetricsPrometheusSink: the bridge's sink
// exports what go-metrics' Prometheus sink did: the same families (names,
// help, types), label sets, counter and gauge values, summary counts and
// sums, and the same quantiles, within 3.2% of their exact value.
func TestGoMetricsSinkExportsAsGoMetricsPrometheusSink(t *testing.T) {
	ours := newGoMetricsSink("", time.Minute)
	feedSink(ours)
	theirs, err := gmprom.NewPrometheusSinkFrom(gmprom.PrometheusOpts{Registerer: prometheus.NewRegistry(), Expiration: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	feedSink(theirs)
	got, want := gather(t, ours), gather(t, theirs)
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(got) != len(want) {
		t.Errorf("%d families, want %d (%v)", len(got), len(want), names)
	}
	for _, n := range names {
		w, g := want[n], got[n]
		if g == nil {
			t.Errorf("no family %s", n)
			continue
		}
		if g.GetType() != w.GetType() || g.GetHelp() != w.GetHelp() || len(g.GetMetric()) != len(w.GetMetric()) {
			t.Errorf("%s: type %v help %q %d metrics; want %v %q %d", n, g.GetType(), g.GetHelp(), len(g.GetMetric()), w.GetType(), w.GetHelp(), len(w.GetMetric()))
			continue
		}
		gm, wm := g.GetMetric()[0], w.GetMetric()[0]
		if gl, wl := gm.GetLabel(), wm.GetLabel(); len(gl) != len(wl) || (len(gl) == 1 && (gl[0].GetName() != wl[0].GetName() || gl[0].GetValue() != wl[0].GetValue())) {
			t.Errorf("%s: labels %v, want %v", n, gl, wl)
		}
		switch w.GetType() {
		case dto.MetricType_GAUGE:
			if gm.GetGauge().GetValue() != wm.GetGauge().GetValue() {
				t.Errorf("%s = %v, want %v", n, gm.GetGauge().GetValue(), wm.GetGauge().GetValue())
			}
		case dto.MetricType_COUNTER:
			if gm.GetCounter().GetValue() != wm.GetCounter().GetValue() {
				t.Errorf("%s = %v, want %v", n, gm.GetCounter().GetValue(), wm.GetCounter().GetValue())
			}
		case dto.MetricType_SUMMARY:
			gs, ws := gm.GetSummary(), wm.GetSummary()
			if gs.GetSampleCount() != ws.GetSampleCount() || math.Abs(gs.GetSampleSum()-ws.GetSampleSum()) > 1e-6*math.Abs(ws.GetSampleSum()) {
				t.Errorf("%s: count %d sum %v, want %d %v", n, gs.GetSampleCount(), gs.GetSampleSum(), ws.GetSampleCount(), ws.GetSampleSum())
			}
			if len(gs.GetQuantile()) != len(ws.GetQuantile()) {
				t.Errorf("%s: %d quantiles, want %d", n, len(gs.GetQuantile()), len(ws.GetQuantile()))
				continue
			}
			for i, wq := range ws.GetQuantile() {
				gq := gs.GetQuantile()[i]
				exact := exactQuantiles[n][i]
				if gq.GetQuantile() != wq.GetQuantile() || math.Abs(gq.GetValue()-exact) > 0.032*exact {
					t.Errorf("%s: quantile %v = %v, want %v = %v (go-metrics' sink: %v)", n, gq.GetQuantile(), gq.GetValue(), wq.GetQuantile(), exact, wq.GetValue())
				}
			}
		}
	}
}

// TestGoMetricsSinkWindowAndExpiry: quantiles cover the last 10 s (older
// slots drop out, then NaN as a summary with an empty window), count and
// sum everything; a series not updated for the expiration is forgotten.
func TestGoMetricsSinkWindowAndExpiry(t *testing.T) {
	var w windowSummary
	t0 := time.Unix(1000, 0)
	for i := 0; i < 100; i++ {
		w.observe(1000, slotOf(t0))
	}
	w.observe(2, slotOf(t0.Add(9*time.Second)))
	count, sum, q := w.read(t0.Add(9 * time.Second))
	if count != 101 || sum != 100002 || math.Abs(q[0.5]-1000) > 30 {
		t.Fatalf("within the window: count %d sum %v q %v", count, sum, q)
	}
	count, _, q = w.read(t0.Add(11 * time.Second))
	if count != 101 || math.Abs(q[0.5]-2) > 0.0625 || math.Abs(q[0.99]-2) > 0.0625 {
		t.Fatalf("after the first slot left the window: count %d q %v, want all 2", count, q)
	}
	if _, _, q = w.read(t0.Add(time.Minute)); !math.IsNaN(q[0.5]) {
		t.Fatalf("an empty window: q %v, want NaN", q)
	}

	s := newGoMetricsSink("nomad", time.Minute)
	s.IncrCounter([]string{"raft", "apply"}, 1)
	if fams := gather(t, collectorAt{s, time.Now()}); fams["nomad_raft_apply"] == nil {
		t.Fatalf("a fresh series is not exported: %v", fams)
	}
	// Untouched since the last gathering, for over the expiration.
	if fams := gather(t, collectorAt{s, time.Now().Add(2 * time.Minute)}); len(fams) != 0 {
		t.Fatalf("an expired series is still exported: %v", fams)
	}
	s.IncrCounter([]string{"raft", "apply"}, 1)
	if fams := gather(t, s); fams["nomad_raft_apply"].GetMetric()[0].GetCounter().GetValue() != 1 {
		t.Fatalf("a series reported again after it expired starts over: %v", fams)
	}
}

// collectorAt gathers a goMetricsSink at a given time.
type collectorAt struct {
	s   *goMetricsSink
	now time.Time
}

func (c collectorAt) Describe(chan<- *prometheus.Desc)    {}
func (c collectorAt) Collect(ch chan<- prometheus.Metric) { c.s.collect(ch, c.now) }

// TestGoMetricsSinkSampleAllocatesNothing: a sample of a known series
// allocates nothing (go-metrics' sink made its name, a hash string and a
// copy of the series to store back in a sync.Map for every one).
func TestGoMetricsSinkSampleAllocatesNothing(t *testing.T) {
	s := newGoMetricsSink("nomad", time.Minute)
	key := []string{"raft", "replication", "appendEntries", "rpc"}
	labels := []metrics.Label{{Name: "peer_id", Value: "server-2"}}
	s.AddSampleWithLabels(key, 1, labels)
	s.IncrCounterWithLabels(key, 1, labels)
	if n := testing.AllocsPerRun(100, func() {
		s.AddSampleWithLabels(key, 1.5, labels)
		s.IncrCounterWithLabels(key, 1, labels)
		s.SetGaugeWithLabels(key, 2, labels)
	}); n != 0 {
		t.Fatalf("%v allocations per sample", n)
	}
}

// BenchmarkGoMetricsSinkSample: one Raft timing through the go-metrics
// global, as Raft reports it, into each sink.
func BenchmarkGoMetricsSinkSample(b *testing.B) {
	key := []string{"raft", "replication", "appendEntries", "rpc"}
	labels := []metrics.Label{{Name: "peer_id", Value: "server-2"}}
	run := func(b *testing.B, service string, sink metrics.MetricSink) {
		cfg := metrics.DefaultConfig(service)
		cfg.EnableHostname = false
		cfg.EnableRuntimeMetrics = false
		m, err := metrics.New(cfg, sink)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.MeasureSinceWithLabels(key, start, labels)
				m.MeasureSince(key[:2], start)
			}
		})
	}
	b.Run("go-metrics-prometheus", func(b *testing.B) {
		sink, err := gmprom.NewPrometheusSinkFrom(gmprom.PrometheusOpts{Registerer: prometheus.NewRegistry(), Expiration: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		run(b, "nomad", sink)
	})
	b.Run("bridge", func(b *testing.B) { run(b, "", newGoMetricsSink("nomad", time.Minute)) })
}
