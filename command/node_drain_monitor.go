package command

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// drainMonitor follows a node's drain as Nomad's `node drain` monitor does:
// one goroutine long-polls the node until its drain is over, another the
// node's allocations until none is pending or running (system allocations
// aside with -ignore-system), reporting each one marked for migration,
// stopped (draining) and changing client status. The main goroutine prints
// both in arrival order, each line stamped, and returns once both are done
// (at once when the drain was disabled or never set).
type drainMonitor struct {
	c         *cli
	cl        *api.Client
	node      *structs.Node
	ignoreSys bool
	sawDrain  bool // the node was seen draining
	// baseline are the node's allocations read before the drain was set
	// (nil with -monitor): their changes are reported from the first look.
	baseline []*structs.Allocation
	quit     chan struct{} // closed when run returns: watchers stop sending
}

// drainMsg is one line of monitor output; done ends a watcher (with a
// last line when text is set), err ends the monitor.
type drainMsg struct {
	text     string
	done     bool
	complete bool // node watcher: the drain completed (rather than was disabled or never set)
	err      error
}

// stampf prints a line prefixed with the time, as Nomad's drain monitor does.
func (m *drainMonitor) stampf(format string, args ...any) {
	now := m.c.now()
	m.c.out("%s: %s", formatTime(now, now.Location()), fmt.Sprintf(format, args...))
}

// run follows the drain from the node read at nodeIndex until it is over,
// ctx ends or a read fails.
func (m *drainMonitor) run(ctx context.Context, nodeIndex uint64) error {
	m.quit = make(chan struct{})
	defer close(m.quit)
	nodeCh, allocCh := make(chan drainMsg, 8), make(chan drainMsg, 8)
	allocCtx, stopAllocs := context.WithCancel(ctx)
	defer stopAllocs()
	go m.watchNode(ctx, nodeIndex, nodeCh)
	go m.watchAllocs(allocCtx, allocCh)
	for nodeCh != nil || allocCh != nil {
		var msg drainMsg
		fromNode := false
		select {
		case msg = <-allocCh:
		case msg = <-nodeCh:
			fromNode = true
		}
		if msg.err != nil {
			return m.failed(ctx, msg.err)
		}
		if msg.text != "" {
			m.stampf("%s", msg.text)
		}
		switch {
		case !msg.done:
		case fromNode && !msg.complete:
			return nil // disabled or never set: nothing more will move
		case fromNode:
			nodeCh = nil
		default:
			allocCh = nil
		}
	}
	return nil
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
			text, complete := drainOutcome(node, m.sawDrain)
			m.send(out, drainMsg{done: true, complete: complete, text: text})
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
// event), disabled before it completed, or never set.
func drainOutcome(node *structs.Node, sawDrain bool) (string, bool) {
	short := shortID(node.ID, false)
	if !sawDrain {
		return fmt.Sprintf("No drain strategy set for node %s", short), false
	}
	for i := len(node.Events) - 1; i >= 0; i-- {
		switch node.Events[i].Message {
		case structs.NodeEventDrainComplete:
			return fmt.Sprintf("Drain complete for node %s", short), true
		case structs.NodeEventDrainStopped:
			return fmt.Sprintf("Drain disabled for node %s before it completed", short), false
		}
	}
	return fmt.Sprintf("Drain complete for node %s", short), true
}

// watchAllocs long-polls the node's allocations, reports their changes and
// ends once none is pending or running.
func (m *drainMonitor) watchAllocs(ctx context.Context, out chan<- drainMsg) {
	prev := map[string]*structs.Allocation{}
	for _, a := range m.baseline {
		prev[a.ID] = a
	}
	var idx uint64
	for first := true; ; first = false {
		q := *m.c.query()
		if !first {
			q.WaitIndex, q.WaitTime = idx, blockingWait
		}
		allocs, meta, err := m.cl.NodeAllocations(ctx, m.node.ID, &q)
		if err != nil {
			if ctx.Err() == nil {
				m.send(out, drainMsg{err: err})
			}
			return
		}
		if meta.LastIndex > idx {
			idx = meta.LastIndex
		}
		changes, running := m.allocChanges(prev, allocs, first && m.baseline == nil)
		for _, text := range changes {
			m.send(out, drainMsg{text: text})
		}
		if running == 0 {
			m.send(out, drainMsg{done: true, text: fmt.Sprintf("All allocations on node %q have stopped", shortID(m.node.ID, false))})
			return
		}
	}
}

// allocChanges compares the node's allocations with the previous look and
// words what changed, in Nomad's terms; running counts those still pending
// or running (system ones aside with -ignore-system). Without a previous
// look (quiet) it only records them.
func (m *drainMonitor) allocChanges(prev map[string]*structs.Allocation, allocs []*structs.Allocation, quiet bool) (changes []string, running int) {
	slices.SortFunc(allocs, func(x, y *structs.Allocation) int { return strings.Compare(x.Name+x.ID, y.Name+y.ID) })
	for _, a := range allocs {
		old := prev[a.ID]
		prev[a.ID] = a
		live := a.ClientStatus == structs.AllocClientStatusPending || a.ClientStatus == structs.AllocClientStatusRunning
		if live && !(m.ignoreSys && isSystemJobAlloc(a)) {
			running++
		}
		if old == nil || quiet {
			continue // placed since (a system job's, say), or nothing to compare with
		}
		short := shortID(a.ID, false)
		migrating := a.DesiredTransition.ShouldMigrate()
		if migrating && !old.DesiredTransition.ShouldMigrate() {
			changes = append(changes, fmt.Sprintf("Alloc %q marked for migration", short))
		}
		if old.DesiredStatus != a.DesiredStatus && a.DesiredStatus != structs.AllocDesiredStatusRun {
			changes = append(changes, fmt.Sprintf("Alloc %q draining", short))
		}
		if old.ClientStatus != a.ClientStatus {
			changes = append(changes, fmt.Sprintf("Alloc %q status %s -> %s", short, old.ClientStatus, a.ClientStatus))
		}
	}
	return changes, running
}

// isSystemJobAlloc reports whether a belongs to a system or sysbatch job.
func isSystemJobAlloc(a *structs.Allocation) bool {
	return a.Job != nil && (a.Job.Type == structs.JobTypeSystem || a.Job.Type == structs.JobTypeSysBatch)
}
