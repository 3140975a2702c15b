package server

import (
	"context"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/raft"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// recordRegistrations registers n small jobs that no node can run (the
// job of BenchmarkClusterRegister) on an in-memory server, waits until the
// scheduler has finished every evaluation, and returns the server's Raft
// log: the entries a registration causes, as a cluster applies them.
func recordRegistrations(t testing.TB, n int) []*raft.Log {
	t.Helper()
	s := newTestServer(t, nil)
	var evals []string
	for i := range n {
		j := mockJob(fmt.Sprintf("rec-%d", i), 1, 20, 16)
		j.Datacenters = []string{"nowhere"}
		// As the agent's HTTP API fills them in for a service job.
		j.Update = structs.DefaultUpdateStrategy()
		j.TaskGroups[0].Update = structs.DefaultUpdateStrategy()
		j.TaskGroups[0].ReschedulePolicy = structs.DefaultReschedulePolicy(j.Type)
		// With a request ID, as the HTTP API gives every write.
		ctx := context.WithValue(context.Background(), writeOnceKey{}, &writeOnceReq{
			once: structs.WriteOnce{RequestID: structs.GenerateUUID(), Fingerprint: "0123456789abcdef0123456789abcdef"}, line: "PUT /v1/jobs?"})
		resp, err := s.RegisterJob(ctx, &structs.JobRegisterRequest{Job: j})
		if err != nil {
			t.Fatalf("RegisterJob: %v", err)
		}
		evals = append(evals, resp.EvalID)
	}
	waitFor(t, 30*time.Second, "every registration's evaluation finished", func() (bool, string) {
		for _, id := range evals {
			e, err := s.state.EvalByID(nil, id)
			if err != nil || e == nil || !e.TerminalStatus() {
				return false, fmt.Sprintf("evaluation %s: %v %v", id, e, err)
			}
		}
		st := s.broker.stats()
		return st.Ready+st.Unacked+st.Pending == 0, fmt.Sprintf("broker %+v", st)
	})
	// The acker's writes are futures: wait for the last to be applied.
	if err := s.raft.Barrier(10 * time.Second).Error(); err != nil {
		t.Fatalf("Barrier: %v", err)
	}
	first, err := s.raftStore.logs.FirstIndex()
	if err != nil {
		t.Fatal(err)
	}
	last, err := s.raftStore.logs.LastIndex()
	if err != nil {
		t.Fatal(err)
	}
	var logs []*raft.Log
	for i := first; i <= last; i++ {
		var l raft.Log
		if err := s.raftStore.logs.GetLog(i, &l); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		logs = append(logs, &l)
	}
	return logs
}

// radixTrees returns the root node of every index of f's state store, by
// "table.index": read through reflection from go-memdb's unexported
// fields, only to measure what each entry writes.
func radixTrees(f *fsm) map[string]reflect.Value {
	load := func(atomicPtr reflect.Value) reflect.Value {
		p := reflect.NewAt(atomicPtr.Type(), unsafe.Pointer(atomicPtr.UnsafeAddr()))
		return p.MethodByName("Load").Call(nil)[0]
	}
	db := load(reflect.ValueOf(f.state).Elem().FieldByName("db"))
	trees := load(db.Elem().FieldByName("root")).Elem().FieldByName("trees")
	out := map[string]reflect.Value{}
	it := db.Elem().FieldByName("tables").MapRange()
	for it.Next() {
		ixs := it.Value().Elem().FieldByName("indexes")
		for i := range ixs.Len() {
			ix := ixs.Index(i).Elem()
			tree := trees.Index(int(ix.FieldByName("slot").Int()))
			out[it.Key().String()+"."+ix.FieldByName("name").String()] = tree.Elem().FieldByName("root")
		}
	}
	return out
}

// radixNodes adds the nodes and leaves under n to seen.
func radixNodes(n reflect.Value, seen map[uintptr]bool) {
	if n.IsNil() || seen[n.Pointer()] {
		return
	}
	seen[n.Pointer()] = true
	if leaf := n.Elem().FieldByName("leaf"); !leaf.IsNil() {
		seen[leaf.Pointer()] = true
	}
	edges := n.Elem().FieldByName("edges")
	for i := range edges.Len() {
		radixNodes(edges.Index(i).FieldByName("node"), seen)
	}
}

// newRadixNodes counts the nodes and leaves under n that old has not.
func newRadixNodes(n reflect.Value, old map[uintptr]bool) (nodes, leaves int) {
	if n.IsNil() || old[n.Pointer()] {
		return 0, 0
	}
	nodes = 1
	if leaf := n.Elem().FieldByName("leaf"); !leaf.IsNil() && !old[leaf.Pointer()] {
		leaves = 1
	}
	edges := n.Elem().FieldByName("edges")
	for i := range edges.Len() {
		a, b := newRadixNodes(edges.Index(i).FieldByName("node"), old)
		nodes, leaves = nodes+a, leaves+b
	}
	return nodes, leaves
}

// writeCount is what entries of one type wrote to one index.
type writeCount struct{ entries, nodes, leaves int }

// measureWrites applies logs to a fresh FSM one at a time and returns, by
// entry type and "table.index", the radix nodes and leaves each entry's
// commit added (the nodes its writes copied or made), and the number of
// entries of each type.
func measureWrites(t testing.TB, logs []*raft.Log) (map[string]map[string]*writeCount, map[string]int) {
	f := newTestFSM(&testing.T{})
	out := map[string]map[string]*writeCount{}
	counts := map[string]int{}
	for _, l := range logs {
		if l.Type != raft.LogCommand {
			continue
		}
		name := entryHandlers[structs.MessageType(l.Data[0])].name
		before := radixTrees(f)
		if resp := f.Apply(l); resp != nil {
			t.Fatalf("Apply %d (%s): %v", l.Index, name, resp)
		}
		counts[name]++
		if out[name] == nil {
			out[name] = map[string]*writeCount{}
		}
		for ix, root := range radixTrees(f) {
			old := before[ix]
			if root.Pointer() == old.Pointer() {
				continue
			}
			seen := map[uintptr]bool{}
			radixNodes(old, seen)
			nodes, leaves := newRadixNodes(root, seen)
			c := out[name][ix]
			if c == nil {
				c = &writeCount{}
				out[name][ix] = c
			}
			c.entries++
			c.nodes += nodes
			c.leaves += leaves
		}
	}
	return out, counts
}

// TestFSMRegistrationWrites reports, per entry type of a registration as a
// server makes them, which indexes each entry writes and how many radix
// nodes and leaves its commit adds (run with -v to see the table).
func TestFSMRegistrationWrites(t *testing.T) {
	const n = 200
	logs := recordRegistrations(t, n)
	writes, counts := measureWrites(t, logs)
	var names []string
	for name := range writes {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		total := 0
		var ixs []string
		for ix, c := range writes[name] {
			total += c.nodes + c.leaves
			ixs = append(ixs, ix)
		}
		sort.Strings(ixs)
		fmt.Fprintf(&b, "%s: %d entries, %.1f radix nodes+leaves per entry\n", name, counts[name], float64(total)/float64(counts[name]))
		for _, ix := range ixs {
			c := writes[name][ix]
			fmt.Fprintf(&b, "  %-32s written by %3d%% of entries, %.1f nodes %.1f leaves per entry\n", ix,
				100*c.entries/counts[name], float64(c.nodes)/float64(counts[name]), float64(c.leaves)/float64(counts[name]))
		}
	}
	t.Logf("registrations: %d\n%s", n, b.String())
}

// BenchmarkFSMRegistrations applies the Raft log of 300 registrations
// recorded from a server (recordRegistrations: each job's registration,
// its plan with a deployment and its evaluation's update) to a fresh FSM,
// one entry at a time and in batches of 16 as a busy leader commits them.
// An op is the whole log; the per-registration figures are reported as
// cpu-ns/reg, allocs/reg and B/reg.
func BenchmarkFSMRegistrations(b *testing.B) {
	const regs = 300
	logs := recordRegistrations(b, regs)
	for _, size := range []int{1, 16} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			var ms0, ms1 runtime.MemStats
			var cpu time.Duration
			var mallocs, bytes uint64
			for range b.N {
				b.StopTimer()
				f := newTestFSM(&testing.T{})
				runtime.ReadMemStats(&ms0)
				start := cpuTime()
				b.StartTimer()
				for i := 0; i < len(logs); i += size {
					for _, resp := range f.ApplyBatch(logs[i:min(i+size, len(logs))]) {
						if resp != nil {
							b.Fatalf("ApplyBatch: %v", resp)
						}
					}
				}
				b.StopTimer()
				cpu += cpuTime() - start
				runtime.ReadMemStats(&ms1)
				mallocs += ms1.Mallocs - ms0.Mallocs
				bytes += ms1.TotalAlloc - ms0.TotalAlloc
				b.StartTimer()
			}
			b.StopTimer()
			n := float64(b.N * regs)
			b.ReportMetric(float64(cpu)/n, "cpu-ns/reg")
			b.ReportMetric(float64(mallocs)/n, "allocs/reg")
			b.ReportMetric(float64(bytes)/n, "B/reg")
		})
	}
}
