package command

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// drainMonitor follows a node's drain as Nomad's `node drain` monitor does:
// one goroutine long-polls the node until its drain is over, another the
// node's allocations, reporting each one marked for migration, stopped
// (draining) and changing client status; the main goroutine prints both in
// arrival order, each line stamped.
type drainMonitor struct {
	c          *cli
	cl         *api.Client
	node       *structs.Node
	ignoreSys  bool
	sawDrain   bool // the node was seen draining
	allStopped bool
	quit       chan struct{} // closed when run returns: watchers stop sending
}

// lastLookWait bounds the allocation watcher's last read once the drain is
// over (a blocking query that returns at once when anything changed).
const lastLookWait = 50 * time.Millisecond

// drainMsg is one line of monitor output, or the end of a watcher (done).
type drainMsg struct {
	text string
	done bool
	err  error
}

// stampf prints a line prefixed with the time, as Nomad's drain monitor does.
func (m *drainMonitor) stampf(format string, args ...any) {
	now := m.c.now()
	m.c.out("%s: %s", formatTime(now, now.Location()), fmt.Sprintf(format, args...))
}

// run follows the drain until it is over, ctx ends or a read fails.
func (m *drainMonitor) run(ctx context.Context, nodeIndex uint64) error {
	m.quit = make(chan struct{})
	defer close(m.quit)
	nodeCh, allocCh := make(chan drainMsg, 8), make(chan drainMsg, 8)
	allocCtx, stopAllocs := context.WithCancel(ctx)
	defer stopAllocs()
	go m.watchNode(ctx, nodeIndex, nodeCh)
	go m.watchAllocs(allocCtx, allocCh)
	for {
		select {
		case msg := <-allocCh:
			if msg.err != nil {
				return m.failed(ctx, msg.err)
			}
			m.stampf("%s", msg.text)
		case msg := <-nodeCh:
			if msg.err != nil {
				return m.failed(ctx, msg.err)
			}
			if !msg.done {
				m.stampf("%s", msg.text)
				continue
			}
			// The drain is over: print what the allocation watcher has
			// queued, then the outcome.
			stopAllocs()
			for {
				a := <-allocCh
				if a.done || a.err != nil {
					break
				}
				m.stampf("%s", a.text)
			}
			m.stampf("%s", msg.text)
			return nil
		}
	}
}

// send hands msg to run unless run has returned.
func (m *drainMonitor) send(out chan<- drainMsg, msg drainMsg) {
	select {
	case out <- msg:
	case <-m.quit:
	}
}

// failed turns a watcher's error into the command's error.
func (m *drainMonitor) failed(ctx context.Context, err error) error {
	short := shortID(m.node.ID, false)
	hint := fmt.Sprintf("The drain goes on; follow it again with 'nomadlike node drain -monitor %s'.", short)
	if ctx.Err() != nil {
		return &cliError{code: exitError, doing: fmt.Sprintf("following the drain of node %q", short), err: ctx.Err(), hint: hint}
	}
	return fail(fmt.Sprintf("following the drain of node %q", short), err, hint)
}

// watchNode long-polls the node and ends (done) with the drain's outcome.
func (m *drainMonitor) watchNode(ctx context.Context, idx uint64, out chan<- drainMsg) {
	node := m.node
	for {
		if node.DrainStrategy != nil {
			m.sawDrain = true
		} else {
			m.send(out, drainMsg{done: true, text: drainOutcome(node, m.sawDrain)})
			return
		}
		q := *m.c.query()
		q.WaitIndex, q.WaitTime = idx, blockingWait
		next, meta, err := m.cl.Node(ctx, node.ID, &q)
		if err != nil {
			m.send(out, drainMsg{err: err})
			return
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		node = next
	}
}

// drainOutcome words how a drain ended: complete (the drainer's node
// event), or disabled before it completed.
func drainOutcome(node *structs.Node, sawDrain bool) string {
	short := shortID(node.ID, false)
	if !sawDrain {
		return fmt.Sprintf("No drain strategy set for node %s", short)
	}
	for i := len(node.Events) - 1; i >= 0; i-- {
		switch node.Events[i].Message {
		case structs.NodeEventDrainComplete:
			return fmt.Sprintf("Drain complete for node %s", short)
		case structs.NodeEventDrainStopped:
			return fmt.Sprintf("Drain disabled for node %s before it completed", short)
		}
	}
	return fmt.Sprintf("Drain complete for node %s", short)
}

// watchAllocs long-polls the node's allocations and reports their changes;
// when ctx ends it takes one last look (without waiting) so no change made
// before the drain ended goes unreported, then sends done.
func (m *drainMonitor) watchAllocs(ctx context.Context, out chan<- drainMsg) {
	prev := map[string]*structs.Allocation{}
	var idx uint64
	first := true
	for {
		q := *m.c.query()
		lookCtx := ctx
		switch {
		case ctx.Err() != nil:
			// The last look: anything newer than idx, without waiting long.
			lookCtx = context.WithoutCancel(ctx)
			q.WaitIndex, q.WaitTime = idx, lastLookWait
		case !first:
			q.WaitIndex, q.WaitTime = idx, blockingWait
		}
		allocs, meta, err := m.cl.NodeAllocations(lookCtx, m.node.ID, &q)
		if err != nil {
			if ctx.Err() != nil && lookCtx == ctx {
				continue // cancelled while waiting: take the last look
			}
			if ctx.Err() != nil {
				m.send(out, drainMsg{done: true})
				return
			}
			m.send(out, drainMsg{err: err})
			return
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		for _, text := range m.allocChanges(prev, allocs, first) {
			m.send(out, drainMsg{text: text})
		}
		first = false
		if lookCtx != ctx {
			m.send(out, drainMsg{done: true})
			return
		}
	}
}

// allocChanges compares the node's allocations with the previous look and
// words what changed, in Nomad's terms. The first look only records them
// (and reports those already marked for migration).
func (m *drainMonitor) allocChanges(prev map[string]*structs.Allocation, allocs []*structs.Allocation, first bool) []string {
	slices.SortFunc(allocs, func(x, y *structs.Allocation) int { return strings.Compare(x.Name+x.ID, y.Name+y.ID) })
	var out []string
	live := 0
	for _, a := range allocs {
		short := shortID(a.ID, false)
		old := prev[a.ID]
		prev[a.ID] = a
		if !a.TerminalStatus() && !(m.ignoreSys && isSystemJobAlloc(a)) {
			live++
		}
		migrating := a.DesiredTransition.ShouldMigrate()
		switch {
		case old == nil && first:
			if migrating && !a.TerminalStatus() {
				out = append(out, fmt.Sprintf("Alloc %q marked for migration", short))
			}
			continue
		case old == nil:
			continue // placed on the node while it drains (a system job's, say)
		}
		if migrating && !old.DesiredTransition.ShouldMigrate() {
			out = append(out, fmt.Sprintf("Alloc %q marked for migration", short))
		}
		if old.DesiredStatus != a.DesiredStatus && a.DesiredStatus != structs.AllocDesiredStatusRun {
			out = append(out, fmt.Sprintf("Alloc %q draining", short))
		}
		if old.ClientStatus != a.ClientStatus {
			out = append(out, fmt.Sprintf("Alloc %q status %s -> %s", short, old.ClientStatus, a.ClientStatus))
		}
	}
	if live == 0 && !m.allStopped && len(prev) > 0 {
		m.allStopped = true
		out = append(out, fmt.Sprintf("All allocations on node %q have stopped", shortID(m.node.ID, false)))
	}
	return out
}

// isSystemJobAlloc reports whether a belongs to a system or sysbatch job.
func isSystemJobAlloc(a *structs.Allocation) bool {
	return a.Job != nil && (a.Job.Type == structs.JobTypeSystem || a.Job.Type == structs.JobTypeSysBatch)
}
