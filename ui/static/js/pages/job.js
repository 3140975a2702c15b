// The job page: summary, task groups with counts and scaling, allocations,
// evaluations with placement failures explained, versions with diffs and
// revert, the deployment with promote and fail; stop, start and purge.

import { watch, get, put, del, coalesce } from '../api.js';
import {
  h, fill, badge, table, props, section, timeEl, uiPath, shortId, errorBox, confirmButton, refill, mb, mhz,
} from '../dom.js';
import { explainFailedGroups } from '../explain.js';
import { versionsView, revertJob } from '../versions.js';
import { scaleForm, scaleGroup, scalingEventsView } from '../scale.js';
import { deploymentView, isActiveDeployment } from '../deployment.js';

const COUNTS = ['Queued', 'Starting', 'Running', 'Failed', 'Complete', 'Lost'];

export function render(ctx) {
  const id = ctx.params.id;
  const ns = ctx.query.get('namespace') || 'default';
  const base = `/v1/job/${encodeURIComponent(id)}`;
  const query = { namespace: ns };
  const live = new AbortController(); // aborted when the job turns out to be gone
  const signal = AbortSignal.any([ctx.signal, live.signal]);
  ctx.setTitle(`Job ${id}`);

  const state = { job: null, summary: null, allocs: null, evals: null, deployment: null };
  const errors = { job: h('div'), summary: h('div'), allocs: h('div'), evals: h('div') };
  const statusEl = h('span', { id: 'job-status', 'aria-live': 'polite' });
  const actions = h('div', { class: 'actions', id: 'job-actions' });
  const actionResult = h('div', { 'aria-live': 'polite', id: 'job-action-result' });
  const overview = h('div', { class: 'card' }, h('p', { class: 'loading' }, 'Loading job…'));
  const failures = h('div', { id: 'job-placement-failures' });
  const groups = h('div', { id: 'job-groups' }, h('p', { class: 'loading' }, 'Loading…'));
  const allocs = h('div', { id: 'job-allocations' }, h('p', { class: 'loading' }, 'Loading…'));
  const evals = h('div', { id: 'job-evaluations' }, h('p', { class: 'loading' }, 'Loading…'));
  const versions = h('div', { id: 'job-versions' });
  const scaleEvents = h('div', { id: 'job-scaling-events' });
  let drawnScaleEvents = '';
  const deployment = h('div', { id: 'job-deployment' }, h('p', { class: 'loading' }, 'Loading…'));
  let lastVersionIndex = -1;
  let drawnVersions = '';
  let drawnDeployment = '';
  const scale = scaleForm((group, count) => act(`Scale group "${group}" to ${count}`,
    () => scaleGroup(base, { id, ns, group, count, signal: ctx.signal })));

  fill(ctx.main,
    h('p', { class: 'note' }, h('a', { href: '/ui/jobs' }, 'Jobs'), ' / ', id),
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, id, statusEl), h('p', { class: 'subtitle' }, `Namespace ${ns}`)),
      actions),
    actionResult, errors.job, overview, failures,
    section('groups', 'Task groups', errors.summary, groups, scale.el, scaleEvents),
    section('allocations', 'Allocations', errors.allocs, allocs),
    section('evaluations', 'Evaluations', errors.evals, evals),
    section('deployments', 'Deployment', deployment),
    section('versions', 'Versions', versions));

  // --- actions ---------------------------------------------------------------
  async function act(what, fn, doneNote = ' is placing the change; the tables below follow it.') {
    fill(actionResult, h('p', { class: 'note' }, `${what}…`));
    try {
      const res = await fn();
      const evalID = res?.data?.EvalID;
      fill(actionResult, h('div', { class: 'alert ok', role: 'status' }, `${what}: done.`,
        evalID ? [' Evaluation ', h('a', { href: uiPath.eval(evalID) }, shortId(evalID)), doneNote] : ''));
      ctx.announce(`${what}: done`);
    } catch (e) {
      if (e.name === 'AbortError') return;
      fill(actionResult, errorBox(e, { title: `${what} failed` }));
    }
  }
  // The buttons are redrawn only when the job's Stop state changes: a redraw
  // on every update would drop a pending "Confirm: ..." between two clicks.
  let drawnStop;
  function drawActions() {
    const j = state.job;
    if (!j) { fill(actions); drawnStop = undefined; return; }
    if (drawnStop === j.Stop) return;
    drawnStop = j.Stop;
    refill(actions, actionResult,
      j.Stop
        ? h('button', { type: 'button', class: 'primary', id: 'job-start',
          onclick: () => act('Start job', () => put('/v1/jobs', { Job: { ...state.job, Stop: false } }, { query, signal: ctx.signal })) }, 'Start job')
        : confirmButton('Stop job', 'Confirm: stop job', () => act('Stop job', () => del(base, { query, signal: ctx.signal })), { id: 'job-stop' }),
      confirmButton('Purge', 'Confirm: purge job', async () => {
        await act('Purge job', () => del(base, { query: { ...query, purge: 'true' }, signal: ctx.signal }),
          ' stops its allocations; the job and its history are removed from the cluster.');
      }, { id: 'job-purge' }));
  }

  // --- drawing ---------------------------------------------------------------
  function drawOverview() {
    const j = state.job;
    if (!j) return;
    const status = j.Stop && j.Status !== 'dead' ? `${j.Status} (stopping)` : j.Status;
    fill(statusEl, badge(status), j.Stop ? h('span', { class: 'badge idle' }, 'stopped') : null);
    fill(overview, props([
      ['Type', j.Type], ['Priority', String(j.Priority)], ['Version', String(j.Version)],
      ['Datacenters', (j.Datacenters || []).join(', ')], ['Node pool', j.NodePool || 'default'],
      ['Submitted', timeEl(j.SubmitTime)],
      j.StatusDescription ? ['Status detail', j.StatusDescription] : null,
      (j.Constraints || []).length ? ['Constraints', (j.Constraints).map((c) => `${c.LTarget} ${c.Operand} ${c.RTarget}`).join('; ')] : null,
    ]));
    drawActions();
    drawGroups();
    scale.sync(j);
  }

  function drawGroups() {
    const j = state.job;
    if (!j) return;
    const sum = state.summary?.Summary || {};
    const rows = j.TaskGroups || [];
    fill(groups, table([
      { label: 'Group', cell: (g) => g.Name },
      { label: 'Count', class: 'num', cell: (g) => String(g.Count) },
      { label: 'Tasks', cell: (g) => (g.Tasks || []).map((t, i) => [i ? ', ' : '', h('code', null, t.Name), ` (${t.Driver}; ${mhz(t.Resources?.CPU)}, ${mb(t.Resources?.MemoryMB)})`]) },
      ...COUNTS.map((k) => ({ label: k, class: 'num', cell: (g) => String(sum[g.Name]?.[k] ?? 0) })),
    ], rows, { caption: 'Task groups: desired count and allocations by client status', empty: 'This job has no task groups.' }));
  }

  function drawAllocs() {
    if (!state.allocs) return;
    const list = [...(state.allocs || [])].sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0));
    fill(allocs, table([
      { label: 'ID', cell: (a) => h('a', { href: uiPath.alloc(a.ID), class: 'mono' }, shortId(a.ID)) },
      { label: 'Name', class: 'hide-narrow', cell: (a) => a.Name },
      { label: 'Status', cell: (a) => badge(a.ClientStatus, { dataset: { alloc: a.ID } }) },
      { label: 'Desired', cell: (a) => a.DesiredStatus },
      { label: 'Client', cell: (a) => (a.NodeID ? h('a', { href: uiPath.client(a.NodeID) }, a.NodeName || shortId(a.NodeID)) : '–') },
      { label: 'Version', class: 'num hide-narrow', cell: (a) => String(a.JobVersion ?? '') },
      { label: 'Created', class: 'hide-narrow', cell: (a) => timeEl(a.CreateTime) },
      { label: 'Detail', class: 'hide-narrow', cell: (a) => a.ClientDescription || a.DesiredDescription || '' },
    ], list, { caption: 'Allocations of this job, newest first', empty: 'No allocations: nothing has been placed (see the evaluations below).' }));
  }

  function drawEvals() {
    if (!state.evals) return;
    const list = [...(state.evals || [])].sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0));
    fill(evals, table([
      { label: 'ID', cell: (e) => h('a', { href: uiPath.eval(e.ID), class: 'mono' }, shortId(e.ID)) },
      { label: 'Triggered by', cell: (e) => e.TriggeredBy },
      { label: 'Status', cell: (e) => badge(e.Status) },
      { label: 'Placement', cell: (e) => (Object.keys(e.FailedTGAllocs || {}).length ? badge('failed', { title: 'see the explanation below the row' }) : '–') },
      { label: 'Detail', class: 'hide-narrow', cell: (e) => e.StatusDescription || '' },
      { label: 'Created', class: 'hide-narrow', cell: (e) => timeEl(e.CreateTime) },
    ], list, {
      caption: 'Evaluations: each scheduling decision about this job, newest first',
      empty: 'No evaluations.',
      after: (e) => (Object.keys(e.FailedTGAllocs || {}).length
        ? h('tr', { class: 'detail' }, h('td', { colspan: 6 }, explainFailedGroups(e.FailedTGAllocs)))
        : null),
    }));
    // The newest evaluation with failures is the one that matters now, unless a
    // later one placed everything.
    const latest = list.find((e) => Object.keys(e.FailedTGAllocs || {}).length);
    const newer = latest ? list.filter((e) => e.CreateIndex > latest.CreateIndex && e.Status === 'complete' && e.TriggeredBy !== 'job-deregister') : [];
    const blocked = list.find((e) => e.Status === 'blocked');
    if (latest && (blocked || !newer.length) && !state.job?.Stop) {
      fill(failures, h('div', { class: 'alert warn', role: 'alert' },
        h('h2', null, 'Placement failures'),
        h('p', null, 'The scheduler could not place every allocation. Evaluation ',
          h('a', { href: uiPath.eval(latest.ID) }, shortId(latest.ID)), ' says:'),
        explainFailedGroups(latest.FailedTGAllocs),
        blocked ? h('p', { class: 'note' }, `Evaluation ${shortId(blocked.ID)} is blocked: the remaining allocations are placed as soon as a node can take them.`) : null));
    } else {
      fill(failures);
    }
  }

  // The versions are re-read when the job changes (its ModifyIndex also moves
  // when a version is marked stable) and redrawn only when they differ, so an
  // open diff or a pending "Confirm: revert" survives the page's live updates.
  async function drawVersions(modifyIndex) {
    if (modifyIndex === lastVersionIndex) return;
    lastVersionIndex = modifyIndex;
    drawScaleEvents();
    try {
      const { data } = await get(`${base}/versions`, { query: { ...query, diffs: 'true' }, signal });
      const key = JSON.stringify((data?.Versions || []).map((v) => [v.Version, v.Stable, v.Stop, v.SubmitTime]));
      if (key === drawnVersions) return;
      drawnVersions = key;
      refill(versions, actionResult, versionsView(data, {
        revert: (version) => act(`Revert to version ${version}`,
          () => revertJob(base, { id, ns, version, current: state.job?.Version, signal: ctx.signal })),
      }));
    } catch (e) {
      if (e.name !== 'AbortError') { drawnVersions = ''; fill(versions, errorBox(e, { title: 'Could not read the job versions' })); }
    }
  }

  // The scaling events are re-read with the versions (a scale is a new
  // version) and redrawn only when they differ.
  async function drawScaleEvents() {
    try {
      const { data } = await get(`${base}/scale`, { query, signal });
      const key = JSON.stringify(Object.values(data?.TaskGroups || {}).map((g) => (g.Events || []).map((e) => e.CreateIndex)));
      if (key === drawnScaleEvents) return;
      drawnScaleEvents = key;
      fill(scaleEvents, scalingEventsView(data));
    } catch (e) {
      if (e.name !== 'AbortError') { drawnScaleEvents = ''; fill(scaleEvents, errorBox(e, { title: 'Could not read the scaling events' })); }
    }
  }

  // The deployment is redrawn only when it changed, for the same reason as
  // the versions. Drawing it also picks the page's second watch (see below).
  function showDeployment(data) {
    follow(isActiveDeployment(data) ? 'deployment' : 'evaluations');
    const key = data ? `${data.ID}:${data.ModifyIndex}:${JSON.stringify(data.TaskGroups)}:${data.Status}` : 'none';
    if (key === drawnDeployment) return;
    const before = drawnDeployment && state.deployment?.Status;
    state.deployment = data || null;
    drawnDeployment = key;
    refill(deployment, actionResult, deploymentView(data || null, { act, signal: ctx.signal }));
    if (data && before && before !== data.Status) ctx.announce(`Deployment ${shortId(data.ID)} is now ${data.Status}`);
  }
  const deploymentError = (e, retryIn) => {
    if (e.name === 'AbortError' || e.status === 404) return; // a gone job is reported once, by gone()
    drawnDeployment = '';
    fill(deployment, errorBox(e, { title: "Could not read the job's deployment", retryIn }));
  };

  // --- live data -------------------------------------------------------------
  // Two blocking queries drive the page (see watch() for why only two): the
  // allocations, and either the evaluations or, while a deployment is active,
  // the deployment (its progress and status change without any allocation or
  // evaluation changing). Each wake re-reads the job, its summary and
  // whichever of evaluations and deployment is not being watched.
  // A 404 means the job is gone (purged) or never was: say so once, clearly,
  // and stop watching, rather than retrying a read that cannot succeed.
  const gone = (err) => {
    live.abort(new DOMException('the job is gone', 'AbortError'));
    fill(statusEl, badge('not found'));
    fill(actions);
    for (const el of [overview, failures, groups, allocs, evals, versions, deployment, ...Object.values(errors)]) fill(el);
    overview.replaceWith(h('div', { class: 'alert error', role: 'alert', id: 'job-gone' },
      h('h2', null, `Job "${id}" does not exist in namespace "${ns}"`),
      h('p', null, 'It was purged, or it never existed under this name. The agent says:'),
      h('pre', null, err.apiMessage || err.message),
      h('p', { class: 'what-to-do' }, h('a', { href: '/ui/jobs' }, 'See the jobs list'), ' or ', h('a', { href: '/ui/run' }, 'run a job'), '.')));
    for (const sec of ['groups', 'allocations', 'evaluations', 'versions', 'deployments']) document.getElementById(sec)?.remove();
  };
  const showError = (key, title) => (err, retryIn) => {
    if (err.status === 404) { gone(err); return; }
    fill(errors[key], errorBox(err, { title, retryIn }));
  };
  const refresh = coalesce(async () => {
    const other = second?.kind === 'deployment' ? 'evaluations' : 'deployment';
    const [j, sum, o] = await Promise.allSettled([get(base, { query, signal }), get(`${base}/summary`, { query, signal }),
      get(`${base}/${other}`, { query, signal })]);
    if (signal.aborted) return;
    if (o.status === 'fulfilled' && other === 'deployment') showDeployment(o.value.data);
    else if (o.status === 'fulfilled') { fill(errors.evals); state.evals = o.value.data || []; drawEvals(); }
    else if (other === 'deployment') deploymentError(o.reason);
    else if (o.reason.name !== 'AbortError' && o.reason.status !== 404) fill(errors.evals, errorBox(o.reason, { title: "Could not list the job's evaluations" }));
    if (j.status === 'fulfilled') {
      fill(errors.job);
      const before = state.job?.Status;
      state.job = j.value.data;
      drawOverview();
      drawAllocs();
      drawEvals();
      drawVersions(state.job.ModifyIndex);
      if (before && before !== state.job.Status) ctx.announce(`Job ${id} is now ${state.job.Status}`);
    } else if (j.reason.name !== 'AbortError') {
      showError('job', `Could not read job ${id}`)(j.reason);
      drawAllocs();
      drawEvals();
    }
    if (sum.status === 'fulfilled') {
      fill(errors.summary);
      state.summary = sum.value.data;
      drawGroups();
    } else if (sum.reason.name !== 'AbortError' && j.status === 'fulfilled') {
      fill(errors.summary, errorBox(sum.reason, { title: 'Could not read the job summary' }));
    }
  });
  watch(`${base}/allocations`, {
    signal, query,
    // The sections below wait for the job's summary above them: the page
    // fills from the top down.
    onData(a) { fill(errors.allocs); state.allocs = a || []; if (state.job) drawAllocs(); refresh(); },
    onError: showError('allocs', "Could not list the job's allocations"),
  });
  // The second watch; follow(kind) switches it, ending the other one.
  let second = null; // {kind, controller}
  function follow(kind) {
    if (second?.kind === kind || signal.aborted) return;
    second?.controller.abort(new DOMException('the page follows something else', 'AbortError'));
    const controller = new AbortController();
    second = { kind, controller };
    const opts = { signal: AbortSignal.any([signal, controller.signal]), query };
    if (kind === 'deployment') {
      watch(`${base}/deployment`, { ...opts, onData(d) { showDeployment(d); refresh(); }, onError: deploymentError });
    } else {
      watch(`${base}/evaluations`, {
        ...opts,
        onData(e) { fill(errors.evals); state.evals = e || []; if (state.job) drawEvals(); refresh(); },
        onError: showError('evals', "Could not list the job's evaluations"),
      });
    }
  }
  follow('evaluations');
}
