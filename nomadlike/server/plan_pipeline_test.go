package server

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"

	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// refusedNodes reads the applier's refused-nodes counter.
func refusedNodes(s *Server) (float64, error) {
	var m dto.Metric
	if err := s.metrics.planRefusedNodes.Write(&m); err != nil {
		return 0, err
	}
	return m.GetCounter().GetValue(), nil
}

// awaitRefusal waits up to 10 s for the applier to have refused a node:
// a commit hook holds the in-flight plan with it until the next plan has
// been checked. It reports whether that happened in time.
func awaitRefusal(s *Server) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if n, err := refusedNodes(s); err == nil && n >= 1 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// pipelineFixture is a server whose workers have nothing to do: the test
// plays the workers, holding evaluations and submitting plans to the plan queue.
type pipelineFixture struct {
	s     *Server
	nodes []*structs.Node
	// jobs and their held evaluations' tokens, by job ID.
	jobs   map[string]*structs.Job
	evals  map[string]*structs.Evaluation
	tokens map[string]string
}

func newPipelineFixture(t testing.TB, mutate func(*Config), jobIDs ...string) *pipelineFixture {
	t.Helper()
	f := &pipelineFixture{jobs: map[string]*structs.Job{}, evals: map[string]*structs.Evaluation{}, tokens: map[string]string{}}
	f.s = newTestServer(t, func(c *Config) {
		c.MinHeartbeatTTL = time.Hour
		mutate(c)
	})
	for _, name := range []string{"x", "y"} {
		n := mockNode(name)
		registerNode(t, f.s, n)
		f.nodes = append(f.nodes, n)
	}
	// The jobs are written without an evaluation, and the test holds
	// evaluations of a type no worker takes: the workers stay idle.
	const testType = "plan-pipeline-test"
	for _, id := range jobIDs {
		job := mockJob(id, 1, 100, 64)
		job.Canonicalize()
		if _, err := f.s.raftApply(context.Background(), structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job}); err != nil {
			t.Fatalf("register job %s: %v", id, err)
		}
		f.s.broker.enqueue(&structs.Evaluation{ID: structs.GenerateUUID(), Namespace: job.Namespace, JobID: job.ID,
			Type: testType, Priority: job.Priority, Status: structs.EvalStatusPending})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range jobIDs {
		eval, token, err := f.s.broker.dequeue(ctx, []string{testType})
		if err != nil {
			t.Fatalf("dequeue: %v", err)
		}
		job, err := f.s.state.JobByID(nil, eval.Namespace, eval.JobID)
		if err != nil || job == nil {
			t.Fatalf("job %s of eval %s: %v", eval.JobID, eval.ID, err)
		}
		f.jobs[job.ID], f.evals[job.ID], f.tokens[job.ID] = job, eval, token
	}
	return f
}

// plan returns a plan of job placing allocations of the given CPU per node.
func (f *pipelineFixture) plan(t testing.TB, jobID string, place map[string]int64) *structs.Plan {
	t.Helper()
	idx, err := f.s.state.LatestIndex()
	if err != nil {
		t.Fatalf("LatestIndex: %v", err)
	}
	job := f.jobs[jobID]
	p := &structs.Plan{EvalID: f.evals[jobID].ID, Job: job, Priority: job.Priority, SnapshotIndex: idx,
		NodeAllocation: map[string][]*structs.Allocation{}, NodeUpdate: map[string][]*structs.Allocation{}}
	for node, cpu := range place {
		p.NodeAllocation[node] = []*structs.Allocation{cpuAlloc(job, node, cpu)}
	}
	return p
}

type submitted struct {
	result *structs.PlanResult
	err    error
}

// submit sends plan to the applier from a goroutine, as a worker does.
func (f *pipelineFixture) submit(jobID string, plan *structs.Plan) <-chan submitted {
	out := make(chan submitted, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		r, err := f.s.planQ.submit(ctx, f.tokens[jobID], plan)
		out <- submitted{r, err}
	}()
	return out
}

func wait(t *testing.T, ch <-chan submitted) submitted {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no answer from the plan applier")
		return submitted{}
	}
}

// TestPlanPipelineRefusesOvercommitOfInflightPlan: plan A fills node x
// and is in flight in Raft (its commit held) when plan B, placing on x and
// y, is checked. x is full only in A's result, not yet in the state: B
// must be refused on x (while A is still in flight, so against the
// overlay) and committed on y, and told to refresh to a state with A.
func TestPlanPipelineRefusesOvercommitOfInflightPlan(t *testing.T) {
	var f *pipelineFixture
	var checkedWhileInflight bool
	inCommit := make(chan struct{})
	f = newPipelineFixture(t, func(c *Config) {
		c.planCommitHook = func(p *structs.Plan) error {
			if p.EvalID != f.evals["a"].ID {
				return nil
			}
			close(inCommit)
			// Hold A's commit until B has been checked (a refusal counted).
			checkedWhileInflight = awaitRefusal(f.s)
			return nil
		}
	}, "a", "b")
	x, y := f.nodes[0].ID, f.nodes[1].ID
	planA := f.plan(t, "a", map[string]int64{x: 3000}) // of 4000
	planB := f.plan(t, "b", map[string]int64{x: 2000, y: 2000})
	resA := f.submit("a", planA)
	<-inCommit
	resB := f.submit("b", planB)
	a, b := wait(t, resA), wait(t, resB)
	if !checkedWhileInflight {
		t.Fatal("plan B was not refused on x while plan A was in flight: the in-flight plan's allocations were not counted")
	}
	if a.err != nil || b.err != nil {
		t.Fatalf("plans: A %v, B %v", a.err, b.err)
	}
	if diff := cmp.Diff(map[string][]string{y: {planB.NodeAllocation[y][0].ID}}, allocIDs(b.result.NodeAllocation)); diff != "" {
		t.Errorf("plan B placed (-want +got):\n%s", diff)
	}
	if b.result.RefreshIndex < a.result.AllocIndex {
		t.Errorf("plan B's RefreshIndex %d is before plan A's commit %d: the retry would not see x full", b.result.RefreshIndex, a.result.AllocIndex)
	}
	onX, err := f.s.state.AllocsByNode(nil, x)
	if err != nil {
		t.Fatalf("AllocsByNode: %v", err)
	}
	if len(onX) != 1 || onX[0].ID != planA.NodeAllocation[x][0].ID {
		t.Errorf("node x holds %d allocations, want only plan A's", len(onX))
	}
	if got, err := refusedNodes(f.s); err != nil || got != 1 {
		t.Errorf("refused nodes counted: %v (%v), want 1", got, err)
	}
}

// TestPlanPipelineInflightFailureRechecks: plan A stops the allocation
// filling node x and is in flight when plan B, placing on x in the room
// A frees, is checked (and passes against A's result). A's commit fails:
// B must be checked again against the real state, where x is still full,
// and refused there.
func TestPlanPipelineInflightFailureRechecks(t *testing.T) {
	var f *pipelineFixture
	var stopping *structs.Plan
	var checkedWhileInflight bool
	inCommit := make(chan struct{})
	f = newPipelineFixture(t, func(c *Config) {
		c.planCommitHook = func(p *structs.Plan) error {
			if p != stopping {
				return nil
			}
			close(inCommit)
			// B also places on a node that does not exist: its first check
			// counts that refusal, then A fails.
			checkedWhileInflight = awaitRefusal(f.s)
			return errors.New("injected Raft apply failure")
		}
	}, "a", "b")
	x := f.nodes[0].ID
	// A first commits an allocation of 3000 on x.
	fill := f.plan(t, "a", map[string]int64{x: 3000})
	if r := wait(t, f.submit("a", fill)); r.err != nil || len(r.result.NodeAllocation) != 1 {
		t.Fatalf("filling plan: %+v %v", r.result, r.err)
	}
	stored, err := f.s.state.AllocByID(nil, fill.NodeAllocation[x][0].ID)
	if err != nil || stored == nil {
		t.Fatalf("filling allocation not stored: %v", err)
	}
	stop := stored.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	stopping = f.plan(t, "a", nil)
	stopping.NodeUpdate[x] = []*structs.Allocation{stop}
	ghost := structs.GenerateUUID()
	planB := f.plan(t, "b", map[string]int64{x: 3000, ghost: 100})

	resA := f.submit("a", stopping)
	<-inCommit
	resB := f.submit("b", planB)
	a, b := wait(t, resA), wait(t, resB)
	if !checkedWhileInflight {
		t.Fatal("plan B was not checked while plan A was in flight")
	}
	if a.err == nil {
		t.Fatal("plan A: want the injected failure")
	}
	if b.err != nil {
		t.Fatalf("plan B: %v", b.err)
	}
	if got := allocIDs(b.result.NodeAllocation); len(got) != 0 {
		t.Errorf("plan B placed %v; want nothing (x is still full: the stop was never committed)", got)
	}
	if b.result.RefreshIndex == 0 {
		t.Error("plan B was refused without a RefreshIndex")
	}
	onX, err := f.s.state.AllocsByNode(nil, x)
	if err != nil {
		t.Fatalf("AllocsByNode: %v", err)
	}
	if len(onX) != 1 || onX[0].TerminalStatus() {
		t.Errorf("node x: %d allocations (want the filling one, still live)", len(onX))
	}
}

// TestPlanQueuePriorityOrder: the applier takes plans by priority, highest
// first, and first come first served within a priority.
func TestPlanQueuePriorityOrder(t *testing.T) {
	q := newPlanQueue()
	for i, prio := range []int{10, 90, 50, 90, 10, 50} {
		q.push(&planRequest{plan: &structs.Plan{EvalID: fmt.Sprint(i), Priority: prio}})
	}
	var got []string
	for r := q.pop(); r != nil; r = q.pop() {
		got = append(got, fmt.Sprintf("%d/%s", r.plan.Priority, r.plan.EvalID))
	}
	want := []string{"90/1", "90/3", "50/2", "50/5", "10/0", "10/4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

// TestPlanQueueDropsAbandonedPlans: a plan whose worker stopped waiting
// (its context ended) before the applier took it is not committed.
func TestPlanQueueDropsAbandonedPlans(t *testing.T) {
	var f *pipelineFixture
	release, inCheck := make(chan struct{}), make(chan struct{})
	f = newPipelineFixture(t, func(c *Config) {
		c.planApplyHook = func(p *structs.Plan) {
			if p.EvalID == f.evals["a"].ID {
				close(inCheck)
				<-release
			}
		}
	}, "a", "b")
	x, y := f.nodes[0].ID, f.nodes[1].ID
	resA := f.submit("a", f.plan(t, "a", map[string]int64{x: 100}))
	<-inCheck
	// The applier is busy with A: the plan of a worker that gives up
	// waits in the queue meanwhile.
	ctx, cancel := context.WithCancel(context.Background())
	abandoned := f.plan(t, "b", map[string]int64{y: 100})
	errC := make(chan error, 1)
	go func() {
		_, err := f.s.planQ.submit(ctx, f.tokens["b"], abandoned)
		errC <- err
	}()
	waitFor(t, 10*time.Second, "plan queued", func() (bool, string) {
		return f.s.metrics.planQueued.Load() == 1, "not queued"
	})
	cancel()
	if err := <-errC; err == nil {
		t.Fatal("abandoned submit returned no error")
	}
	close(release)
	if r := wait(t, resA); r.err != nil {
		t.Fatalf("plan A: %v", r.err)
	}
	// A later plan is answered, so the applier went past the abandoned one.
	if r := wait(t, f.submit("b", f.plan(t, "b", map[string]int64{x: 100}))); r.err != nil {
		t.Fatalf("plan after the abandoned one: %v", r.err)
	}
	if a, err := f.s.state.AllocByID(nil, abandoned.NodeAllocation[y][0].ID); err != nil || a != nil {
		t.Errorf("the abandoned plan's allocation was committed (%v)", err)
	}
}

// TestEvaluatePlanParallelNodes: a plan touching many nodes, checked on
// several goroutines, refuses exactly the nodes it would refuse serially.
func TestEvaluatePlanParallelNodes(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	f := newTestFSM(t)
	job := mockJob("web", 1, 100, 64)
	job.Canonicalize()
	idx := uint64(10)
	applyEntry(t, f, idx, structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job})
	plan := &structs.Plan{Job: job, NodeAllocation: map[string][]*structs.Allocation{}}
	wantPlaced := map[string][]string{}
	const nodes = 4 * parallelPlanNodes
	for i := range nodes {
		n := mockNode(fmt.Sprintf("n%d", i))
		n.Status = structs.NodeStatusReady
		idx++
		applyEntry(t, f, idx, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: n})
		if i%3 == 0 { // a third of the nodes are nearly full
			idx++
			applyEntry(t, f, idx, structs.ApplyPlanResultsRequestType, &structs.ApplyPlanResultsRequest{Job: job,
				AllocsPlaced: []*structs.Allocation{cpuAlloc(job, n.ID, 3500)}})
		}
		a := cpuAlloc(job, n.ID, 1000)
		plan.NodeAllocation[n.ID] = []*structs.Allocation{a}
		if i%3 != 0 {
			wantPlaced[n.ID] = []string{a.ID}
		}
	}
	snap, err := f.state.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	result, refused, err := evaluatePlan(snap, nil, plan)
	if err != nil {
		t.Fatalf("evaluatePlan: %v", err)
	}
	if diff := cmp.Diff(wantPlaced, allocIDs(result.NodeAllocation)); diff != "" {
		t.Errorf("placed (-want +got):\n%s", diff)
	}
	if len(refused) != (nodes+2)/3 {
		t.Errorf("%d nodes refused, want %d", len(refused), (nodes+2)/3)
	}
}

// TestPlanPipelineNeverOvercommits: many jobs competing for little room,
// scheduled by several workers through the pipelined applier: no node ends
// up with more than it has, and the room is used.
func TestPlanPipelineNeverOvercommits(t *testing.T) {
	const nodes, jobs, count, cpu = 4, 10, 10, 500 // 100 asked, 32 fit
	s := newTestServer(t, func(c *Config) { c.NumSchedulers = 4; c.MinHeartbeatTTL = time.Hour })
	var all []*structs.Node
	for i := range nodes {
		n := mockNode(fmt.Sprintf("node-%d", i))
		registerNode(t, s, n)
		all = append(all, n)
	}
	var wg sync.WaitGroup
	for j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			job := mockJob(fmt.Sprintf("job-%d", j), count, cpu, 20)
			job.Priority = 10 + j*10
			if _, err := s.RegisterJob(context.Background(), &structs.JobRegisterRequest{Job: job}); err != nil {
				t.Errorf("RegisterJob: %v", err)
			}
		}()
	}
	wg.Wait()
	live := func() int {
		n := 0
		for j := range jobs {
			n += len(liveAllocs(t, s, fmt.Sprintf("job-%d", j)))
		}
		return n
	}
	waitFor(t, 60*time.Second, "the room filled", func() (bool, string) {
		n := live()
		return n >= nodes*4000/cpu, fmt.Sprintf("%d live", n)
	})
	waitFor(t, 60*time.Second, "evaluations settled", func() (bool, string) {
		st := s.broker.stats()
		return st.Ready+st.Unacked+st.Pending == 0, fmt.Sprintf("%+v", st)
	})
	for _, n := range all {
		allocs, err := s.state.AllocsByNode(nil, n.ID)
		if err != nil {
			t.Fatalf("AllocsByNode: %v", err)
		}
		var liveOnNode []*structs.Allocation
		for _, a := range allocs {
			if !a.TerminalStatus() {
				liveOnNode = append(liveOnNode, a)
			}
		}
		stored, err := s.state.NodeByID(nil, n.ID)
		if err != nil {
			t.Fatalf("NodeByID: %v", err)
		}
		if fit, dim, _ := structs.AllocsFit(stored, liveOnNode); !fit {
			t.Errorf("node %s overcommitted (%s) with %d live allocations", n.Name, dim, len(liveOnNode))
		}
	}
	if n := live(); n != nodes*4000/cpu {
		t.Errorf("%d live allocations, want %d (every slot, no more)", n, nodes*4000/cpu)
	}
}

// queuedPlans is how many plans wait in s's plan queue.
func queuedPlans(s *Server) int {
	s.planQ.mu.Lock()
	defer s.planQ.mu.Unlock()
	return len(s.planQ.pending)
}

// holdUntilQueued returns a planApplyHook that, on plan first's check,
// closes held and holds the applier until n plans wait in the queue:
// those then make one batch.
func holdUntilQueued(t *testing.T, f **pipelineFixture, first string, n int, held chan struct{}) func(*structs.Plan) {
	return func(p *structs.Plan) {
		if p.EvalID != (*f).evals[first].ID {
			return
		}
		close(held)
		deadline := time.Now().Add(10 * time.Second)
		for queuedPlans((*f).s) < n {
			if time.Now().After(deadline) {
				t.Errorf("%d plans never queued behind plan %s", n, first)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
}

// submitBehind submits plan A, then, once the applier holds it (see
// holdUntilQueued), plans B and C one after the other.
func (f *pipelineFixture) submitBehind(t *testing.T, held <-chan struct{}, a, b, c *structs.Plan) (resA, resB, resC <-chan submitted) {
	t.Helper()
	resA = f.submit("a", a)
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatal("the applier never took plan A")
	}
	resB = f.submit("b", b)
	deadline := time.Now().Add(10 * time.Second)
	for queuedPlans(f.s) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("plan B never queued")
		}
		time.Sleep(time.Millisecond)
	}
	return resA, resB, f.submit("c", c)
}

// TestPlanBatchChecksEachAgainstTheOnesBefore: plans B and C queue while
// the applier checks plan A (held there), and join A's batch: the three
// are committed in one Raft entry. B and C both place on node x, which
// fits one: B, first, is committed there; C is checked against the state
// plus A's and B's results, refused on x (x is not full in the state
// yet), committed on y, and told to refresh to a state with B.
func TestPlanBatchChecksEachAgainstTheOnesBefore(t *testing.T) {
	var f *pipelineFixture
	held := make(chan struct{})
	f = newPipelineFixture(t, func(c *Config) { c.planApplyHook = holdUntilQueued(t, &f, "a", 2, held) }, "a", "b", "c")
	x, y := f.nodes[0].ID, f.nodes[1].ID
	planB := f.plan(t, "b", map[string]int64{x: 3000}) // of 4000
	planC := f.plan(t, "c", map[string]int64{x: 2000, y: 2000})
	resA, resB, resC := f.submitBehind(t, held, f.plan(t, "a", map[string]int64{y: 100}), planB, planC)
	a, b, c := wait(t, resA), wait(t, resB), wait(t, resC)
	if a.err != nil || b.err != nil || c.err != nil {
		t.Fatalf("plans: A %v, B %v, C %v", a.err, b.err, c.err)
	}
	if b.result.AllocIndex != a.result.AllocIndex || c.result.AllocIndex != a.result.AllocIndex {
		t.Fatalf("commit indexes A %d, B %d, C %d: want one entry", a.result.AllocIndex, b.result.AllocIndex, c.result.AllocIndex)
	}
	if diff := cmp.Diff(map[string][]string{x: {planB.NodeAllocation[x][0].ID}}, allocIDs(b.result.NodeAllocation)); diff != "" {
		t.Errorf("plan B placed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{y: {planC.NodeAllocation[y][0].ID}}, allocIDs(c.result.NodeAllocation)); diff != "" {
		t.Errorf("plan C placed (-want +got):\n%s", diff)
	}
	if c.result.RefreshIndex < c.result.AllocIndex {
		t.Errorf("plan C's RefreshIndex %d is before the batch's commit %d: the retry would not see x full", c.result.RefreshIndex, c.result.AllocIndex)
	}
	onX, err := f.s.state.AllocsByNode(nil, x)
	if err != nil {
		t.Fatalf("AllocsByNode: %v", err)
	}
	if len(onX) != 1 || onX[0].ID != planB.NodeAllocation[x][0].ID {
		t.Errorf("node x holds %d allocations, want only plan B's", len(onX))
	}
}

// TestPlanBatchCommitsAllOrNothing: plans A, B and C make one batch (as
// above); its commit fails. None is in the state, and every worker is
// told.
func TestPlanBatchCommitsAllOrNothing(t *testing.T) {
	var f *pipelineFixture
	held := make(chan struct{})
	f = newPipelineFixture(t, func(c *Config) {
		c.planApplyHook = holdUntilQueued(t, &f, "a", 2, held)
		c.planCommitHook = func(p *structs.Plan) error {
			if p.EvalID == f.evals["c"].ID {
				return errors.New("injected Raft apply failure")
			}
			return nil
		}
	}, "a", "b", "c")
	x, y := f.nodes[0].ID, f.nodes[1].ID
	resA, resB, resC := f.submitBehind(t, held, f.plan(t, "a", map[string]int64{y: 100}),
		f.plan(t, "b", map[string]int64{x: 1000}), f.plan(t, "c", map[string]int64{y: 1000}))
	a, b, c := wait(t, resA), wait(t, resB), wait(t, resC)
	if a.err == nil || b.err == nil || c.err == nil {
		t.Fatalf("plans A, B and C: %v, %v, %v; want all to fail with their batch", a.err, b.err, c.err)
	}
	for _, job := range []string{"a", "b", "c"} {
		allocs, err := f.s.state.AllocsByJob(nil, structs.DefaultNamespace, job, true)
		if err != nil {
			t.Fatalf("AllocsByJob: %v", err)
		}
		if len(allocs) != 0 {
			t.Errorf("job %s has %d allocations after its batch failed", job, len(allocs))
		}
	}
}
