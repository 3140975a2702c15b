package state

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"testing"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// registerOnce is a job register entry for job id with a fresh evaluation,
// carrying request ID reqID at time t.
func registerOnce(id, evalID, reqID string, t int64) *structs.JobRegisterRequest {
	job := testJob(id)
	return &structs.JobRegisterRequest{Job: job, Eval: testEval(evalID, job, structs.EvalStatusPending),
		Once: structs.WriteOnce{RequestID: reqID, Fingerprint: "fp-" + reqID, Time: t}}
}

// TestWriteOnceAppliesARetryOnce: the same logical write applied twice
// (as a follower's retry makes a second Raft entry with new server-made
// IDs) stores one job version and one evaluation, and the second entry
// returns the first entry's record; each entry is still one transaction.
func TestWriteOnceAppliesARetryOnce(t *testing.T) {
	s := newTestStore(t)
	const now = int64(1_000_000_000_000)
	first, err := s.JobRegister(10, registerOnce("web", "eval-1", "req-1", now))
	must(t, err)
	if first.Repeat != nil {
		t.Fatalf("first apply: Repeat = %+v, want nil", first.Repeat)
	}
	commits := s.Commits()
	// The retry: the leader built a new entry (another eval ID, later time).
	second, err := s.JobRegister(11, registerOnce("web", "eval-2", "req-1", now+5e9))
	must(t, err)
	if got := s.Commits() - commits; got != 1 {
		t.Errorf("the repeated entry committed %d transactions, want 1", got)
	}
	if len(second.Changes) != 0 {
		t.Errorf("the repeated entry changed %d rows, want none", len(second.Changes))
	}
	want := structs.WriteRecord{RequestID: "req-1", Fingerprint: "fp-req-1", Index: 10, Time: now,
		Namespace: structs.DefaultNamespace, JobID: "web", JobModifyIndex: 10, EvalID: "eval-1"}
	if second.Repeat == nil || *second.Repeat != want {
		t.Fatalf("repeated entry: Repeat = %+v, want %+v", second.Repeat, want)
	}
	versions, err := s.JobVersionsByID(nil, structs.DefaultNamespace, "web")
	must(t, err)
	if len(versions) != 1 || versions[0].JobModifyIndex != 10 {
		t.Errorf("job versions after a retried register: %d (want 1, at index 10)", len(versions))
	}
	evals, err := s.EvalsByJob(nil, structs.DefaultNamespace, "web")
	must(t, err)
	if len(evals) != 1 || evals[0].ID != "eval-1" {
		t.Errorf("evaluations after a retried register: %v, want only eval-1", evalIDs(evals))
	}
	rec, err := s.WriteRecord("req-1")
	must(t, err)
	if rec == nil || *rec != want {
		t.Errorf("WriteRecord(req-1) = %+v, want %+v", rec, want)
	}

	// The same ID with another request is refused, and changes nothing.
	other := registerOnce("api", "eval-3", "req-1", now+6e9)
	other.Once.Fingerprint = "another body"
	_, err = s.JobRegister(12, other)
	var coded *structs.CodedError
	if !errors.As(err, &coded) || coded.Code != http.StatusUnprocessableEntity {
		t.Errorf("a reused request ID with another request: got %v, want a 422", err)
	}
	if j, _ := s.JobByID(nil, structs.DefaultNamespace, "api"); j != nil {
		t.Error("the refused entry stored its job")
	}

	// Another ID, or none, is another write.
	_, err = s.JobRegister(13, registerOnce("web", "eval-4", "req-2", now+7e9))
	must(t, err)
	_, err = s.JobRegister(14, registerOnce("web", "eval-5", "", now+8e9))
	must(t, err)
	if evals, _ = s.EvalsByJob(nil, structs.DefaultNamespace, "web"); len(evals) != 3 {
		t.Errorf("evaluations after two other writes: %v, want 3", evalIDs(evals))
	}
}

// TestWriteOnceDeregisterAndStop: a repeated job stop, alloc stop, job
// evaluate and client alloc update store no second evaluation.
func TestWriteOnceDeregisterAndStop(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("a1", job, "n1")}))
	once := structs.WriteOnce{RequestID: "stop-1", Fingerprint: "fp", Time: 1}
	for i, evalID := range []string{"eval-stop-1", "eval-stop-2"} {
		_, err := s.JobDeregister(uint64(3+i), &structs.JobDeregisterRequest{JobID: "web", Namespace: structs.DefaultNamespace,
			Eval: testEval(evalID, job, structs.EvalStatusPending), SubmitTime: int64(i), Once: once})
		must(t, err)
	}
	once.RequestID = "alloc-stop-1"
	for i, evalID := range []string{"eval-alloc-1", "eval-alloc-2"} {
		_, err := s.AllocDesiredUpdate(uint64(5+i), &structs.AllocDesiredUpdateRequest{AllocIDs: []string{"a1"},
			DesiredStatus: structs.AllocDesiredStatusStop, Evals: []*structs.Evaluation{testEval(evalID, job, structs.EvalStatusPending)}, Once: once})
		must(t, err)
	}
	once.RequestID = "evaluate-1"
	for i, evalID := range []string{"eval-force-1", "eval-force-2"} {
		_, err := s.AllocUpdateDesiredTransition(uint64(7+i), &structs.AllocUpdateDesiredTransitionRequest{
			Evals: []*structs.Evaluation{testEval(evalID, job, structs.EvalStatusPending)}, Once: once})
		must(t, err)
	}
	once.RequestID = "client-1"
	for i, evalID := range []string{"eval-client-1", "eval-client-2"} {
		_, err := s.AllocClientUpdate(uint64(9+i), &structs.AllocClientUpdateRequest{
			Allocs: []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusFailed}},
			Evals:  []*structs.Evaluation{testEval(evalID, job, structs.EvalStatusPending)}, Once: once})
		must(t, err)
	}
	evals, err := s.EvalsByJob(nil, structs.DefaultNamespace, "web")
	must(t, err)
	if got := evalIDs(evals); len(got) != 4 || !got["eval-stop-1"] || !got["eval-alloc-1"] || !got["eval-force-1"] || !got["eval-client-1"] {
		t.Errorf("evaluations after four retried writes: %v, want eval-stop-1, eval-alloc-1, eval-force-1 and eval-client-1", got)
	}
}

// TestWriteOncePrunesByEntryTime: records older than the window before the
// applying entry's own time are dropped (oldest first), so the table stays
// bounded without any clock read; a pruned ID applies again.
func TestWriteOncePrunesByEntryTime(t *testing.T) {
	s := newTestStore(t)
	const t0 = int64(5_000_000_000_000)
	// Negative and positive times sort by value, not by their bytes.
	for i, tm := range []int64{t0, t0 + 1e9, -1} {
		_, err := s.JobRegister(uint64(10+i), registerOnce("web", "eval-"+string(rune('a'+i)), "req-"+string(rune('a'+i)), tm))
		must(t, err)
	}
	_, err := s.JobRegister(20, registerOnce("web", "eval-late", "req-late", t0+structs.WriteOnceWindow+1))
	must(t, err)
	for id, kept := range map[string]bool{"req-a": false, "req-c": false, "req-b": true, "req-late": true} {
		rec, err := s.WriteRecord(id)
		must(t, err)
		if (rec != nil) != kept {
			t.Errorf("record %s kept = %t, want %t", id, rec != nil, kept)
		}
	}
	res, err := s.JobRegister(21, registerOnce("web", "eval-again", "req-a", t0+structs.WriteOnceWindow+2))
	must(t, err)
	if res.Repeat != nil {
		t.Errorf("a pruned request ID was still deduplicated: %+v", res.Repeat)
	}
}

func evalIDs(evals []*structs.Evaluation) map[string]bool {
	out := map[string]bool{}
	for _, e := range evals {
		out[e.ID] = true
	}
	return out
}

// TestAllocClientUpdateBatchOncePerRequest: a batched entry applies each
// part once by its request ID (a part repeating an applied ID does
// nothing), parts without an ID always, all in one transaction, and each
// applied part's record points at the entry.
func TestAllocClientUpdateBatchOncePerRequest(t *testing.T) {
	s := newTestStore(t)
	job := testJob("web")
	must(t, s.UpsertJob(1, job))
	must(t, s.UpsertAllocs(2, []*structs.Allocation{testAlloc("a1", job, "n1"), testAlloc("a2", job, "n2")}))
	const now = int64(1_000_000_000_000)
	part := func(allocID, status, reqID string) *structs.AllocClientUpdateRequest {
		p := &structs.AllocClientUpdateRequest{Allocs: []*structs.Allocation{{ID: allocID, ClientStatus: status}}, Timestamp: now}
		if reqID != "" {
			p.Once = structs.WriteOnce{RequestID: reqID, Fingerprint: "fp-" + reqID, Time: now}
		}
		return p
	}
	commits := s.Commits()
	_, err := s.AllocClientUpdateBatch(3, &structs.AllocClientUpdateBatchRequest{Parts: []*structs.AllocClientUpdateRequest{
		part("a1", structs.AllocClientStatusRunning, "req-1"),
		part("a1", structs.AllocClientStatusFailed, "req-1"), // a retry of req-1 in the same batch
		part("a2", structs.AllocClientStatusRunning, ""),
	}})
	must(t, err)
	if got := s.Commits() - commits; got != 1 {
		t.Errorf("the batch committed %d transactions, want 1", got)
	}
	for id, want := range map[string]string{"a1": structs.AllocClientStatusRunning, "a2": structs.AllocClientStatusRunning} {
		a, err := s.AllocByID(nil, id)
		must(t, err)
		if a.ClientStatus != want {
			t.Errorf("%s: client status %q, want %q", id, a.ClientStatus, want)
		}
	}
	rec, err := s.WriteRecord("req-1")
	must(t, err)
	if rec == nil || rec.Index != 3 {
		t.Errorf("WriteRecord(req-1) = %+v, want the batch's index 3", rec)
	}
	// A later batch repeating req-1 changes nothing.
	_, err = s.AllocClientUpdateBatch(4, &structs.AllocClientUpdateBatchRequest{Parts: []*structs.AllocClientUpdateRequest{
		part("a1", structs.AllocClientStatusComplete, "req-1"), part("a2", structs.AllocClientStatusComplete, "req-2")}})
	must(t, err)
	if a, _ := s.AllocByID(nil, "a1"); a.ClientStatus != structs.AllocClientStatusRunning {
		t.Errorf("a1 after a repeated request: %q, want running", a.ClientStatus)
	}
	if a, _ := s.AllocByID(nil, "a2"); a.ClientStatus != structs.AllocClientStatusComplete {
		t.Errorf("a2 after a new request: %q, want complete", a.ClientStatus)
	}
}

// BenchmarkJobRegisterWriteOnce measures what the dedup table costs a job
// register: none (no request ID), a new ID (look-up, insert, prune) with
// the table holding b.N records of the window, and a repeated ID (the
// no-op). Each op registers another job; run with a fixed -benchtime
// (e.g. 5000x) to compare the modes on equal state.
func BenchmarkJobRegisterWriteOnce(b *testing.B) {
	for _, mode := range []string{"no-id", "new-id", "repeat"} {
		b.Run(mode, func(b *testing.B) {
			s := newTestStore(b)
			job := testJob("web")
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := job.Copy()
				j.ID = fmt.Sprintf("web-%d", i)
				req := &structs.JobRegisterRequest{Job: j, Eval: testEval(fmt.Sprintf("eval-%d", i), j, structs.EvalStatusPending)}
				switch mode {
				case "new-id":
					req.Once = structs.WriteOnce{RequestID: fmt.Sprintf("req-%d", i), Time: int64(i)}
				case "repeat":
					req.Once = structs.WriteOnce{RequestID: "req", Time: int64(i)}
				}
				if _, err := s.JobRegister(uint64(i+1), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWriteRecordInsertCopiesLittle: recording an applied request ID in a
// table of thousands copies a few small radix nodes. With the time index
// keyed by whole bytes, the nodes of its fast-moving low bytes had up to
// 256 children, and each insert copied two such nodes (4 KB of edges each).
func TestWriteRecordInsertCopiesLittle(t *testing.T) {
	s := newTestStore(t)
	const t0 = int64(1_800_000_000_000_000_000)
	rng := rand.New(rand.NewPCG(1, 2))
	tm := t0
	record := func(i int) {
		txn := s.db.Load().Txn(true)
		tm += 1_000_000 + rng.Int64N(1_000_000) // ~700 writes a second
		must(t, recordWriteTxn(txn, &structs.WriteRecord{RequestID: structs.GenerateUUID(), Index: uint64(i), Time: tm}))
		txn.Commit()
	}
	for i := range 20_000 {
		record(i)
	}
	const n = 500
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range n {
		record(20_000 + i)
	}
	runtime.ReadMemStats(&after)
	// ~5.7 KB with nibble keys (the transaction and the ID index are
	// most of it), ~8.6 KB with byte keys.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 7<<10 {
		t.Errorf("recording a request ID allocated %d bytes, want under 7 KiB", per)
	}
}

// TestWriteRecordLookupMakesNoChannel: looking a record up leaves nothing
// behind in the table. Records looked up for the first time (as the server
// looks up every client update's record after its apply) allocate no more
// than the same records looked up again: with go-memdb's First, each
// record's leaf got a watch channel on its first lookup, kept as long as
// the record. A missing ID (a prefix of a stored one, or past the last) is
// not found.
func TestWriteRecordLookupMakesNoChannel(t *testing.T) {
	s := newTestStore(t)
	const n = 300
	ids := make([]string, n+1)
	txn := s.db.Load().Txn(true)
	for i := range ids {
		ids[i] = structs.GenerateUUID()
		must(t, recordWriteTxn(txn, &structs.WriteRecord{RequestID: ids[i], Fingerprint: "fp", Index: uint64(i + 1), Time: int64(i + 1)}))
	}
	must(t, recordWriteTxn(txn, &structs.WriteRecord{RequestID: "req-10", Index: n + 2, Time: n + 2}))
	txn.Commit()

	lookup := func(id string) {
		rec, err := s.WriteRecord(id)
		must(t, err)
		if rec == nil || rec.RequestID != id {
			t.Fatalf("WriteRecord(%s) = %+v", id, rec)
		}
	}
	// Two passes over the same records: a seek's allocations depend on
	// where the key is in the tree, so only the same keys compare.
	pass := func() float64 {
		next := 0
		return testing.AllocsPerRun(n-1, func() { lookup(ids[next]); next++ })
	}
	if fresh, again := pass(), pass(); fresh > again {
		t.Errorf("a lookup of a record not looked up before made %.2f allocations, of the same record again %.2f: the first lookup leaves something in the table", fresh, again)
	}
	for _, id := range []string{"req-1", "req-100", "zzz", ""} {
		rec, err := s.WriteRecord(id)
		must(t, err)
		if rec != nil {
			t.Errorf("WriteRecord(%q) = %+v, want nil", id, rec)
		}
	}
}

// Recording a request ID prunes the records past the window, and a write
// with nothing to prune (nearly every one) only reads the oldest record:
// listing the time index in the write transaction cloned the index's tree
// (so the next record's insert copied its whole path again, even within
// one batch transaction) and made an iterator, for every registration.
func TestWriteRecordPruneReadsOnlyTheOldest(t *testing.T) {
	s := newTestStore(t)
	txn := s.db.Load().Txn(true)
	defer txn.Abort()
	for i := range 100 {
		must(t, recordWriteTxn(txn, &structs.WriteRecord{RequestID: structs.GenerateUUID(), Index: uint64(i + 1), Time: int64(1000 + i)}))
	}
	if allocs := testing.AllocsPerRun(50, func() { must(t, pruneWriteRecordsTxn(txn, 1000)) }); allocs > 1 {
		t.Errorf("a prune with nothing to prune made %.0f allocations, want at most 1 (First's iterator)", allocs)
	}
	must(t, pruneWriteRecordsTxn(txn, 1050))
	it, err := get(txn, nil, tableRequestIDs, indexTime)
	must(t, err)
	left := collect[*structs.WriteRecord](it, nil)
	if len(left) != 50 || left[0].Time != 1050 {
		t.Errorf("after pruning before 1050: %d records left, the oldest at %d; want 50 from 1050", len(left), left[0].Time)
	}
}

// Looking a request ID up in a write transaction (every write with one
// does, before it records it) reads the ID index in place: the lookup and
// the record's insert after it allocate what the insert alone does plus
// the lookup's key and arguments (13-14 + 3-4 here; the bound leaves 2
// for a split the random IDs make). The lookup was a
// LowerBound iterator, which cloned the index's tree, so the insert
// copied its path again (29).
func TestWriteRecordLookupKeepsWritableNodes(t *testing.T) {
	s := newTestStore(t)
	txn := s.db.Load().Txn(true)
	defer txn.Abort()
	for i := range 300 {
		must(t, recordWriteTxn(txn, &structs.WriteRecord{RequestID: structs.GenerateUUID(), Index: uint64(i + 1), Time: int64(1000 + i)}))
	}
	next := 1300
	insert := func(lookup bool) float64 {
		return testing.AllocsPerRun(50, func() {
			id := structs.GenerateUUID()
			if lookup {
				if r, err := writeRecordTxn(txn, id); err != nil || r != nil {
					t.Fatalf("writeRecordTxn(%s) = %v, %v; want none", id, r, err)
				}
			}
			must(t, txn.Insert(tableRequestIDs, &structs.WriteRecord{RequestID: id, Time: int64(next)}))
			next++
		})
	}
	// The tree deepens as the records go in, and a later insert may copy
	// a longer path: the lookups are measured between two runs without,
	// against the larger.
	alone, afterLookup := insert(false), insert(true)
	alone = max(alone, insert(false))
	if afterLookup > alone+5 {
		t.Errorf("an insert after looking its ID up made %.0f allocations, alone %.0f: the lookup copied the index (at most its key and arguments expected)", afterLookup, alone)
	}
}
