// nodectl.js: a client node's drain and scheduling eligibility controls
// (PUT /v1/node/:id/drain with Nomad's DrainSpec, PUT /v1/node/:id/eligibility),
// as `nomadlike node drain` and `nomadlike node eligibility` do. Used by the
// clients list (compact) and the client page (with the drain's options).

import { put } from './api.js';
import { h, fill, shortId, errorBox, confirmButton, timeEl } from './dom.js';

const NS_PER_S = 1e9;

/** Drain deadlines offered, in seconds; 0 = no deadline, -1 = stop everything now. */
const DEADLINES = [
  [3600, '1 hour (the CLI default)'], [600, '10 minutes'], [4 * 3600, '4 hours'], [0, 'no deadline'], [-1, 'now (stop every allocation at once)'],
];

/** setEligibility marks a node eligible or ineligible for new allocations. */
export function setEligibility(nodeID, eligible, signal) {
  return put(`/v1/node/${encodeURIComponent(nodeID)}/eligibility`, { Eligibility: eligible ? 'eligible' : 'ineligible' }, { signal });
}

/** startDrain sends a DrainSpec; Deadline is in nanoseconds, as Nomad's JSON has it. */
export function startDrain(nodeID, { deadlineSeconds = 3600, ignoreSystemJobs = false } = {}, signal) {
  const deadline = deadlineSeconds < 0 ? -1 : deadlineSeconds * NS_PER_S;
  return put(`/v1/node/${encodeURIComponent(nodeID)}/drain`,
    { NodeID: nodeID, DrainSpec: { Deadline: deadline, IgnoreSystemJobs: ignoreSystemJobs }, MarkEligible: false }, { signal });
}

/** stopDrain ends a drain and, like `node drain -disable`, makes the node eligible again. */
export function stopDrain(nodeID, signal) {
  return put(`/v1/node/${encodeURIComponent(nodeID)}/drain`, { NodeID: nodeID, DrainSpec: null, MarkEligible: true }, { signal });
}

/** The key of what the controls show: they are rebuilt only when it changes. */
export function controlsKey(n) {
  return `${n.ID}:${!!n.Drain}:${n.SchedulingEligibility}`;
}

/**
 * nodeControls returns the buttons for node n. compact (the clients list)
 * drains with the CLI's defaults; the full form (the client page) lets the
 * user pick the deadline and whether system jobs stay. Outcomes go to `out`
 * (an aria-live element) and to ctx.announce.
 */
export function nodeControls(n, { ctx, out, compact = false }) {
  const name = n.Name || shortId(n.ID);
  const idp = compact ? `-${n.ID}` : '';
  const eligible = n.SchedulingEligibility === 'eligible';
  async function act(what, fn) {
    fill(out, h('p', { class: 'note' }, `${what}…`));
    try {
      await fn();
      fill(out, h('div', { class: 'alert ok', role: 'status' }, `${what}: done. The status updates by itself.`));
      ctx.announce(`${what}: done`);
    } catch (e) {
      if (e.name !== 'AbortError') fill(out, errorBox(e, { title: `${what} failed` }));
    }
  }
  const eligBtn = h('button', {
    type: 'button', id: `node-eligibility${idp}`,
    'aria-label': compact ? `${eligible ? 'Mark' : 'Unmark'} ${name} ineligible for new allocations` : null,
    disabled: n.Drain ? true : null,
    title: n.Drain ? 'A draining node is ineligible until the drain ends' : null,
    onclick: () => act(`Mark ${name} ${eligible ? 'ineligible' : 'eligible'}`, () => setEligibility(n.ID, !eligible, ctx.signal)),
  }, eligible ? 'Mark ineligible' : 'Mark eligible');

  if (n.Drain) {
    const stop = h('button', { type: 'button', id: `node-drain-stop${idp}`, 'aria-label': compact ? `Stop draining ${name}` : null,
      onclick: () => act(`Stop draining ${name}`, () => stopDrain(n.ID, ctx.signal)) }, 'Stop drain');
    const info = !compact && n.DrainStrategy
      ? h('p', { class: 'note' }, 'Draining since ', timeEl(n.DrainStrategy.StartedAt),
        n.DrainStrategy.ForceDeadline && !String(n.DrainStrategy.ForceDeadline).startsWith('0001')
          ? ['; allocations still here are stopped ', timeEl(n.DrainStrategy.ForceDeadline)] : '; no deadline',
        n.DrainStrategy.IgnoreSystemJobs ? '; system jobs stay' : '', '.')
      : null;
    return h('div', { class: 'actions node-controls' }, eligBtn, stop, info);
  }

  if (compact) {
    const drain = confirmButton('Drain', `Confirm: drain ${name}`, () => act(`Drain ${name}`, () => startDrain(n.ID, {}, ctx.signal)),
      { id: `node-drain${idp}`, ariaLabel: `Drain ${name}: move its allocations elsewhere within 1 hour` });
    return h('div', { class: 'actions node-controls' }, eligBtn, drain);
  }

  const deadline = h('select', { id: 'drain-deadline' }, DEADLINES.map(([s, label]) => h('option', { value: String(s) }, label)));
  const ignoreSys = h('input', { type: 'checkbox', id: 'drain-ignore-system' });
  const drain = confirmButton('Drain', 'Confirm: drain this client', () => act(`Drain ${name}`,
    () => startDrain(n.ID, { deadlineSeconds: Number(deadline.value), ignoreSystemJobs: ignoreSys.checked }, ctx.signal)),
  { id: 'node-drain' });
  return h('div', { class: 'node-controls' },
    h('div', { class: 'actions' }, eligBtn),
    h('fieldset', { class: 'toolbar drain-form' },
      h('legend', null, 'Drain: move every allocation to other clients and accept no new ones'),
      h('label', { class: 'field', for: 'drain-deadline' }, 'Deadline (then the rest are stopped)', deadline),
      h('label', { class: 'checkbox' }, ignoreSys, ' Leave system jobs running'),
      drain));
}
