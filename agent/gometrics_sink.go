package agent

import (
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	metrics "github.com/hashicorp/go-metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// goMetricsSink is the go-metrics sink of the bridge (goMetrics): it
// exports what Raft, serf and memberlist report as go-metrics'
// Prometheus sink does (the same names, types, labels and help, summaries
// with the 0.5, 0.9 and 0.99 quantiles of the last 10 s), at a fraction of
// the cost per sample. Raft measures every log it stores, replicates and
// applies; with go-metrics' sink each sample joined and escaped its key,
// looked it up and stored it back in a sync.Map, and fed a Prometheus
// summary whose quantile streams insert every value five times: 4.6% of
// three servers' CPU under BenchmarkClusterRegister. Here a sample hashes
// its key parts (no allocation), finds its series in a copy-on-write map,
// and counts the value in a log-scale bucket of the current 2 s slot;
// quantiles are read from the buckets when the registry is gathered.
type goMetricsSink struct {
	// prefix is the first part of every name (go-metrics' ServiceName,
	// left empty in its configuration so it does not copy each key to
	// insert it).
	prefix     string
	expiration time.Duration
	seed       maphash.Seed
	// series maps a key's hash to the series of that hash; it is replaced,
	// never changed, under mu.
	series atomic.Pointer[map[uint64][]*sinkSeries]
	mu     sync.Mutex
}

// sinkKind is what a series is.
type sinkKind uint8

const (
	sinkGauge sinkKind = iota
	sinkCounter
	sinkSummary
)

// sinkSeries is one metric of the sink: one key and label set of a kind.
type sinkSeries struct {
	kind   sinkKind
	parts  []string
	labels []metrics.Label
	desc   *prometheus.Desc
	// touched is set by every update and cleared when gathered; lastSeen
	// (under goMetricsSink.mu) is when a gathering last found it set.
	touched  atomic.Bool
	lastSeen time.Time
	// value holds a gauge's or counter's float64 bits.
	value atomic.Uint64
	// summary is a summary's window.
	summary *windowSummary
}

// newGoMetricsSink returns a sink naming its metrics prefix_<key parts>
// that forgets a series not updated for expiration (0: never).
func newGoMetricsSink(prefix string, expiration time.Duration) *goMetricsSink {
	s := &goMetricsSink{prefix: prefix, expiration: expiration, seed: maphash.MakeSeed()}
	s.series.Store(&map[uint64][]*sinkSeries{})
	return s
}

// hash hashes a series' kind, key parts and labels.
func (s *goMetricsSink) hash(kind sinkKind, parts []string, labels []metrics.Label) uint64 {
	h := uint64(kind) + 1
	for _, p := range parts {
		h = h*1099511628211 ^ maphash.String(s.seed, p)
	}
	for _, l := range labels {
		h = h*1099511628211 ^ maphash.String(s.seed, l.Name)
		h = h*1099511628211 ^ maphash.String(s.seed, l.Value)
	}
	return h
}

// matches reports whether the series is kind with these key parts and labels.
func (e *sinkSeries) matches(kind sinkKind, parts []string, labels []metrics.Label) bool {
	return e.kind == kind && slices.Equal(e.parts, parts) && slices.Equal(e.labels, labels)
}

// get returns the series of kind, parts and labels, making it if new.
func (s *goMetricsSink) get(kind sinkKind, parts []string, labels []metrics.Label) *sinkSeries {
	h := s.hash(kind, parts, labels)
	for _, e := range (*s.series.Load())[h] {
		if e.matches(kind, parts, labels) {
			return e
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.series.Load()
	for _, e := range old[h] {
		if e.matches(kind, parts, labels) {
			return e
		}
	}
	e := &sinkSeries{kind: kind, parts: slices.Clone(parts), labels: slices.Clone(labels), lastSeen: time.Now()}
	name := s.name(parts)
	constLabels := prometheus.Labels{}
	for _, l := range labels {
		constLabels[l.Name] = l.Value
	}
	e.desc = prometheus.NewDesc(name, name, nil, constLabels)
	if kind == sinkSummary {
		e.summary = &windowSummary{}
	}
	m := make(map[uint64][]*sinkSeries, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[h] = append(slices.Clip(old[h]), e)
	s.series.Store(&m)
	return e
}

// sinkNameReplacer escapes a name as go-metrics' Prometheus sink does.
var sinkNameReplacer = strings.NewReplacer(" ", "_", ".", "_", "=", "_", "-", "_", "/", "_")

// name is the Prometheus name of key parts: go-metrics' Prometheus sink's
// (the parts joined by "_", then escaped), after the prefix.
func (s *goMetricsSink) name(parts []string) string {
	all := parts
	if s.prefix != "" {
		all = append([]string{s.prefix}, parts...)
	}
	return sinkNameReplacer.Replace(strings.Join(all, "_"))
}

// touch marks e updated.
func (e *sinkSeries) touch() {
	if !e.touched.Load() {
		e.touched.Store(true)
	}
}

// SetGauge implements metrics.MetricSink.
func (s *goMetricsSink) SetGauge(key []string, val float32) {
	s.SetPrecisionGaugeWithLabels(key, float64(val), nil)
}

// SetGaugeWithLabels implements metrics.MetricSink.
func (s *goMetricsSink) SetGaugeWithLabels(key []string, val float32, labels []metrics.Label) {
	s.SetPrecisionGaugeWithLabels(key, float64(val), labels)
}

// SetPrecisionGauge implements metrics.PrecisionGaugeMetricSink.
func (s *goMetricsSink) SetPrecisionGauge(key []string, val float64) {
	s.SetPrecisionGaugeWithLabels(key, val, nil)
}

// SetPrecisionGaugeWithLabels implements metrics.PrecisionGaugeMetricSink.
func (s *goMetricsSink) SetPrecisionGaugeWithLabels(key []string, val float64, labels []metrics.Label) {
	e := s.get(sinkGauge, key, labels)
	e.value.Store(math.Float64bits(val))
	e.touch()
}

// EmitKey implements metrics.MetricSink: like go-metrics' Prometheus
// sink, it exports nothing.
func (s *goMetricsSink) EmitKey([]string, float32) {}

// IncrCounter implements metrics.MetricSink.
func (s *goMetricsSink) IncrCounter(key []string, val float32) {
	s.IncrCounterWithLabels(key, val, nil)
}

// IncrCounterWithLabels implements metrics.MetricSink. A negative
// increment is dropped (a Prometheus counter only grows).
func (s *goMetricsSink) IncrCounterWithLabels(key []string, val float32, labels []metrics.Label) {
	if val < 0 {
		return
	}
	e := s.get(sinkCounter, key, labels)
	for {
		old := e.value.Load()
		if e.value.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+float64(val))) {
			break
		}
	}
	e.touch()
}

// AddSample implements metrics.MetricSink.
func (s *goMetricsSink) AddSample(key []string, val float32) {
	s.AddSampleWithLabels(key, val, nil)
}

// AddSampleWithLabels implements metrics.MetricSink.
func (s *goMetricsSink) AddSampleWithLabels(key []string, val float32, labels []metrics.Label) {
	e := s.get(sinkSummary, key, labels)
	e.summary.observe(float64(val), sinkClock.epoch())
	e.touch()
}

// sinkClock is the summaries' slot number (time / summarySlotLength),
// refreshed every summaryClockTick by one goroutine for the process: on
// this machine's virtual clock a time.Now costs ~150 ns, half of a sample
// (go-metrics' MeasureSince already reads the clock once).
var sinkClock coarseClock

// summaryClockTick is how often sinkClock is refreshed: a sample may land
// in the slot before its own by at most this much.
const summaryClockTick = 100 * time.Millisecond

// coarseClock is a slot number refreshed by a ticker started on first use.
type coarseClock struct {
	once sync.Once
	now  atomic.Int64
}

func (c *coarseClock) epoch() int64 {
	c.once.Do(func() {
		c.now.Store(slotOf(time.Now()))
		go func() {
			for t := range time.Tick(summaryClockTick) {
				c.now.Store(slotOf(t))
			}
		}()
	})
	return c.now.Load()
}

// slotOf is the summary slot number of t.
func slotOf(t time.Time) int64 { return t.UnixNano() / int64(summarySlotLength) }

// Describe implements prometheus.Collector: the sink's series come and go
// with what is reported, so it is an unchecked collector.
func (s *goMetricsSink) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector. Series not updated for the
// expiration are forgotten.
func (s *goMetricsSink) Collect(ch chan<- prometheus.Metric) { s.collect(ch, time.Now()) }

// collect is Collect at time now.
func (s *goMetricsSink) collect(ch chan<- prometheus.Metric, now time.Time) {
	s.mu.Lock()
	var live []*sinkSeries
	expired := false
	for _, es := range *s.series.Load() {
		for _, e := range es {
			if e.touched.Swap(false) {
				e.lastSeen = now
			} else if s.expiration > 0 && now.Sub(e.lastSeen) > s.expiration {
				expired = true
				continue
			}
			live = append(live, e)
		}
	}
	if expired {
		m := make(map[uint64][]*sinkSeries, len(live))
		for _, e := range live {
			h := s.hash(e.kind, e.parts, e.labels)
			m[h] = append(m[h], e)
		}
		s.series.Store(&m)
	}
	s.mu.Unlock()
	for _, e := range live {
		switch e.kind {
		case sinkGauge:
			ch <- prometheus.MustNewConstMetric(e.desc, prometheus.GaugeValue, math.Float64frombits(e.value.Load()))
		case sinkCounter:
			ch <- prometheus.MustNewConstMetric(e.desc, prometheus.CounterValue, math.Float64frombits(e.value.Load()))
		case sinkSummary:
			count, sum, q := e.summary.read(now)
			ch <- prometheus.MustNewConstSummary(e.desc, count, sum, q)
		}
	}
}

// A windowSummary counts observations in log-scale buckets, per slot of
// summarySlotLength, and answers quantiles over the last summarySlots
// slots (go-metrics' summaries: MaxAge 10 s in 5 age buckets). A bucket
// spans 1/16 of a power of two, so a quantile is off by at most 3% of its
// value (the summaries' objectives were 0.5±0.05, 0.9±0.01 and 0.99±0.001
// in rank); count and sum cover every observation, as a summary's do.
type windowSummary struct {
	mu    sync.Mutex
	count uint64
	sum   float64
	slots [summarySlots]summarySlot
}

// summarySlot is one slot of a windowSummary: its number (the time it
// covers divided by summarySlotLength) and counts.
type summarySlot struct {
	epoch   int64
	n       uint64
	buckets [summaryBuckets]uint32
}

const (
	summarySlots      = 5
	summarySlotLength = 2 * time.Second
	// Buckets: 16 per power of two from 2^summaryMinExp to
	// 2^(summaryMaxExp+1), after bucket 0, which counts 0, negative and
	// smaller values (reported as 0); larger values count in the last.
	// The values are milliseconds (Raft's timings: 61 ns to 70 min) or
	// small counts (memberlist's queues).
	summarySubBits = 4
	summaryMinExp  = -14
	summaryMaxExp  = 21
	summaryBuckets = 1 + (summaryMaxExp-summaryMinExp+1)<<summarySubBits
)

// summaryQuantiles are the quantiles a summary reports (go-metrics').
var summaryQuantiles = [...]float64{0.5, 0.9, 0.99}

// summaryBucket is the bucket of v.
func summaryBucket(v float64) int {
	if !(v > 0) {
		return 0
	}
	b := math.Float64bits(v)
	exp := int(b>>52&0x7ff) - 1023
	if exp < summaryMinExp {
		return 0
	}
	if exp > summaryMaxExp {
		return summaryBuckets - 1
	}
	sub := int(b>>(52-summarySubBits)) & (1<<summarySubBits - 1)
	return 1 + ((exp-summaryMinExp)<<summarySubBits | sub)
}

// summaryBucketValue is the value a quantile in bucket i is reported as:
// the middle of the bucket (0 for bucket 0).
func summaryBucketValue(i int) float64 {
	if i == 0 {
		return 0
	}
	i--
	exp := i>>summarySubBits + summaryMinExp
	sub := i & (1<<summarySubBits - 1)
	return math.Ldexp(1+(float64(sub)+0.5)/(1<<summarySubBits), exp)
}

// observe counts v in slot epoch (slotOf the time it was made).
func (w *windowSummary) observe(v float64, epoch int64) {
	w.mu.Lock()
	s := &w.slots[epoch%summarySlots]
	if s.epoch < epoch { // the slot's last use was a window ago
		*s = summarySlot{epoch: epoch}
	}
	s.n++
	s.buckets[summaryBucket(v)]++
	w.count++
	w.sum += v
	w.mu.Unlock()
}

// read returns the count and sum of every observation and the quantiles
// of those of the window ending at now (NaN when it holds none).
func (w *windowSummary) read(now time.Time) (uint64, float64, map[float64]float64) {
	epoch := slotOf(now)
	var merged [summaryBuckets]uint64
	var n uint64
	w.mu.Lock()
	count, sum := w.count, w.sum
	for i := range w.slots {
		s := &w.slots[i]
		if s.n == 0 || s.epoch <= epoch-summarySlots || s.epoch > epoch {
			continue
		}
		n += s.n
		for b, c := range s.buckets {
			merged[b] += uint64(c)
		}
	}
	w.mu.Unlock()
	q := make(map[float64]float64, len(summaryQuantiles))
	for _, phi := range summaryQuantiles {
		q[phi] = math.NaN()
		if n == 0 {
			continue
		}
		rank := uint64(math.Ceil(phi * float64(n)))
		var seen uint64
		for b, c := range merged {
			seen += c
			if seen >= rank && c > 0 {
				q[phi] = summaryBucketValue(b)
				break
			}
		}
	}
	return count, sum, q
}
