package state

import (
	"bytes"
	"fmt"
	"testing"

	memdb "github.com/hashicorp/go-memdb"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// reflectiveIndexers are the go-memdb indexers the typed ones replace, by
// table and index: what the schema held before.
func reflectiveIndexers() map[string]map[string]memdb.Indexer {
	str := func(f string) memdb.Indexer { return &memdb.StringFieldIndex{Field: f} }
	nsID := func(f string, allowMissing bool) memdb.Indexer {
		return &memdb.CompoundIndex{AllowMissing: allowMissing, Indexes: []memdb.Indexer{str("Namespace"), str(f)}}
	}
	return map[string]map[string]memdb.Indexer{
		tableJobs: {indexID: nsID("ID", false)},
		tableJobVersion: {indexID: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			str("Namespace"), str("ID"), &memdb.UintFieldIndex{Field: "Version"}}}},
		tableJobSummary: {indexID: nsID("JobID", false)},
		tableNodes:      {indexID: str("ID")},
		tableAllocs:     {indexID: str("ID"), indexJob: nsID("JobID", true)},
		tableEvals:      {indexID: str("ID"), indexJob: nsID("JobID", true)},
		tableIndex:      {indexID: str("Key")},
		tableRequestIDs: {indexID: str("RequestID")},
		tableDeployment: {indexID: str("ID"), indexJob: nsID("JobID", false)},
	}
}

// TestTypedIndexersMatchReflective: the typed indexers of the schema give
// the keys go-memdb's StringFieldIndex, CompoundIndex and UintFieldIndex
// gave, for objects with fields set and empty, for lookups and for prefix
// lookups, and fail where they failed.
func TestTypedIndexersMatchReflective(t *testing.T) {
	schema := schema()
	names := []string{"", "default", "web", "web/dispatch-1", "a\x00b"}
	var objects []any
	for i, ns := range names {
		for j, id := range names {
			objects = append(objects,
				&structs.Job{Namespace: ns, ID: id, Version: uint64(i*7 + j)},
				&structs.JobSummary{Namespace: ns, JobID: id},
				&structs.Node{ID: id},
				&structs.Allocation{Namespace: ns, ID: id, JobID: names[(i+j)%len(names)], NodeID: ns, DeploymentID: id},
				&structs.Evaluation{Namespace: ns, ID: id, JobID: names[(i+j)%len(names)]},
				&IndexEntry{Key: id},
				&structs.WriteRecord{RequestID: id},
				&structs.Deployment{Namespace: ns, ID: id, JobID: names[(i+j)%len(names)]},
			)
		}
	}
	var argSets [][]any
	for _, a := range names {
		argSets = append(argSets, []any{a})
		for _, b := range names {
			argSets = append(argSets, []any{a, b}, []any{a, b, uint64(3)}, []any{a, b, uint(1 << 40)})
		}
	}
	argSets = append(argSets, nil, []any{7}, []any{"x", 7}, []any{"x", "y", "z"}, []any{"x", "y", -1})
	rowType := map[string]string{tableJobs: "*structs.Job", tableJobVersion: "*structs.Job", tableJobSummary: "*structs.JobSummary",
		tableNodes: "*structs.Node", tableAllocs: "*structs.Allocation", tableEvals: "*structs.Evaluation",
		tableIndex: "*state.IndexEntry", tableRequestIDs: "*structs.WriteRecord", tableDeployment: "*structs.Deployment"}
	checked := 0
	for table, indexes := range reflectiveIndexers() {
		for index, old := range indexes {
			typed := schema.Tables[table].Indexes[index].Indexer
			name := fmt.Sprintf("%s.%s", table, index)
			for _, o := range objects {
				if fmt.Sprintf("%T", o) != rowType[table] {
					continue
				}
				okOld, keyOld, errOld := old.(memdb.SingleIndexer).FromObject(o)
				if errOld != nil {
					t.Fatalf("%s FromObject(%T): %v", name, o, errOld)
				}
				okNew, keyNew, errNew := typed.(memdb.SingleIndexer).FromObject(o)
				if errNew != nil || okNew != okOld || !bytes.Equal(keyNew, keyOld) {
					t.Errorf("%s FromObject(%+v) = %t %q %v, want %t %q", name, o, okNew, keyNew, errNew, okOld, keyOld)
				}
				checked++
			}
			for _, args := range argSets {
				keyOld, errOld := old.FromArgs(args...)
				keyNew, errNew := typed.FromArgs(args...)
				if (errNew != nil) != (errOld != nil) || !bytes.Equal(keyNew, keyOld) {
					t.Errorf("%s FromArgs%v = %q %v, want %q %v", name, args, keyNew, errNew, keyOld, errOld)
				}
				pOld, errOld := old.(memdb.PrefixIndexer).PrefixFromArgs(args...)
				pNew, errNew := typed.(memdb.PrefixIndexer).PrefixFromArgs(args...)
				if (errNew != nil) != (errOld != nil) || !bytes.Equal(pNew, pOld) {
					t.Errorf("%s PrefixFromArgs%v = %q %v, want %q %v", name, args, pNew, errNew, pOld, errOld)
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("only %d objects checked", checked)
	}
}
