// deployment.js: a job's latest deployment (GET /v1/job/:id/deployment,
// Nomad's Deployment) with each group's progress, and the promote and fail
// buttons (POST /v1/deployment/promote/:id, /v1/deployment/fail/:id), as
// `nomadlike deployment status|promote|fail` show and do.

import { post } from './api.js';
import { h, badge, table, props, shortId, confirmButton } from './dom.js';

/** Deployment statuses in which the deployment still acts. */
const ACTIVE = new Set(['running', 'paused', 'pending', 'blocked', 'unblocking', 'initializing']);

/** Whether deployment d is still under way (it can be promoted or failed). */
export function isActiveDeployment(d) { return !!d && ACTIVE.has(d.Status); }

/** Groups whose canaries wait for a promotion. */
export function unpromotedCanaries(d) {
  return Object.entries(d?.TaskGroups || {}).filter(([, s]) => (s.DesiredCanaries || 0) > 0 && !s.Promoted).map(([g]) => g);
}

/** A progress bar with its numbers in text. */
function progress(label, done, total) {
  const pct = total > 0 ? Math.min(100, (done / total) * 100) : 100;
  return h('div', { class: 'usage progress' },
    h('div', { class: 'bar', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': String(total), 'aria-valuenow': String(done) },
      h('span', { style: { width: `${pct}%` } })),
    h('span', null, `${done} of ${total} healthy`));
}

/**
 * deploymentView renders deployment d (null: the job has none) with its
 * actions; act(what, fn) runs an action and reports its outcome.
 */
export function deploymentView(d, { act, signal }) {
  if (!d) {
    return h('p', { class: 'note', id: 'deployment-none' },
      'This job has no deployment: a deployment is made when a service job with an update block changes.');
  }
  const groups = Object.entries(d.TaskGroups || {}).sort(([a], [b]) => a.localeCompare(b));
  const waiting = unpromotedCanaries(d);
  const active = isActiveDeployment(d);
  const id = encodeURIComponent(d.ID);
  const actions = h('div', { class: 'actions', id: 'deployment-actions' },
    active && waiting.length
      ? h('button', { type: 'button', class: 'primary', id: 'deployment-promote',
        onclick: () => act(`Promote deployment ${shortId(d.ID)}`, () => post(`/v1/deployment/promote/${id}`, { DeploymentID: d.ID, All: true }, { signal })) },
      `Promote canaries (${waiting.join(', ')})`)
      : null,
    active
      ? confirmButton('Fail deployment', 'Confirm: fail deployment', () => act(`Fail deployment ${shortId(d.ID)}`,
        () => post(`/v1/deployment/fail/${id}`, { DeploymentID: d.ID }, { signal })), { id: 'deployment-fail' })
      : null);
  return h('div', { class: 'card', id: 'deployment', dataset: { status: d.Status } },
    h('div', { class: 'page-head' },
      h('div', null, h('h3', null, `Deployment ${shortId(d.ID)} `, badge(d.Status, { id: 'deployment-status' })),
        h('p', { class: 'subtitle' }, d.StatusDescription || '')),
      actions),
    props([['Job version', String(d.JobVersion ?? '–')], ['ID', h('span', { class: 'mono' }, d.ID)]]),
    table([
      { label: 'Group', cell: ([g]) => g },
      { label: 'Desired', class: 'num', cell: ([, s]) => String(s.DesiredTotal ?? 0) },
      { label: 'Canaries', class: 'num', cell: ([, s]) => (s.DesiredCanaries ? `${(s.PlacedCanaries || []).length} of ${s.DesiredCanaries}` : '–') },
      { label: 'Promoted', cell: ([, s]) => (s.DesiredCanaries ? (s.Promoted ? 'yes' : 'no') : '–') },
      { label: 'Placed', class: 'num', cell: ([, s]) => String(s.PlacedAllocs ?? 0) },
      { label: 'Healthy', class: 'num', cell: ([, s]) => String(s.HealthyAllocs ?? 0) },
      { label: 'Unhealthy', class: 'num', cell: ([, s]) => String(s.UnhealthyAllocs ?? 0) },
      { label: 'Progress', cell: ([g, s]) => progress(`Group ${g}: healthy allocations`, s.HealthyAllocs || 0, s.DesiredTotal || 0) },
    ], groups, { caption: 'Deployment progress per task group', empty: 'The deployment has no task groups.' }),
    active && waiting.length
      ? h('p', { class: 'note' }, 'The canaries run the new version beside the old allocations. Promote them once they are healthy to replace the rest; fail the deployment to stop it (with auto_revert, the job goes back to its last stable version).')
      : null);
}
