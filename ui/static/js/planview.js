// planview.js: the reply of a dry run (PUT /v1/job/:id/plan with Diff true)
// in the words of `nomadlike job plan` (port of formatDryRun and
// updatesSummary in command/job_plan.go; keep them in step): the diff against
// the running version, what the scheduler would do to each group, and why
// any allocation could not be placed.

import { h } from './dom.js';
import { explainFailedGroups } from './explain.js';
import { diffView, diffChanges } from './diff.js';

/** A group's desired updates in words: "1 create, 2 in-place update". */
export function updatesSummary(du) {
  if (!du) return '';
  const parts = [];
  const add = (n, what) => { if (n > 0) parts.push(`${n} ${what}`); };
  add(du.Place, 'create');
  add(du.DestructiveUpdate, 'create/destroy update');
  add(du.Stop, 'destroy');
  add(du.Migrate, 'migrate');
  add(du.Canary, 'canary');
  add(du.InPlaceUpdate, 'in-place update');
  add(du.Preemptions, 'preemption');
  add(du.Ignore, 'ignore');
  return parts.join(', ');
}

/** planView renders a JobPlanResponse for a job of type jobType. */
export function planView(resp, jobType) {
  const failed = resp?.FailedTGAllocs || {};
  const anyFailed = Object.keys(failed).length > 0;
  const updates = resp?.Annotations?.DesiredTGUpdates || {};
  const groupLines = Object.keys(updates).sort()
    .map((g) => [g, updatesSummary(updates[g])]).filter(([, s]) => s)
    .map(([g, s]) => h('li', null, `Task group "${g}": ${s}.`));
  const blocked = (resp?.CreatedEvals || []).some((e) => e.Status === 'blocked');
  const system = jobType === 'system' || jobType === 'sysbatch';
  return h('div', { id: 'plan-dry-run' },
    h('h3', null, 'Scheduler dry run'),
    anyFailed
      ? h('div', { class: 'alert warn', role: 'alert', id: 'plan-failures' },
        h('p', null, h('strong', null, system ? 'WARNING: Failed to place allocations on all nodes.' : 'WARNING: Failed to place all allocations.')),
        explainFailedGroups(failed),
        blocked ? h('p', { class: 'note' }, 'A blocked evaluation would wait for capacity and place the rest when nodes free up or join.') : null)
      : h('p', { class: 'ok-line', id: 'plan-all-placed' }, 'All tasks successfully allocated.'),
    groupLines.length ? h('ul', { id: 'plan-placements', 'aria-label': 'What the scheduler would do per task group' }, groupLines)
      : h('p', { class: 'note', id: 'plan-placements' }, 'The scheduler would change no allocation.'),
    resp?.Warnings ? h('div', { class: 'alert warn' }, h('strong', null, 'Warnings: '), resp.Warnings) : null,
    resp?.JobModifyIndex ? [
      h('h3', null, 'Changes from the running version'),
      diffChanges(resp?.Diff)
        ? diffView(resp.Diff, { label: 'Changes from the running version', id: 'plan-diff' })
        : h('p', { class: 'note', id: 'plan-diff' }, 'No changes: the job is the same as the running version.'),
    ] : [
      h('h3', null, 'A new job'),
      // Everything is new: the whole diff is long, so it starts folded.
      h('details', null, h('summary', null, 'Every field the job will have, as `nomadlike job plan` lists it'),
        diffView(resp?.Diff, { label: 'The new job, field by field', id: 'plan-diff', verbose: true })),
    ]);
}
