// scale.js: set a task group's count, as `nomadlike job scale` does, and
// the form that asks for it.

import { post } from './api.js';
import { h, table, timeEl, uiPath, shortId, badge } from './dom.js';

/**
 * scaleGroup sets group's count with POST /v1/job/:id/scale (Nomad's
 * ScalingRequest); the reply carries the evaluation that places the change.
 */
export function scaleGroup(base, { id, ns, group, count, signal }) {
  return post(`${base}/scale`, {
    Count: count, Target: { Job: id, Group: group }, Message: `scaled to ${count} from the web UI`,
  }, { query: { namespace: ns }, signal });
}

/**
 * scaleForm is the "Scale a task group" form: a group (a select when there
 * are several), the new count and the button. onScale(group, count) does it.
 * The form is rebuilt only when the groups change (see sync), so what the user
 * typed survives the page's live updates.
 */
export function scaleForm(onScale) {
  const groupSel = h('select', { id: 'scale-group' });
  const countIn = h('input', { type: 'number', id: 'scale-count', min: '0', step: '1', inputmode: 'numeric', required: true,
    'aria-describedby': 'scale-error' });
  const btn = h('button', { type: 'submit', id: 'scale-submit' }, 'Scale');
  const err = h('p', { class: 'field-error', id: 'scale-error', role: 'alert' });
  let counts = {};
  let drawn = '';
  let dirty = false;
  countIn.addEventListener('input', () => { dirty = true; err.textContent = ''; });
  groupSel.addEventListener('change', () => { dirty = false; countIn.value = String(counts[groupSel.value] ?? 0); });
  const form = h('form', { class: 'toolbar', id: 'scale-form', 'aria-label': 'Scale a task group', novalidate: true },
    h('label', { class: 'field', for: 'scale-group' }, 'Task group', groupSel),
    h('label', { class: 'field', for: 'scale-count' }, 'New count', countIn),
    btn, err);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = Number(countIn.value);
    if (countIn.value.trim() === '' || !Number.isInteger(n) || n < 0) {
      err.textContent = `The count must be a whole number, 0 or more (got "${countIn.value}").`;
      countIn.setAttribute('aria-invalid', 'true');
      countIn.focus();
      return;
    }
    countIn.removeAttribute('aria-invalid');
    btn.disabled = true;
    try { await onScale(groupSel.value, n); dirty = false; } finally { btn.disabled = false; }
  });
  return {
    el: form,
    /** sync updates the choices and, unless the user is typing, the count. */
    sync(job) {
      // A system job runs one allocation per node: it has no count to set.
      form.hidden = !job || job.Type === 'system' || job.Type === 'sysbatch';
      const groups = (job?.TaskGroups || []).map((g) => g.Name);
      counts = Object.fromEntries((job?.TaskGroups || []).map((g) => [g.Name, g.Count]));
      const key = groups.join('\n');
      if (key !== drawn) {
        drawn = key;
        const keep = groupSel.value;
        groupSel.replaceChildren(...groups.map((g) => h('option', { value: g }, g)));
        if (groups.includes(keep)) groupSel.value = keep;
        groupSel.disabled = groups.length < 2;
        dirty = false;
      }
      if (!dirty && document.activeElement !== countIn) countIn.value = String(counts[groupSel.value] ?? 0);
    },
  };
}

/**
 * scalingEventsView lists a job's recent scaling events from GET
 * /v1/job/:id/scale (the servers keep the last 20 per group): every count
 * change and every error an autoscaler reported, newest first, as
 * `job scaling-events -verbose` does.
 */
export function scalingEventsView(status) {
  const rows = Object.entries(status?.TaskGroups || {})
    .flatMap(([group, g]) => (g.Events || []).map((e) => ({ group, ...e })))
    .sort((a, b) => (b.Time || 0) - (a.Time || 0));
  return table([
    { label: 'Group', cell: (e) => e.group },
    { label: 'Count', class: 'num', cell: (e) => (e.Count === null || e.Count === undefined ? '–' : String(e.Count)) },
    { label: 'Previous', class: 'num', cell: (e) => String(e.PreviousCount ?? 0) },
    { label: 'Message', cell: (e) => (e.Error ? [badge('failed', { title: 'an error the scaler reported' }), ' ', e.Message || ''] : e.Message || '') },
    { label: 'Evaluation', class: 'hide-narrow', cell: (e) => (e.EvalID ? h('a', { href: uiPath.eval(e.EvalID), class: 'mono' }, shortId(e.EvalID)) : '–') },
    { label: 'When', cell: (e) => timeEl(e.Time) },
  ], rows, {
    caption: 'Scaling events: count changes and autoscaler errors, newest first',
    empty: 'No scaling events: no group was scaled since the job was submitted.',
  });
}
