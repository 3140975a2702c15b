package server

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// TestConcurrentRetriesDispatchOnce: the same dispatch (one request ID)
// arriving eight times at once, as retries racing the first attempt do,
// creates one child, and every caller is answered with that child. Those
// that miss the endpoint's look-up are deduplicated by the state store in
// the entry's transaction and answered from its record.
func TestConcurrentRetriesDispatchOnce(t *testing.T) {
	s := newTestServer(t, nil)
	parent := mockJob("param", 1, 100, 64)
	parent.Type = structs.JobTypeBatch
	parent.ParameterizedJob = &structs.ParameterizedJobConfig{}
	registerJob(t, s, parent)
	ctx := context.WithValue(context.Background(), writeOnceKey{}, &writeOnceReq{once: structs.WriteOnce{RequestID: "dispatch-1", Fingerprint: "fp"}})
	var wg sync.WaitGroup
	answers := make([]*structs.JobDispatchResponse, 8)
	errs := make([]error, len(answers))
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = s.DispatchJob(ctx, structs.DefaultNamespace, &structs.JobDispatchRequest{JobID: "param"})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("dispatch %d: %v", i, err)
		}
		if *answers[i] != *answers[0] {
			t.Errorf("dispatch %d answered %+v, dispatch 0 %+v: want the same answer", i, answers[i], answers[0])
		}
	}
	children, err := s.state.ChildJobs(nil, structs.DefaultNamespace, "param")
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 1 || children[0].ID != answers[0].DispatchedJobID {
		t.Errorf("children after 8 retries of one dispatch: %d, want 1 (%s)", len(children), answers[0].DispatchedJobID)
	}
	evals, err := s.state.EvalsByJob(nil, structs.DefaultNamespace, answers[0].DispatchedJobID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evals {
		if e.TriggeredBy == structs.EvalTriggerJobRegister && e.ID != answers[0].EvalID {
			t.Errorf("a second register evaluation %s of the child (answered %s)", e.ID, answers[0].EvalID)
		}
	}
}

// TestRestoredFSMDedups: a server restored from a snapshot (a new
// follower, or a restart) knows the request IDs applied before it, so a
// retry reaching it after a leader change is applied once there too.
func TestRestoredFSMDedups(t *testing.T) {
	f := newTestFSM(t)
	applyFixture(t, f)
	g := snapshotRoundTrip(t, f)
	rec, err := g.state.WriteRecord(fxRequestWeb)
	if err != nil || rec == nil {
		t.Fatalf("the restored state lost the record of request %s (err %v)", fxRequestWeb, err)
	}
	before := allRows(t, g.state)
	buf, err := encodeEntry(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: fxJob("web"),
		Eval: fxEval("22222222-0000-4000-8000-0000000000ff", "web", structs.EvalStatusPending),
		Once: structs.WriteOnce{RequestID: fxRequestWeb, Fingerprint: "fp-web", Time: fxTime(30).UnixNano()}})
	if err != nil {
		t.Fatal(err)
	}
	if resp := g.Apply(&raft.Log{Index: 900, Type: raft.LogCommand, Data: buf}); resp != nil {
		t.Fatalf("Apply: %v", resp)
	}
	after := allRows(t, g.state)
	for table, rows := range before {
		if len(after[table]) != len(rows) {
			t.Errorf("the retried entry changed table %s on the restored server: %d rows, then %d", table, len(rows), len(after[table]))
		}
	}
	if e, _ := g.state.EvalByID(nil, "22222222-0000-4000-8000-0000000000ff"); e != nil {
		t.Error("the retried entry stored its evaluation on the restored server")
	}
}

// TestForcePeriodicRetriedOnce: a forced launch retried with its request
// ID (sequentially, and racing) answers with the first launch's evaluation
// and stores no other evaluation of a child.
func TestForcePeriodicRetriedOnce(t *testing.T) {
	s := newTestServer(t, nil)
	registerJob(t, s, periodicJob("cron", "0 0 1 1 *", true))
	ctx := context.WithValue(context.Background(), writeOnceKey{}, &writeOnceReq{once: structs.WriteOnce{RequestID: "force-1", Fingerprint: "fp"}})
	var wg sync.WaitGroup
	answers := make([]*structs.PeriodicForceResponse, 4)
	errs := make([]error, len(answers))
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = s.ForcePeriodicJob(ctx, "", "cron")
		}()
	}
	wg.Wait()
	again, err := s.ForcePeriodicJob(ctx, "", "cron")
	if err != nil {
		t.Fatal(err)
	}
	for i, err := range append(errs, nil) {
		if err != nil {
			t.Fatalf("force %d: %v", i, err)
		}
	}
	children, err := s.state.ChildJobs(nil, structs.DefaultNamespace, "cron")
	if err != nil {
		t.Fatal(err)
	}
	var evals []string
	for _, c := range children {
		es, err := s.state.EvalsByJob(nil, structs.DefaultNamespace, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.TriggeredBy == evalTriggerPeriodicJob {
				evals = append(evals, e.ID)
			}
		}
	}
	if len(evals) != 1 {
		t.Fatalf("launch evaluations after 5 tries of one forced launch: %v, want 1", evals)
	}
	for i, a := range append(answers, again) {
		if a.EvalID != evals[0] {
			t.Errorf("force %d answered eval %s, want the launch's %s", i, a.EvalID, evals[0])
		}
	}
}

// TestFingerprintOfDecodedRequest: with a client's Idempotency-Key, a
// write's fingerprint is that of its method, path, query (in any order)
// and decoded body once the HTTP layer noted it; another value, path or
// query is another fingerprint; without a key (an ID this server made up,
// retried only by a follower's forward of the same bytes) it stays that
// of the bytes.
func TestFingerprintOfDecodedRequest(t *testing.T) {
	fp := func(target, key string, body []byte, decoded ...any) string {
		t.Helper()
		// Kept in a context value of its own, and in the request's
		// RequestState (as the agent's HTTP layer serves it): the same.
		var fps [2]string
		for i, withState := range []bool{false, true} {
			r := httptest.NewRequest(http.MethodPut, target, bytes.NewReader(body))
			if withState {
				r = r.WithContext(WithRequestState(r.Context(), &RequestState{}))
			}
			if key != "" {
				r.Header.Set(IdempotencyKeyHeader, key)
			}
			line := requestLine(r)
			once, err := stampRequestID(r, line, body, false)
			if err != nil {
				t.Fatal(err)
			}
			r2 := withWriteOnce(r, once, line)
			if withState != (r2 == r) {
				t.Fatalf("withWriteOnce with a RequestState %v: the request was copied %v", withState, r2 != r)
			}
			for _, v := range decoded {
				NoteDecoded(r2.Context(), v)
			}
			got, ok := writeOnceIn(r2.Context())
			if !ok || got.RequestID != once.RequestID && key != "" {
				t.Fatalf("writeOnceIn = %+v, %v; want request ID %q", got, ok, once.RequestID)
			}
			fps[i] = got.Fingerprint
		}
		if fps[0] != fps[1] {
			t.Fatalf("fingerprint of %s in a context value %s, in a RequestState %s", target, fps[0], fps[1])
		}
		return fps[0]
	}
	v := func(a, b string) any {
		return &structs.JobDispatchRequest{JobID: "j", Meta: map[string]string{"a": a, "b": b}}
	}
	base := fp("/v1/job/j/dispatch?x=1&y=2", "k", []byte(`{"a":1}`), v("1", "2"))
	for name, got := range map[string]string{
		"other bytes, same value": fp("/v1/job/j/dispatch?x=1&y=2", "k", []byte(`{ "a" : 1 }`), v("1", "2")),
		"query in another order":  fp("/v1/job/j/dispatch?y=2&x=1", "k", []byte(`x`), v("1", "2")),
	} {
		if got != base {
			t.Errorf("%s: fingerprint %s, want %s", name, got, base)
		}
	}
	for name, got := range map[string]string{
		"another value":  fp("/v1/job/j/dispatch?x=1&y=2", "k", []byte(`{"a":1}`), v("1", "3")),
		"another path":   fp("/v1/job/k/dispatch?x=1&y=2", "k", []byte(`{"a":1}`), v("1", "2")),
		"another query":  fp("/v1/job/j/dispatch?x=1&y=3", "k", []byte(`{"a":1}`), v("1", "2")),
		"a second value": fp("/v1/job/j/dispatch?x=1&y=2", "k", []byte(`{"a":1}`), v("1", "2"), v("1", "2")),
		"not decoded":    fp("/v1/job/j/dispatch?x=1&y=2", "k", []byte(`{"a":1}`)),
	} {
		if got == base {
			t.Errorf("%s: the same fingerprint as the first request", name)
		}
	}
	if a, b := fp("/v1/jobs", "", []byte(`{"a":1}`), v("1", "2")), fp("/v1/jobs", "", []byte(`{ "a":1}`), v("1", "2")); a == b {
		t.Error("without an Idempotency-Key, two bodies of the same value have one fingerprint: want that of the bytes")
	}
}

// TestBufferedBody: a write's body Forward read is handed on whole and
// once, without a copy; any other body is not.
func TestBufferedBody(t *testing.T) {
	r := httptest.NewRequest(http.MethodPut, "/v1/jobs", strings.NewReader(`{"Job":{"ID":"a"}}`))
	body, tooLarge, err := readBody(r)
	if err != nil || tooLarge {
		t.Fatalf("readBody: %v, too large %v", err, tooLarge)
	}
	got, ok := BufferedBody(r)
	if !ok || string(got) != `{"Job":{"ID":"a"}}` || &got[0] != &body[0] {
		t.Fatalf("BufferedBody = %q, %v; want the bytes read, not a copy", got, ok)
	}
	if rest, err := io.ReadAll(r.Body); err != nil || len(rest) != 0 {
		t.Errorf("the body after BufferedBody: %q, %v; want it consumed", rest, err)
	}
	if _, ok := BufferedBody(httptest.NewRequest(http.MethodPut, "/v1/jobs", strings.NewReader("{}"))); ok {
		t.Error("BufferedBody of a body not read by Forward")
	}
}

// TestReadAllSized reads the whole body whatever its declared size says.
func TestReadAllSized(t *testing.T) {
	const body = "0123456789"
	for _, size := range []int64{-1, 0, 3, 10, 11, 1000} {
		got, err := ReadAllSized(strings.NewReader(body), size, 100)
		if err != nil || string(got) != body {
			t.Errorf("declared %d: %q, %v", size, got, err)
		}
	}
}

// TestReadAllSizedBoundsTheDeclared: a body declared at the limit but short
// gets a buffer of at most maxPresized before its bytes arrive.
func TestReadAllSizedBoundsTheDeclared(t *testing.T) {
	got, err := ReadAllSized(strings.NewReader("{}"), 16<<20, 16<<20)
	if err != nil || string(got) != "{}" {
		t.Fatalf("%q, %v", got, err)
	}
	if cap(got) > maxPresized+bytes.MinRead {
		t.Fatalf("a 2-byte body declared at 16 MiB got a buffer of %d bytes", cap(got))
	}
}
