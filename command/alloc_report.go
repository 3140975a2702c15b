package command

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/nomadlike/nomadlike/nomadlike/api"
	"github.com/nomadlike/nomadlike/nomadlike/structs"
)

// stderrTailLines is how many lines of a failed task's stderr are shown.
const stderrTailLines = 10

// stderrTailBytes is how much of the end of stderr is read to find them.
const stderrTailBytes = 16 << 10

// reportFailure prints why an allocation failed: each troubled task's state,
// its events in order and the last lines of its stderr.
func (m *monitor) reportFailure(ctx context.Context, f *allocFailure) {
	m.printf("==> %s: Allocation %q failed: %s", m.stamp(), m.id(f.alloc.ID), f.reason)
	m.reportTasks(ctx, f.alloc)
}

// reportUnhealthy prints why an allocation of a deployment is unhealthy
// (f.reason says how), with its tasks as reportFailure does.
func (m *monitor) reportUnhealthy(ctx context.Context, f *allocFailure) {
	m.printf("==> %s: Allocation %q of group %q is %s", m.stamp(), m.id(f.alloc.ID), f.alloc.TaskGroup, f.reason)
	m.reportTasks(ctx, f.alloc)
}

// reportTasks prints each troubled task's state, its events in order and
// the last lines of its stderr, then where to look further.
func (m *monitor) reportTasks(ctx context.Context, a *structs.AllocListStub) {
	for _, name := range troubledTasks(a) {
		ts := a.TaskStates[name]
		extra := ""
		if ts.Failed {
			extra = ", failed"
		}
		if ts.Restarts > 0 {
			extra += fmt.Sprintf(", %d restart(s)", ts.Restarts)
		}
		m.printf("    Task %q is %q%s", name, ts.State, extra)
		if len(ts.Events) > 0 {
			m.printf("    Task events:")
			for _, e := range ts.Events {
				m.printf("      %s  %s: %s", formatUnixNano(e.Time, m.now().Location()), e.Type, eventMessage(e))
			}
		}
		m.printStderrTail(ctx, a.ID, name)
	}
	m.printf("    Hint: see 'nomadlike alloc status %s' and 'nomadlike alloc logs -stderr %s %s'",
		m.id(a.ID), m.id(a.ID), firstOr(troubledTasks(a), "<task>"))
}

// printStderrTail prints the last lines a task wrote to stderr.
func (m *monitor) printStderrTail(ctx context.Context, allocID, task string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var buf bytes.Buffer
	err := m.cl.Logs(ctx, allocID, api.LogsOptions{Task: task, Type: "stderr", Origin: "end", Offset: stderrTailBytes}, &buf)
	if err != nil {
		m.printf("    Could not read the stderr of task %q: %v", task, err)
		return
	}
	lines := lastLines(buf.String(), stderrTailLines)
	if len(lines) == 0 {
		m.printf("    Task %q wrote nothing to stderr", task)
		return
	}
	m.printf("    Last %d line(s) of task %q stderr:", len(lines), task)
	for _, l := range lines {
		m.printf("      %s", l)
	}
}

// troubledTasks names the tasks that failed, restarted or terminated; all
// tasks when none did. Sorted by name.
func troubledTasks(a *structs.AllocListStub) []string {
	var bad, all []string
	for _, name := range slices.Sorted(maps.Keys(a.TaskStates)) {
		ts := a.TaskStates[name]
		if ts == nil {
			continue
		}
		all = append(all, name)
		if ts.Failed || ts.Restarts > 0 || ts.State == structs.TaskStateDead {
			bad = append(bad, name)
		}
	}
	if len(bad) > 0 {
		return bad
	}
	return all
}

// lastLines returns the last n non-empty-tail lines of s.
func lastLines(s string, n int) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

func firstOr(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}
