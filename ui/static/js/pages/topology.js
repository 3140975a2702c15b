// Topology: every client as a box, filled by its allocations' memory and CPU.

import { watch } from '../api.js';
import { h, fill, badge, uiPath, shortId, errorBox, allocUsage, nodeCapacity, mb, mhz } from '../dom.js';
import { usageByNode } from './clients.js';

export function render(ctx) {
  ctx.setTitle('Topology');
  const errors = h('div');
  const totals = h('p', { id: 'topology-totals', 'aria-live': 'polite' });
  const grid = h('div', { class: 'topology', id: 'topology' }, h('p', { class: 'loading' }, 'Loading…'));
  let nodes = null; let allocs = null;
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Topology'),
      h('p', { class: 'subtitle' }, 'Each client is a box; each allocation fills it by the memory and CPU it holds. Select a block to open the allocation.'))),
    h('div', { class: 'legend' }, h('span', null, h('span', { class: 'swatch' }), 'memory'), h('span', null, h('span', { class: 'swatch cpu' }), 'CPU'),
      h('span', null, 'faded: pending')),
    errors, totals, grid);

  function draw() {
    if (!nodes) return;
    const usage = usageByNode(allocs);
    let cpu = 0; let mem = 0; let capCpu = 0; let capMem = 0;
    const boxes = nodes.map((n) => {
      const cap = nodeCapacity(n);
      const u = usage[n.ID] || { cpu: 0, mem: 0, count: 0, allocs: [] };
      cpu += u.cpu; mem += u.mem; capCpu += cap.cpu; capMem += cap.mem;
      const strip = (kind) => h('div', { class: ['fill', kind === 'cpu' ? 'cpu' : ''], role: 'list',
        'aria-label': `${kind === 'cpu' ? 'CPU' : 'Memory'}: ${kind === 'cpu' ? mhz(u.cpu) : mb(u.mem)} of ${kind === 'cpu' ? mhz(cap.cpu) : mb(cap.mem)} allocated` },
      u.allocs.map((a) => {
        const au = allocUsage(a);
        const part = kind === 'cpu' ? au.cpu / (cap.cpu || 1) : au.mem / (cap.mem || 1);
        const label = `${a.Name} (${a.ClientStatus}): ${mb(au.mem)} memory, ${mhz(au.cpu)} CPU`;
        return h('a', { href: uiPath.alloc(a.ID), role: 'listitem', class: a.ClientStatus === 'pending' ? 'pending' : '',
          title: label, 'aria-label': label, style: { width: `${Math.min(100, part * 100)}%` } });
      }));
      return h('figure', { class: ['node-box', n.Status !== 'ready' ? 'down' : ''], dataset: { node: n.ID } },
        h('figcaption', null, h('a', { href: uiPath.client(n.ID) }, n.Name || shortId(n.ID)),
          h('span', null, badge(n.Status), ' ', `${u.count} alloc${u.count === 1 ? '' : 's'}`)),
        h('div', { class: 'note' }, `Memory ${mb(u.mem)} / ${mb(cap.mem)}`), strip('mem'),
        h('div', { class: 'note' }, `CPU ${mhz(u.cpu)} / ${mhz(cap.cpu)}`), strip('cpu'),
        h('div', { class: 'note' }, `${n.Datacenter} · pool ${n.NodePool || 'default'}`));
    });
    fill(totals, `${nodes.length} client${nodes.length === 1 ? '' : 's'}: ${mb(mem)} of ${mb(capMem)} memory and ${mhz(cpu)} of ${mhz(capCpu)} CPU allocated.`);
    fill(grid, boxes.length ? boxes : h('p', null, 'No client nodes have registered.'));
  }

  watch('/v1/nodes', {
    signal: ctx.signal,
    onData(d) { fill(errors); nodes = d || []; draw(); },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: 'Could not list the client nodes', retryIn })); },
  });
  watch('/v1/allocations', {
    signal: ctx.signal, query: { namespace: '*' },
    onData(d) { allocs = d || []; draw(); },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: 'Could not list the allocations', retryIn })); },
  });
}
