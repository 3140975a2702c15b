package command

import (
	"context"
	"fmt"
	"io"
	"maps"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// blockingWait is the longest a single blocking query waits for a change.
const blockingWait = 30 * time.Second

// monitor watches evaluations and allocations with blocking queries and
// prints their progress in the style of Nomad's CLI monitor.
type monitor struct {
	cl      *api.Client
	out     io.Writer
	q       api.QueryOptions
	now     func() time.Time
	verbose bool
}

// evalOutcome is what a chain of evaluations (NextEval links) did.
type evalOutcome struct {
	// last is the last evaluation followed.
	last *structs.Evaluation
	// placed are the allocations the chain created, in order of appearance.
	placed []*structs.AllocListStub
	// failed holds the placement failures per task group.
	failed map[string]*structs.AllocMetric
	// blockedEval is the ID of the blocked evaluation waiting for capacity.
	blockedEval string
}

func (m *monitor) stamp() string { return m.now().UTC().Format(time.RFC3339) }

func (m *monitor) printf(format string, args ...any) { fmt.Fprintf(m.out, format+"\n", args...) }

func (m *monitor) id(s string) string { return shortID(s, m.verbose) }

// watchEval follows evalID (and its NextEval successors) until each is
// terminal, printing status changes and the allocations it placed.
func (m *monitor) watchEval(ctx context.Context, evalID string) (*evalOutcome, error) {
	out := &evalOutcome{failed: map[string]*structs.AllocMetric{}}
	seenAllocs := map[string]bool{}
	m.printf("==> %s: Monitoring evaluation %q", m.stamp(), m.id(evalID))
	for {
		ev, err := m.waitEvalTerminal(ctx, evalID)
		if err != nil {
			return out, err
		}
		out.last = ev
		q := m.q
		allocs, _, err := m.cl.EvaluationAllocations(ctx, ev.ID, &q)
		if err != nil {
			return out, fail(fmt.Sprintf("listing the allocations of evaluation %q", m.id(ev.ID)), err, "")
		}
		for _, a := range allocs {
			if seenAllocs[a.ID] {
				continue
			}
			seenAllocs[a.ID] = true
			verb := "created"
			if a.CreateIndex < ev.CreateIndex {
				verb = "modified"
			} else {
				out.placed = append(out.placed, a)
			}
			m.printf("    Allocation %q %s: node %q, group %q", m.id(a.ID), verb, m.id(a.NodeID), a.TaskGroup)
		}
		maps.Copy(out.failed, ev.FailedTGAllocs)
		if ev.BlockedEval != "" {
			out.blockedEval = ev.BlockedEval
		}
		// A canceled evaluation was coalesced into its NextEval, which covers it.
		if ev.NextEval != "" && (ev.Status == structs.EvalStatusComplete || ev.Status == structs.EvalStatusCancelled) {
			m.printf("    Monitoring next evaluation %q", m.id(ev.NextEval))
			evalID = ev.NextEval
			continue
		}
		switch {
		case len(out.failed) > 0:
			m.printf("==> %s: Evaluation %q finished with status %q but failed to place all allocations:", m.stamp(), m.id(ev.ID), ev.Status)
			for _, l := range explainFailedGroups(out.failed) {
				m.printf("    %s", l)
			}
			if out.blockedEval != "" {
				m.printf("    Evaluation %q waiting for additional capacity to place remainder", m.id(out.blockedEval))
			}
		default:
			m.printf("==> %s: Evaluation %q finished with status %q", m.stamp(), m.id(ev.ID), ev.Status)
		}
		if ev.Status == structs.EvalStatusFailed || ev.Status == structs.EvalStatusCancelled {
			if ev.StatusDescription != "" {
				m.printf("    Status description: %s", ev.StatusDescription)
			}
		}
		return out, nil
	}
}

// waitEvalTerminal reads the evaluation with blocking queries until it is
// terminal, printing its trigger once and each status change.
func (m *monitor) waitEvalTerminal(ctx context.Context, evalID string) (*structs.Evaluation, error) {
	var idx uint64
	last := ""
	for {
		q := m.q
		q.WaitIndex, q.WaitTime = idx, blockingWait
		ev, meta, err := m.cl.Evaluation(ctx, evalID, &q)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fail(fmt.Sprintf("waiting for evaluation %q", m.id(evalID)), ctx.Err(),
					fmt.Sprintf("The evaluation is still %q; follow it with 'nomadlike eval status %s'.", last, evalID))
			}
			return nil, fail(fmt.Sprintf("reading evaluation %q", m.id(evalID)), err, "")
		}
		if last == "" {
			m.printf("    Evaluation triggered by %s", triggerText(ev))
		} else if ev.Status != last {
			m.printf("    Evaluation status changed: %q -> %q", last, ev.Status)
		}
		last = ev.Status
		if ev.TerminalStatus() {
			return ev, nil
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
	}
}

// triggerText says what triggered an evaluation, as Nomad's monitor does.
func triggerText(ev *structs.Evaluation) string {
	switch ev.TriggeredBy {
	case structs.EvalTriggerJobRegister, structs.EvalTriggerJobDeregister, "":
		return fmt.Sprintf("job %q", ev.JobID)
	case structs.EvalTriggerNodeUpdate:
		return fmt.Sprintf("node %q", shortID(ev.NodeID, false))
	}
	return fmt.Sprintf("%q for job %q", ev.TriggeredBy, ev.JobID)
}
