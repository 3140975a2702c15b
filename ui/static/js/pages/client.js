// The client page: one node's status, drain and eligibility controls,
// resources, allocations, drivers and their health, attributes, meta and events.

import { watch } from '../api.js';
import {
  h, fill, badge, table, props, section, timeEl, uiPath, shortId, errorBox, allocUsage, nodeCapacity, usageBar,
  isTerminalAlloc, mb, mhz, refill,
} from '../dom.js';
import { nodeControls, controlsKey } from '../nodectl.js';

export function render(ctx) {
  const id = ctx.params.id;
  ctx.setTitle(`Client ${shortId(id)}`);
  const title = h('span', null, `Client ${shortId(id)}`);
  const statusEl = h('span', { 'aria-live': 'polite', id: 'client-status' });
  const errors = h('div');
  const overview = h('div', { class: 'card' }, h('p', { class: 'loading' }, 'Loading client…'));
  const resources = h('div', { class: 'card', id: 'client-resources' });
  const allocsEl = h('div', { id: 'client-allocations' });
  const driversEl = h('div', { id: 'client-drivers' });
  const attrFilter = h('input', { type: 'search', id: 'attr-filter', placeholder: 'e.g. kernel', autocomplete: 'off' });
  const attrsEl = h('div', { id: 'client-attributes' });
  const eventsEl = h('div');
  const controls = h('div', { id: 'client-controls' });
  const controlsOut = h('div', { 'aria-live': 'polite', id: 'client-action-result' });
  let drawnControls = '';
  let node = null; let allocs = null;
  const live = new AbortController(); // aborted when the node turns out not to exist
  const signal = AbortSignal.any([ctx.signal, live.signal]);

  fill(ctx.main,
    h('p', { class: 'note' }, h('a', { href: '/ui/clients' }, 'Clients'), ' / ', shortId(id)),
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, title, statusEl), h('p', { class: 'subtitle mono' }, id))),
    errors, controlsOut, overview,
    section('client-controls-section', 'Scheduling', controls),
    resources,
    section('client-allocs', 'Allocations', allocsEl),
    section('client-drivers-section', 'Drivers', driversEl),
    section('client-attrs', 'Attributes',
      h('div', { class: 'toolbar' }, h('label', { class: 'field', for: 'attr-filter' }, 'Filter attributes', attrFilter)), attrsEl),
    section('client-events', 'Events', eventsEl));
  attrFilter.addEventListener('input', drawAttrs);

  function drawNode() {
    const n = node;
    fill(title, n.Name || `Client ${shortId(id)}`);
    ctx.setTitle(`Client ${n.Name || shortId(id)}`);
    fill(statusEl, badge(n.Status), ' ', badge(n.SchedulingEligibility), n.Drain ? [' ', badge('draining')] : null);
    // Rebuilt only when drain or eligibility change: a pending "Confirm: drain"
    // and the chosen deadline survive the node's other updates (heartbeats).
    if (controlsKey(n) !== drawnControls) {
      drawnControls = controlsKey(n);
      refill(controls, controlsOut, nodeControls(n, { ctx, out: controlsOut }));
    }
    fill(overview, props([
      ['Datacenter', n.Datacenter], ['Node pool', n.NodePool || 'default'], ['Class', n.NodeClass || '–'],
      ['HTTP address', n.HTTPAddr || '–'], ['Version', n.Attributes?.['nomad.version'] || '–'],
      ['Ingress', h('a', { href: uiPath.routes(n.ID), id: 'client-routes-link' }, 'Routes this client\'s ingress serves')],
      ['Status detail', n.StatusDescription || ''], ['Status updated', timeEl(n.StatusUpdatedAt ? n.StatusUpdatedAt * 1e9 : 0)],
    ]));
    const d = Object.entries(n.Drivers || {}).sort();
    fill(driversEl, table([
      { label: 'Driver', cell: ([name]) => name },
      { label: 'Detected', cell: ([, i]) => (i.Detected ? 'yes' : 'no') },
      { label: 'Health', cell: ([, i]) => badge(i.Healthy ? 'healthy' : 'unhealthy') },
      { label: 'Detail', cell: ([, i]) => i.HealthDescription || '' },
      { label: 'Updated', class: 'hide-narrow', cell: ([, i]) => timeEl(i.UpdateTime) },
    ], d, { caption: 'Task drivers this client fingerprinted', empty: 'No drivers detected.' }));
    drawAttrs();
    const evs = [...(n.Events || [])].reverse();
    fill(eventsEl, table([
      { label: 'Time', cell: (e) => timeEl(e.Timestamp) },
      { label: 'Subsystem', cell: (e) => e.Subsystem },
      { label: 'Message', cell: (e) => e.Message },
    ], evs, { empty: 'No events.' }));
    drawResources();
  }

  function drawAttrs() {
    if (!node) return;
    const needle = attrFilter.value.trim().toLowerCase();
    const rows = [
      ...Object.entries(node.Attributes || {}).map(([k, v]) => [`attr.${k}`, v]),
      ...Object.entries(node.Meta || {}).map(([k, v]) => [`meta.${k}`, v]),
    ].filter(([k, v]) => !needle || k.toLowerCase().includes(needle) || String(v).toLowerCase().includes(needle)).sort();
    fill(attrsEl, table([
      { label: 'Name (as in constraints: ${…})', cell: ([k]) => h('code', null, k) },
      { label: 'Value', cell: ([, v]) => v },
    ], rows, { empty: 'No attribute matches.' }));
  }

  function drawResources() {
    if (!node) return;
    const cap = nodeCapacity(node);
    let cpu = 0; let mem = 0;
    for (const a of allocs || []) {
      if (isTerminalAlloc(a)) continue;
      const u = allocUsage(a); cpu += u.cpu; mem += u.mem;
    }
    fill(resources, h('h2', null, 'Allocated resources'),
      usageBar('cpu', cpu, cap.cpu, mhz), usageBar('mem', mem, cap.mem, mb),
      h('p', { class: 'note' }, `Totals are the node's resources minus reserved (${mhz(cap.reservedCpu)} CPU, ${mb(cap.reservedMem)} memory reserved).`));
  }

  function drawAllocs() {
    const list = [...(allocs || [])].sort((a, b) => (b.CreateIndex || 0) - (a.CreateIndex || 0));
    fill(allocsEl, table([
      { label: 'ID', cell: (a) => h('a', { href: uiPath.alloc(a.ID), class: 'mono' }, shortId(a.ID)) },
      { label: 'Job', cell: (a) => h('a', { href: uiPath.job(a.JobID, a.Namespace) }, a.JobID) },
      { label: 'Name', class: 'hide-narrow', cell: (a) => a.Name },
      { label: 'Status', cell: (a) => badge(a.ClientStatus) },
      { label: 'Desired', cell: (a) => a.DesiredStatus },
      { label: 'CPU', class: 'num', cell: (a) => mhz(allocUsage(a).cpu) },
      { label: 'Memory', class: 'num', cell: (a) => mb(allocUsage(a).mem) },
      { label: 'Created', class: 'hide-narrow', cell: (a) => timeEl(a.CreateTime) },
    ], list, { caption: 'Allocations on this client, newest first', empty: 'No allocations on this client.' }));
    drawResources();
  }

  // A 404 means there is no such node (a mistyped or purged ID): say so once
  // and stop, rather than retrying a read that cannot succeed.
  const gone = (err) => {
    live.abort(new DOMException('no such client', 'AbortError'));
    fill(statusEl, badge('not found'));
    fill(errors, h('div', { class: 'alert error', role: 'alert', id: 'client-gone' },
      h('h2', null, `There is no client node "${id}"`),
      h('p', null, 'The agent says:'), h('pre', null, `GET /v1/node/${id} failed (HTTP 404): ${err.apiMessage || err.message}`),
      h('p', { class: 'what-to-do' }, h('a', { href: '/ui/clients' }, 'See the clients list'), ' for the nodes that exist.')));
    for (const el of [...ctx.main.querySelectorAll('section'), overview, resources, controlsOut]) el.remove();
  };
  watch(`/v1/node/${encodeURIComponent(id)}`, {
    signal,
    onData(n) { fill(errors); node = n; drawNode(); },
    onError(err, retryIn) {
      if (err.status === 404) { gone(err); return; }
      fill(errors, errorBox(err, { title: `Could not read client ${shortId(id)}`, retryIn }));
    },
  });
  watch(`/v1/node/${encodeURIComponent(id)}/allocations`, {
    signal,
    onData(a) { allocs = a || []; drawAllocs(); },
    onError(err, retryIn) {
      if (err.status === 404) return; // the node watch reports it
      fill(allocsEl, errorBox(err, { title: "Could not list the client's allocations", retryIn }));
    },
  });
}
