package server

import (
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/state"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// declaredMessageTypes returns every MessageType constant declared in the
// structs package (by parsing its source, so a new constant cannot be
// forgotten), except the ignore flag.
func declaredMessageTypes(t *testing.T) map[string]structs.MessageType {
	t.Helper()
	return declaredConsts(t, filepath.Join("..", "structs"), "MessageType", map[string]bool{"IgnoreUnknownTypeFlag": true},
		func(v uint64) structs.MessageType { return structs.MessageType(v) })
}

// declaredConsts parses the Go files of dir (tests excluded) and returns the
// constants of type typeName, except skip, with their values (constant
// literals only: every such constant must be written as a number).
func declaredConsts[T any](t *testing.T, dir, typeName string, skip map[string]bool, conv func(uint64) T) map[string]T {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]T{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				id, ok := vs.Type.(*ast.Ident)
				if !ok || id.Name != typeName {
					continue
				}
				for i, name := range vs.Names {
					if skip[name.Name] {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: constant %s of type %s is not a number literal: append-only formats spell out their numbers", fset.Position(name.Pos()), name.Name, typeName)
					}
					var v uint64
					if _, err := fmt.Sscan(lit.Value, &v); err != nil {
						t.Fatalf("%s: constant %s: %v", fset.Position(name.Pos()), name.Name, err)
					}
					out[name.Name] = conv(v)
				}
			}
		}
	}
	return out
}

// fixtureEvents are the events each entry of fsmFixture publishes, as
// "Topic:Type:Key" in order (evaluations by ID). An entry type with no
// events publishes nothing.
var fixtureEvents = map[string][]string{
	"register node 1":          {"Node:NodeRegistration:" + fxNode1},
	"register node 2":          {"Node:NodeRegistration:" + fxNode2},
	"scheduler config":         nil,
	"register job web":         {"Job:JobRegistered:web", "Evaluation:JobRegistered:" + fxEvalWeb},
	"register job web retried": nil,
	"register job old":         {"Job:JobRegistered:old", "Evaluation:JobRegistered:" + fxEvalOld},
	"plan old (batch)":         {"Deployment:PlanResult:" + fxDeployOld, "Allocation:PlanResult:" + fxAllocOld, "Job:PlanResult:old"},
	// The eviction of old's allocation is in the same transaction as the placements.
	"plan web (preempts old)": {"Deployment:PlanResult:" + fxDeployWeb, "Allocation:PlanResult:" + fxAllocWeb,
		"Allocation:PlanResult:" + fxAllocWeb2, "Allocation:PlanResult:" + fxAllocOld, "Job:PlanResult:web",
		"Job:PlanResult:old", "Evaluation:PlanResult:" + fxEvalBlock},
	"client update": {"Deployment:AllocationUpdated:" + fxDeployWeb, "Allocation:AllocationUpdated:" + fxAllocWeb,
		"Allocation:AllocationUpdated:" + fxAllocOld, "Evaluation:AllocationUpdated:" + fxEvalClient},
	"client update batch":     {"Allocation:AllocationUpdated:" + fxAllocWeb},
	"eval complete":           {"Evaluation:EvaluationUpdated:" + fxEvalWeb},
	"job stability":           nil,
	"job version tag":         nil,
	"deployment alloc health": {"Allocation:DeploymentAllocHealth:" + fxAllocWeb},
	"deployment promote": {"Deployment:DeploymentPromotion:" + fxDeployWeb, "Allocation:DeploymentPromotion:" + fxAllocWeb,
		"Evaluation:DeploymentPromotion:22222222-0000-4000-8000-000000000008"},
	"deployment status":      {"Deployment:DeploymentStatusUpdate:" + fxDeployOld},
	"node 2 down":            {"Node:NodeEvent:" + fxNode2},
	"node 2 drain":           {"Node:NodeDrain:" + fxNode2, "Evaluation:NodeDrain:" + fxEvalDrain},
	"node 1 ineligible":      {"Node:NodeDrain:" + fxNode1},
	"migrate":                {"Allocation:AllocationUpdateDesiredStatus:" + fxAllocWeb2},
	"alloc stop":             {"Allocation:AllocationUpdateDesiredStatus:" + fxAllocWeb2, "Evaluation:AllocationUpdateDesiredStatus:" + fxEvalStop},
	"periodic launch":        nil,
	"services":               {"Service:ServiceRegistration:" + fxService1, "Service:ServiceRegistration:" + fxService2},
	"service delete":         {"Service:ServiceDeregistration:" + fxService2},
	"scale old (error only)": nil,
	"scale web":              {"Job:JobRegistered:web", "Evaluation:JobRegistered:" + fxEvalScale},
	"purge old":              {"Job:JobDeregistered:old", "Evaluation:JobDeregistered:" + fxEvalPurge},
	"stop web":               {"Job:JobDeregistered:web", "Evaluation:JobDeregistered:22222222-0000-4000-8000-000000000009"},
	"gc old":                 nil,
	"deployment delete":      nil,
	"reconcile summaries":    nil,
	"deregister node 2":      {"Node:NodeDeregistration:" + fxNode2},
	"acl bootstrap":          nil,
	"acl policies":           nil,
	"acl policy delete":      nil,
	"acl roles":              nil,
	"acl role delete":        nil,
	"acl tokens":             nil,
	"acl token delete":       nil,
	"namespaces":             nil,
	"namespace delete":       nil,
	"node pools":             {"NodePool:NodePoolUpserted:gpu", "NodePool:NodePoolUpserted:scratch"},
	"node pool delete":       {"NodePool:NodePoolDeleted:scratch"},
	"root keys":              nil,
	"root key delete":        nil,
	"variable set":           {"Variables:VariableUpserted:nomad/jobs/web"},
	"variable set 2":         {"Variables:VariableUpserted:gone"},
	"variable delete":        {"Variables:VariableDeleted:gone"},
	"variable lock":          {"Variables:VariableUpserted:lock/leader"},
	"variable unlock":        {"Variables:VariableUpserted:lock/leader"},
	"variables rekey":        nil,
}

// TestFSMEveryMessageType applies the fixture entry of every message type
// through the FSM and checks that each is one state store transaction,
// publishes the events its change set makes, and that the state survives a
// snapshot and restore unchanged. A message type declared in structs
// without a handler (store method and event type) and a fixture entry
// fails here.
func TestFSMEveryMessageType(t *testing.T) {
	fixture := fsmFixture()
	covered := map[structs.MessageType]bool{}
	for _, e := range fixture {
		covered[e.typ] = true
		if _, ok := fixtureEvents[e.name]; !ok {
			t.Errorf("fixture entry %q has no expected events in fixtureEvents", e.name)
		}
	}
	for name, typ := range declaredMessageTypes(t) {
		if _, ok := entryHandlers[typ]; !ok {
			t.Errorf("message type %s (%d) has no entry in entryHandlers: give it one state store method and its event type", name, typ)
		}
		if !covered[typ] {
			t.Errorf("message type %s (%d) has no entry in fsmFixture: add one that applies cleanly", name, typ)
		}
	}
	for typ := range entryHandlers {
		if !slices.Contains(slicesValues(declaredMessageTypes(t)), typ) {
			t.Errorf("entryHandlers has message type %d, which structs does not declare", typ)
		}
	}

	f := newTestFSM(t)
	for i, e := range fixture {
		index := uint64(100 + i)
		t.Run(e.name, func(t *testing.T) {
			before := f.state.Commits()
			buf, err := encodeEntry(e.typ, e.body)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			if resp := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: buf}); resp != nil {
				t.Fatalf("Apply: %v", resp)
			}
			if got := f.state.Commits() - before; got != 1 {
				t.Errorf("entry of type %d committed %d state transactions, want exactly 1", e.typ, got)
			}
			var got []string
			for _, ev := range eventsAt(f.events, index) {
				got = append(got, fmt.Sprintf("%s:%s:%s", ev.Topic, ev.Type, ev.Key))
				if ev.Index != index {
					t.Errorf("event %s:%s index %d, want %d", ev.Topic, ev.Key, ev.Index, index)
				}
			}
			if diff := cmp.Diff(fixtureEvents[e.name], got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if got, want := allRows(t, f.state), allRows(t, snapshotRoundTrip(t, f).state); !cmp.Equal(got, want) {
				t.Errorf("state after a snapshot round trip differs (-before +after):\n%s", cmp.Diff(got, want))
			}
		})
	}
	t.Run("every table holds rows", func(t *testing.T) {
		rows := allRows(t, f.state)
		for _, table := range state.TableNames() {
			if len(rows[table]) == 0 {
				t.Errorf("table %q is empty after the fixture: extend fsmFixture so snapshots of it are tested", table)
			}
		}
	})
}

func slicesValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// allRows returns every row of every table of st.
func allRows(t *testing.T, st *state.Store) map[string][]any {
	t.Helper()
	snap, err := st.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	out := map[string][]any{}
	for _, table := range state.TableNames() {
		err := snap.Rows(table, func(row any) error {
			out[table] = append(out[table], row)
			return nil
		})
		if err != nil {
			t.Fatalf("rows of %s: %v", table, err)
		}
	}
	return out
}

// TestFSMFailedEntryCommitsNothing checks that an entry the store refuses
// part-way leaves no trace: no transaction, no event, the state unchanged.
func TestFSMFailedEntryCommitsNothing(t *testing.T) {
	f := newTestFSM(t)
	applyFixture(t, f)
	before, commits := allRows(t, f.state), f.state.Commits()
	// The job is registered, then the evaluation is refused (no ID): the
	// whole entry must be undone.
	buf, err := encodeEntry(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: fxJob("half"), Eval: &structs.Evaluation{JobID: "half"}})
	if err != nil {
		t.Fatal(err)
	}
	if resp := f.Apply(&raft.Log{Index: 500, Type: raft.LogCommand, Data: buf}); resp == nil {
		t.Fatal("Apply of a register entry with an evaluation without ID: got nil, want an error")
	}
	if got := f.state.Commits() - commits; got != 0 {
		t.Errorf("a failed entry committed %d transactions, want 0", got)
	}
	if diff := cmp.Diff(before, allRows(t, f.state)); diff != "" {
		t.Errorf("a failed entry changed the state (-before +after):\n%s", diff)
	}
	if evs := eventsAt(f.events, 500); len(evs) != 0 {
		t.Errorf("a failed entry published %d events", len(evs))
	}
}

// TestSnapshotRecordsAppendOnly keeps the snapshot record numbers an
// append-only format: every kind is declared in fsm_snapshot_records.go,
// no two share a number, none reuses a retired number, and none of those
// below changes. Add new kinds to the list; never edit a line of it.
func TestSnapshotRecordsAppendOnly(t *testing.T) {
	known := map[string]snapshotRecord{
		"recordJob": 0, "recordJobVersion": 1, "recordJobSummary": 2, "recordNode": 3, "recordAlloc": 4,
		"recordEval": 5, "recordIndex": 6, "recordSchedulerConfig": 7, "recordDeployment": 8,
		"recordPeriodicLaunch": 9, "recordServiceRegistration": 10, "recordHeader": 11, "recordEnd": 255,
	}
	declared := declaredConsts(t, ".", "snapshotRecord", nil, func(v uint64) snapshotRecord { return snapshotRecord(v) })
	byNumber := map[snapshotRecord]string{}
	for name, v := range declared {
		if other, ok := byNumber[v]; ok {
			t.Errorf("snapshot record kinds %s and %s share number %d", name, other, v)
		}
		byNumber[v] = name
		if slices.Contains(retiredSnapshotRecords, v) {
			t.Errorf("snapshot record kind %s reuses the retired number %d", name, v)
		}
		if want, ok := known[name]; ok && want != v {
			t.Errorf("snapshot record kind %s changed from %d to %d: numbers are part of the on-disk format", name, want, v)
		}
	}
	for name := range known {
		if _, ok := declared[name]; !ok {
			t.Errorf("snapshot record kind %s disappeared: retire it in retiredSnapshotRecords instead", name)
		}
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if path == "fsm_snapshot_records.go" || strings.HasSuffix(path, "_test.go") {
			continue
		}
		if n := len(declaredConstsIn(t, path)); n > 0 {
			t.Errorf("%s declares %d snapshot record kinds: keep them all in fsm_snapshot_records.go", path, n)
		}
	}
}

// declaredConstsIn returns the snapshotRecord constants declared in one file.
func declaredConstsIn(t *testing.T, path string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	var out []string
	for _, decl := range f.Decls {
		if gd, ok := decl.(*ast.GenDecl); ok && gd.Tok == token.CONST {
			for _, spec := range gd.Specs {
				if vs := spec.(*ast.ValueSpec); vs.Type != nil {
					if id, ok := vs.Type.(*ast.Ident); ok && id.Name == "snapshotRecord" {
						for _, n := range vs.Names {
							out = append(out, n.Name)
						}
					}
				}
			}
		}
	}
	return out
}

// TestSnapshotCoversEveryTable checks that every table of the state schema
// has a snapshot record kind, and that snapshots start with the header.
func TestSnapshotCoversEveryTable(t *testing.T) {
	inSnapshot := map[string]bool{}
	for _, st := range snapshotTables {
		if inSnapshot[st.table] {
			t.Errorf("table %q has two snapshot record kinds", st.table)
		}
		inSnapshot[st.table] = true
	}
	for _, table := range state.TableNames() {
		if !inSnapshot[table] {
			t.Errorf("state table %q has no snapshot record kind: add it to snapshotTables, or snapshots lose it", table)
		}
	}
	f := newTestFSM(t)
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := writeSnapshot(snap.(*fsmSnapshot).snap, &buf); err != nil {
		t.Fatal(err)
	}
	// A newer format is refused by name.
	newer := bytes.Replace(buf.Bytes(), []byte{byte(recordHeader), 0x81, 0xa6, 'F', 'o', 'r', 'm', 'a', 't', snapshotFormat},
		[]byte{byte(recordHeader), 0x81, 0xa6, 'F', 'o', 'r', 'm', 'a', 't', snapshotFormat + 1}, 1)
	if bytes.Equal(newer, buf.Bytes()) {
		t.Fatalf("snapshot does not start with the header record: % x", buf.Bytes()[:min(16, buf.Len())])
	}
	err = newTestFSM(t).Restore(nopCloser{bytes.NewReader(newer)})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("format %d", snapshotFormat+1)) || !strings.Contains(err.Error(), "upgrade") {
		t.Errorf("Restore of a format-%d snapshot: got %v, want an error naming the format and telling to upgrade", snapshotFormat+1, err)
	}
}

// eventsAt returns the buffered events published at index.
func eventsAt(b *eventBroker, index uint64) []structs.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []structs.Event
	for _, fr := range b.frames {
		if fr.Index == index {
			out = append(out, fr.Events...)
		}
	}
	return out
}
