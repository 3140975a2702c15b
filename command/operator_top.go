package command

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/spf13/cobra"

	"github.com/nomadlike/nomadlike/nomadlike/api"
)

// operatorTopCommand is `nomadlike operator top`: the live figures an
// operator watches, read from the agent's GET /v1/metrics.
func (c *cli) operatorTopCommand() *cobra.Command {
	var interval time.Duration
	var once bool
	cmd := &cobra.Command{
		Use:   "top [-interval 2s] [-once]",
		Short: "Live cluster figures from the agent's metrics: nodes, allocations, queues, latencies, request rates",
		Long: `Polls the agent's /v1/metrics and prints what an operator watches: the server's
nodes and allocations by status, the eval broker, blocked evals and plan queue,
FSM, plan and scheduler latencies (p50/p99 from the histograms), HTTP request
rate and blocking queries, Raft commit time, and the local client's running tasks.
Point it at a server to see the cluster; at a client to see that client.`,
		Args: argsBetween(0, 0, "no arguments"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if interval <= 0 {
				return usageError(cmd.CommandPath(), "-interval must be positive, e.g. -interval 2s")
			}
			cl, err := c.client()
			if err != nil {
				return err
			}
			var prev *topSample
			for {
				cur, err := readTopSample(cmd.Context(), cl)
				if err != nil {
					return fail("reading the agent's metrics", err, "")
				}
				if !once {
					fmt.Fprint(c.stdout, "\033[H\033[2J") // clear the terminal between frames
				}
				cur.write(c.stdout, prev)
				if once {
					return nil
				}
				prev = cur
				select {
				case <-cmd.Context().Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 2*time.Second, "time between refreshes")
	cmd.Flags().BoolVar(&once, "once", false, "print one frame and exit (rates need two frames and are left out)")
	return cmd
}

// topSample is one scrape of the agent's metrics.
type topSample struct {
	at       time.Time
	families map[string]*dto.MetricFamily
}

func readTopSample(ctx context.Context, cl *api.Client) (*topSample, error) {
	resp, err := cl.Do(ctx, http.MethodGet, "/v1/metrics", &api.QueryOptions{Params: map[string]string{"format": "prometheus"}}, nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("parse the Prometheus metrics: %w", err)
	}
	return &topSample{at: time.Now(), families: fams}, nil
}

// byLabel returns the family's gauge or counter values keyed by the value
// of label (all series summed when label is "").
func (s *topSample) byLabel(name, label string) map[string]float64 {
	out := map[string]float64{}
	f := s.families[name]
	if f == nil {
		return out
	}
	for _, m := range f.GetMetric() {
		key := ""
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				key = l.GetValue()
			}
		}
		switch {
		case m.Gauge != nil:
			out[key] += m.GetGauge().GetValue()
		case m.Counter != nil:
			out[key] += m.GetCounter().GetValue()
		case m.Untyped != nil:
			out[key] += m.GetUntyped().GetValue()
		}
	}
	return out
}

// value is the sum of every series of a gauge or counter (NaN if absent).
func (s *topSample) value(name string) float64 {
	if s.families[name] == nil {
		return math.NaN()
	}
	return s.byLabel(name, "")[""]
}

// histogram merges every series of a histogram family into cumulative
// buckets; count is the number of observations.
func (s *topSample) histogram(name string) (buckets map[float64]uint64, count uint64) {
	buckets = map[float64]uint64{}
	f := s.families[name]
	if f == nil {
		return buckets, 0
	}
	for _, m := range f.GetMetric() {
		h := m.GetHistogram()
		if h == nil {
			continue
		}
		count += h.GetSampleCount()
		for _, b := range h.GetBucket() {
			buckets[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	return buckets, count
}

// quantile estimates the q-quantile of a histogram (the upper bound of the
// bucket where it falls), "-" without observations.
func quantile(buckets map[float64]uint64, count uint64, q float64) string {
	if count == 0 {
		return "-"
	}
	bounds := make([]float64, 0, len(buckets))
	for b := range buckets {
		bounds = append(bounds, b)
	}
	sort.Float64s(bounds)
	rank := uint64(math.Ceil(q * float64(count)))
	for _, b := range bounds {
		if buckets[b] >= rank {
			return "≤" + shortDuration(time.Duration(b*float64(time.Second)))
		}
	}
	return ">" + shortDuration(time.Duration(bounds[len(bounds)-1]*float64(time.Second)))
}

func shortDuration(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return d.Round(10 * time.Millisecond).String()
}

func (s *topSample) latency(name string) string {
	b, n := s.histogram(name)
	return fmt.Sprintf("p50 %-8s p99 %-8s (%d)", quantile(b, n, 0.5), quantile(b, n, 0.99), n)
}

// counts formats a by-label map in the given order, then any other keys.
func counts(m map[string]float64, order ...string) string {
	seen := map[string]bool{}
	var parts []string
	for _, k := range order {
		seen[k] = true
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	for _, k := range rest {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func (s *topSample) write(w io.Writer, prev *topSample) {
	fmt.Fprintf(w, "nomadlike operator top — %s\n\n", s.at.Format(time.TimeOnly))
	if _, ok := s.families["nomadlike_server_is_leader"]; ok {
		role := "follower (queues are the leader's: point top at the leader for them)"
		if s.value("nomadlike_server_is_leader") == 1 {
			role = "leader"
		}
		rows := []kv{
			{"Server", role},
			{"Nodes", counts(s.byLabel("nomadlike_nodes", "status"), "ready", "down", "disconnected", "initializing")},
			{"Allocations", counts(s.byLabel("nomadlike_allocations", "client_status"), "running", "pending", "complete", "failed", "lost", "unknown")},
			{"Eval broker", counts(s.byLabel("nomadlike_broker_evals", "state"), "ready", "unacked", "pending", "delayed", "blocked")},
			{"Plan queue", fmt.Sprintf("%.0f", s.value("nomadlike_plan_queue_depth"))},
			{"Heartbeats", fmt.Sprintf("%.0f timers, %.0f expired", s.value("nomadlike_heartbeat_timers"), s.value("nomadlike_heartbeats_expired_total"))},
			{"FSM apply", s.latency("nomadlike_fsm_apply_seconds")},
			{"Plan evaluate", s.latency("nomadlike_plan_evaluate_seconds")},
			{"Plan apply", s.latency("nomadlike_plan_apply_seconds")},
			{"Eval (dequeue→ack)", s.latency("nomadlike_worker_dequeue_to_ack_seconds")},
		}
		writeKV(w, rows)
		fmt.Fprintln(w)
	}
	rows := []kv{
		{"HTTP requests", s.rate(prev, "nomadlike_http_requests_total")},
		{"HTTP latency", s.latency("nomadlike_http_request_duration_seconds")},
		{"Blocking queries", fmt.Sprintf("%.0f in flight", s.value("nomadlike_http_blocking_queries_in_flight"))},
	}
	if _, ok := s.families["nomadlike_client_allocations"]; ok {
		rows = append(rows,
			kv{"Client allocations", counts(s.byLabel("nomadlike_client_allocations", "client_status"), "running", "pending", "complete", "failed")},
			kv{"Client running tasks", counts(s.byLabel("nomadlike_client_tasks_running", "driver"))},
			kv{"Driver start", s.latency("nomadlike_client_driver_start_seconds")},
		)
	}
	rows = append(rows, kv{"Memory (RSS)", fmt.Sprintf("%.1f MiB", s.value("process_resident_memory_bytes")/(1<<20))})
	writeKV(w, rows)
}

// rate is a counter's per-second rate since prev, or its total.
func (s *topSample) rate(prev *topSample, name string) string {
	total := s.value(name)
	if prev == nil {
		return fmt.Sprintf("%.0f total", total)
	}
	secs := s.at.Sub(prev.at).Seconds()
	return fmt.Sprintf("%.1f/s (%.0f total)", (total-prev.value(name))/secs, total)
}
