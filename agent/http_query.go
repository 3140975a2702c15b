package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/go-bexpr"

	"github.com/nomadlike/nomadlike/nomadlike/server"
	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// Blocking query bounds, as Nomad's.
const (
	defaultBlockingWait = 5 * time.Minute
	maxBlockingWait     = 10 * time.Minute
)

// queryOpts are the common query parameters of a read.
type queryOpts struct {
	Namespace string
	Prefix    string
	PerPage   int
	NextToken string
	Reverse   bool
	MinIndex  uint64
	Wait      time.Duration
	Stale     bool
	// Filter is the ?filter= expression (Nomad's bexpr grammar), nil for none.
	Filter *bexpr.Evaluator
}

// allNamespaces reports whether the query spans every namespace.
func (q *queryOpts) allNamespaces() bool { return q.Namespace == "*" }

// parseQuery reads and checks the query parameters every read accepts.
func (s *HTTPServer) parseQuery(r *http.Request) (*queryOpts, error) {
	v := r.URL.Query()
	q := &queryOpts{Namespace: v.Get("namespace"), Prefix: v.Get("prefix"), NextToken: v.Get("next_token")}
	if q.Namespace == "" {
		q.Namespace = structs.DefaultNamespace
	}
	if reg := v.Get("region"); reg != "" && reg != s.cfg.Agent.Region {
		return nil, structs.NewBadRequest("region %q is unknown: this cluster serves region %q (multi-region forwarding is not supported yet)", reg, s.cfg.Agent.Region)
	}
	if f := v.Get("filter"); f != "" {
		ev, err := newFilter(f)
		if err != nil {
			return nil, err
		}
		q.Filter = ev
	}
	if p := v.Get("per_page"); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return nil, structs.NewBadRequest("per_page=%q must be a non-negative integer", p)
		}
		q.PerPage = n
	}
	var err error
	if q.Reverse, err = boolParam(r, "reverse"); err != nil {
		return nil, err
	}
	_, q.Stale = v["stale"]
	if i := v.Get("index"); i != "" {
		if q.MinIndex, err = strconv.ParseUint(i, 10, 64); err != nil {
			return nil, structs.NewBadRequest("index=%q must be a non-negative integer (the X-Nomad-Index of a previous reply)", i)
		}
	}
	q.Wait = defaultBlockingWait
	if w := v.Get("wait"); w != "" {
		d, err := parseWait(w)
		if err != nil {
			return nil, err
		}
		q.Wait = min(d, maxBlockingWait)
	}
	return q, nil
}

// parseWait accepts a Go duration ("30s") or, as Nomad does, bare milliseconds.
func parseWait(w string) (time.Duration, error) {
	if ms, err := strconv.ParseUint(w, 10, 64); err == nil {
		return time.Duration(ms) * time.Millisecond, nil
	}
	d, err := time.ParseDuration(w)
	if err != nil || d < 0 {
		return 0, structs.NewBadRequest("wait=%q is not a duration (write e.g. \"30s\" or \"5m\")", w)
	}
	return d, nil
}

// boolParam reads a boolean query parameter; present without a value means true.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query()
	vals, ok := v[name]
	if !ok {
		return false, nil
	}
	if len(vals) == 0 || vals[0] == "" {
		return true, nil
	}
	b, err := strconv.ParseBool(vals[0])
	if err != nil {
		return false, structs.NewBadRequest("%s=%q must be true or false", name, vals[0])
	}
	return b, nil
}

// blockingQuery runs fn as a blocking query (?index=&wait=) against the
// server's state and sets X-Nomad-Index. fn reports the max index of the
// tables it read. When the wait elapses without a change it returns the
// current result, as Nomad does. A pass that finds nothing newer than
// ?index= tells the request's admission that it now waits
// (server.NoticeWait), which gives its slot back; a query that answers at
// once keeps its slot, as any read does (http_admission.go).
func (s *HTTPServer) blockingQuery(w http.ResponseWriter, r *http.Request, q *queryOpts, fn state.QueryFn) (any, error) {
	store := s.srv.State()
	ctx := r.Context()
	if q.MinIndex > 0 {
		pass := fn
		fn = func(ws watchSet, st *state.Snapshot) (any, uint64, error) {
			out, index, err := pass(ws, st)
			if err == nil && max(index, 1) <= q.MinIndex {
				server.NoticeWait(r.Context())
			}
			return out, index, err
		}
		s.metrics.blocking.Inc()
		defer s.metrics.blocking.Dec()
		wait := q.Wait
		if wait > 0 {
			wait += rand.N(wait/16 + 1) // jitter spreads out the herd of waiters
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, wait)
		defer cancel()
	}
	out, index, err := store.BlockingQuery(ctx, q.MinIndex, fn)
	if err != nil && errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
		// The wait elapsed: answer with the current state.
		out, index, err = store.BlockingQuery(r.Context(), 0, fn)
	}
	if err != nil {
		return nil, err
	}
	setIndex(w, index)
	return out, nil
}

// readState runs read on a fresh read-only snapshot of the server's state.
func readState[T any](s *HTTPServer, read func(snap *state.Snapshot) (T, error)) (T, error) {
	snap, err := s.srv.State().Snapshot()
	if err != nil {
		var zero T
		return zero, fmt.Errorf("snapshot state: %w", err)
	}
	return read(snap)
}

// tableIndex returns the max modify index of tables in st, the snapshot
// the query read its data from (so index and data agree).
func tableIndex(st *state.Snapshot, tables ...string) (uint64, error) {
	var max uint64
	for _, t := range tables {
		i, err := st.Index(t)
		if err != nil {
			return 0, err
		}
		if i > max {
			max = i
		}
	}
	return max, nil
}

// paginate applies filter, reverse, next_token and per_page to items sorted
// by key, and sets X-Nomad-NextToken to the key of the first item of the
// next page. A filter that cannot be evaluated against these items is a 400.
func paginate[T any](w http.ResponseWriter, q *queryOpts, items []T, key func(T) string) ([]T, error) {
	items, err := filterItems(q.Filter, items)
	if err != nil {
		return nil, err
	}
	if q.Reverse {
		rev := make([]T, len(items))
		for i, it := range items {
			rev[len(items)-1-i] = it
		}
		items = rev
	}
	if q.NextToken != "" {
		start := sort.Search(len(items), func(i int) bool {
			k := key(items[i])
			if q.Reverse {
				return k <= q.NextToken
			}
			return k >= q.NextToken
		})
		items = items[start:]
	}
	if q.PerPage > 0 && len(items) > q.PerPage {
		w.Header().Set("X-Nomad-NextToken", key(items[q.PerPage]))
		items = items[:q.PerPage]
	}
	return items, nil
}

// sortByKey sorts items by key; list endpoints page over this order.
func sortByKey[T any](items []T, key func(T) string) {
	sort.SliceStable(items, func(i, j int) bool { return key(items[i]) < key(items[j]) })
}

// nsKey is a paging key for objects that may come from several namespaces.
func nsKey(namespace, id string) string { return namespace + "." + id }
