// The clients list: status, eligibility and allocated vs total resources,
// summed from the allocations each node runs.

import { watch } from '../api.js';
import {
  h, fill, refill, badge, table, uiPath, shortId, errorBox, allocUsage, nodeCapacity, usageBar, isTerminalAlloc, mb, mhz,
} from '../dom.js';
import { nodeControls, controlsKey } from '../nodectl.js';

/** Non-terminal allocations' resources per node ID. */
export function usageByNode(allocs) {
  const by = {};
  for (const a of allocs || []) {
    if (isTerminalAlloc(a)) continue;
    const u = allocUsage(a);
    const n = (by[a.NodeID] ||= { cpu: 0, mem: 0, count: 0, allocs: [] });
    n.cpu += u.cpu; n.mem += u.mem; n.count++; n.allocs.push(a);
  }
  return by;
}

export function render(ctx) {
  ctx.setTitle('Clients');
  const errors = h('div');
  const list = h('div', { id: 'clients-table' }, h('p', { class: 'loading' }, 'Loading clients…'));
  const search = h('input', { type: 'search', id: 'client-search', placeholder: 'name, ID, datacenter', autocomplete: 'off' });
  const actionOut = h('div', { 'aria-live': 'polite', id: 'clients-action-result' });
  // Each node's controls are kept while its drain and eligibility stay the
  // same, so a redraw (every allocation change) keeps a pending "Confirm: drain".
  const controls = new Map(); // node ID -> {key, el}
  const controlsOf = (n) => {
    const key = controlsKey(n);
    let c = controls.get(n.ID);
    if (!c || c.key !== key) {
      c = { key, el: nodeControls(n, { ctx, out: actionOut, compact: true }) };
      controls.set(n.ID, c);
    }
    return c.el;
  };
  let nodes = null; let allocs = null;
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Clients'),
      h('p', { class: 'subtitle' }, 'Client nodes with the resources their running allocations hold. Updates by itself.'))),
    h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter clients', onsubmit: (e) => e.preventDefault() },
      h('label', { class: 'field', for: 'client-search' }, 'Search', search)),
    errors, actionOut, list);
  search.addEventListener('input', draw);

  function draw() {
    if (!nodes) return;
    const usage = usageByNode(allocs);
    const needle = search.value.trim().toLowerCase();
    const shown = nodes.filter((n) => !needle || [n.Name, n.ID, n.Datacenter, n.NodePool, n.Address].some((s) => String(s || '').toLowerCase().includes(needle)));
    // refill: a control moved into (or rebuilt in) the new table keeps the focus.
    refill(list, actionOut, table([
      { label: 'Name', cell: (n) => h('a', { href: uiPath.client(n.ID) }, n.Name || shortId(n.ID)) },
      { label: 'ID', class: 'mono hide-narrow', cell: (n) => shortId(n.ID) },
      { label: 'Status', cell: (n) => badge(n.Status) },
      { label: 'Eligibility', cell: (n) => [badge(n.SchedulingEligibility), n.Drain ? [' ', badge('draining')] : null] },
      { label: 'Datacenter', class: 'hide-narrow', cell: (n) => n.Datacenter },
      { label: 'Pool', class: 'hide-narrow', cell: (n) => n.NodePool || 'default' },
      { label: 'Drivers', class: 'hide-narrow', cell: (n) => drivers(n.Drivers) },
      { label: 'Allocs', class: 'num', cell: (n) => String(usage[n.ID]?.count || 0) },
      { label: 'Allocated', class: 'hide-narrow', cell: (n) => {
        const cap = nodeCapacity(n); const u = usage[n.ID] || { cpu: 0, mem: 0 };
        return [usageBar('cpu', u.cpu, cap.cpu, mhz), usageBar('mem', u.mem, cap.mem, mb)];
      } },
      { label: 'Actions', cell: (n) => controlsOf(n) },
    ], shown, { caption: 'Client nodes; allocated = sum of running and pending allocations, total = node resources minus reserved',
      empty: nodes.length ? 'No client matches the filter.' : 'No client nodes have registered. Start one with `nomadlike agent -dev` or a client agent.' }));
  }

  watch('/v1/nodes', {
    signal: ctx.signal,
    onData(data) {
      fill(errors); nodes = data || [];
      for (const id of controls.keys()) if (!nodes.some((n) => n.ID === id)) controls.delete(id);
      draw();
    },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: 'Could not list the client nodes', retryIn })); },
  });
  watch('/v1/allocations', {
    signal: ctx.signal, query: { namespace: '*' },
    onData(data) { allocs = data || []; draw(); },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: 'Could not list the allocations (resource use is not shown)', retryIn })); },
  });
}

function drivers(d) {
  const entries = Object.entries(d || {});
  if (!entries.length) return '–';
  return entries.sort().map(([name, info], i) => [i ? ', ' : '', name, info.Healthy ? '' : ' (unhealthy)']);
}
