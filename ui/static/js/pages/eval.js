// The evaluation page: one scheduling decision, its placement failures
// explained in plain words, related evaluations and the allocations it placed.

import { watch } from '../api.js';
import { h, fill, badge, props, section, table, timeEl, uiPath, shortId, errorBox, duration } from '../dom.js';
import { explainFailedGroups } from '../explain.js';

export function render(ctx) {
  const id = ctx.params.id;
  ctx.setTitle(`Evaluation ${shortId(id)}`);
  const statusEl = h('span', { 'aria-live': 'polite' });
  const errors = h('div');
  const overview = h('div', { class: 'card' }, h('p', { class: 'loading' }, 'Loading evaluation…'));
  const failures = h('div', { id: 'eval-failures' });
  const related = h('div');
  const allocs = h('div');
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, `Evaluation ${shortId(id)}`, statusEl), h('p', { class: 'subtitle mono' }, id))),
    errors, overview, failures,
    section('eval-related', 'Related evaluations', related),
    section('eval-allocs', 'Allocations placed by this evaluation', allocs));

  watch(`/v1/evaluation/${encodeURIComponent(id)}`, {
    signal: ctx.signal, query: { related: 'true' },
    onData(ev) {
      fill(errors);
      fill(statusEl, badge(ev.Status));
      fill(overview, props([
        ['Job', h('a', { href: uiPath.job(ev.JobID, ev.Namespace) }, ev.JobID)],
        ['Triggered by', ev.TriggeredBy], ['Type', ev.Type], ['Priority', String(ev.Priority)],
        ['Status detail', ev.StatusDescription || ''],
        ev.NodeID ? ['Node', h('a', { href: uiPath.client(ev.NodeID) }, shortId(ev.NodeID))] : null,
        ev.Wait ? ['Wait', duration(ev.Wait)] : null,
        ['Queued allocations', Object.entries(ev.QueuedAllocations || {}).map(([g, n]) => `${g}: ${n}`).join(', ') || 'none'],
        ['Created', timeEl(ev.CreateTime)], ['Modified', timeEl(ev.ModifyTime)],
      ]));
      const failed = ev.FailedTGAllocs || {};
      fill(failures, Object.keys(failed).length
        ? h('div', { class: 'alert warn', role: 'alert' }, h('h2', null, 'Placement failures'), explainFailedGroups(failed))
        : null);
      const rel = ev.RelatedEvals || [];
      fill(related, table([
        { label: 'ID', cell: (e) => h('a', { href: uiPath.eval(e.ID), class: 'mono' }, shortId(e.ID)) },
        { label: 'Relation', cell: (e) => (e.ID === ev.NextEval ? 'next' : e.ID === ev.PreviousEval ? 'previous' : e.ID === ev.BlockedEval ? 'blocked' : 'linked') },
        { label: 'Triggered by', cell: (e) => e.TriggeredBy },
        { label: 'Status', cell: (e) => badge(e.Status) },
        { label: 'Detail', cell: (e) => e.StatusDescription || '' },
      ], rel, { empty: 'No related evaluations.' }));
    },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: `Could not read evaluation ${shortId(id)}`, retryIn })); },
  });
  watch(`/v1/evaluation/${encodeURIComponent(id)}/allocations`, {
    signal: ctx.signal,
    onData(list) {
      fill(allocs, table([
        { label: 'ID', cell: (a) => h('a', { href: uiPath.alloc(a.ID), class: 'mono' }, shortId(a.ID)) },
        { label: 'Name', cell: (a) => a.Name },
        { label: 'Client', cell: (a) => h('a', { href: uiPath.client(a.NodeID) }, a.NodeName || shortId(a.NodeID)) },
        { label: 'Status', cell: (a) => badge(a.ClientStatus) },
        { label: 'Desired', cell: (a) => a.DesiredStatus },
      ], list || [], { empty: 'This evaluation placed no allocations.' }));
    },
    onError(err, retryIn) { fill(allocs, errorBox(err, { title: 'Could not list the allocations', retryIn })); },
  });
}
