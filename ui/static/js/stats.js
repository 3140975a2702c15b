// stats.js: an allocation's live resource usage (GET
// /v1/client/allocation/:id/stats, Nomad's AllocResourceUsage) against what
// it was allocated, per task.

import { get, pause, whenVisible } from './api.js';
import { h, fill, errorBox, clock, mb, mhz, isTerminalAlloc } from './dom.js';

/** How often the usage is re-read while the allocation runs. */
export const STATS_MS = 5000;

const MiB = 1024 * 1024;

/** Memory in use, in bytes: the cgroup's Usage when measured, else RSS. */
function memBytes(m) {
  if (!m) return 0;
  return (m.Measured || []).includes('Usage') && m.Usage ? m.Usage : (m.RSS || 0);
}

function bar(kind, label, used, total, text) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return h('div', { class: 'usage' },
    h('span', { class: 'label' }, kind === 'cpu' ? 'CPU' : 'Memory'),
    h('div', { class: ['bar', kind], role: 'img', 'aria-label': `${label}: ${text}` }, h('span', { style: { width: `${pct}%` } })),
    h('span', null, text));
}

/** usageRows renders one task's (or the sum's) usage against its allocation. */
function usageRows(name, usage, alloc) {
  const cpu = usage?.CpuStats || {};
  const memMiB = memBytes(usage?.MemoryStats) / MiB;
  const ticks = Math.round(cpu.TotalTicks || 0);
  const cpuText = `${(cpu.Percent || 0).toFixed(1)}% of a core, ${mhz(ticks)}` + (alloc.cpu ? ` of ${mhz(alloc.cpu)} allocated` : '');
  const memText = `${memMiB < 10 ? memMiB.toFixed(1) : Math.round(memMiB)} MiB` + (alloc.mem ? ` of ${mb(alloc.mem)} allocated` : '');
  return [bar('cpu', `${name} CPU used`, ticks, alloc.cpu, cpuText), bar('mem', `${name} memory used`, memMiB, alloc.mem, memText)];
}

/** usageView renders an AllocResourceUsage for allocation a. */
export function usageView(data, a) {
  const tasks = a?.AllocatedResources?.Tasks || {};
  let cpu = 0; let mem = 0;
  for (const t of Object.values(tasks)) { cpu += t.Cpu?.CpuShares || 0; mem += t.Memory?.MemoryMB || 0; }
  const names = Object.keys(data?.Tasks || {}).sort();
  return h('div', { id: 'alloc-usage', dataset: { timestamp: String(data?.Timestamp || 0) } },
    h('div', { class: 'card' }, h('h3', null, 'Allocation total'), usageRows('Allocation', data?.ResourceUsage, { cpu, mem })),
    names.length > 1 ? names.map((n) => h('div', { class: 'card', dataset: { task: n } }, h('h3', null, `Task "${n}"`),
      usageRows(`Task ${n}`, data.Tasks[n]?.ResourceUsage,
        { cpu: tasks[n]?.Cpu?.CpuShares || 0, mem: tasks[n]?.Memory?.MemoryMB || 0 }))) : null,
    h('p', { class: 'note' }, `Measured at ${clock(data?.Timestamp)}; re-read every ${STATS_MS / 1000} s while the allocation runs and this tab is visible.`));
}

/**
 * followStats keeps `into` showing the allocation's usage. This is a metrics
 * poll, not a state poll: usage changes all the time and the stats endpoint
 * has no index to block on, so it is re-read every STATS_MS (a modest rate,
 * one short request) while the allocation runs and the tab is visible, and
 * never again once the allocation is terminal. State (the allocation itself)
 * still comes from blocking queries. alloc() returns the latest allocation.
 */
export async function followStats(id, into, { signal, alloc }) {
  const path = `/v1/client/allocation/${encodeURIComponent(id)}/stats`;
  // Wait for the page's first read of the allocation (no API call here): a
  // finished allocation needs no stats request at all.
  try {
    while (!alloc()) await pause(100, signal);
  } catch { return; }
  while (!signal.aborted) {
    const a = alloc();
    if (a && isTerminalAlloc(a) && a.ClientStatus !== 'running') {
      fill(into, h('p', { class: 'note', id: 'alloc-usage-done' }, 'The allocation has finished: it uses no resources any more.'));
      return;
    }
    try {
      await whenVisible(signal);
      if (a && a.ClientStatus === 'pending') {
        if (!into.querySelector('#alloc-usage')) fill(into, h('p', { class: 'note' }, 'The tasks have not started yet; usage shows once they run.'));
      } else {
        const { data } = await get(path, { signal });
        fill(into, usageView(data, alloc() || a));
      }
    } catch (e) {
      if (signal.aborted || e.name === 'AbortError') return;
      fill(into, errorBox(e, { title: 'Could not read the live resource usage', retryIn: STATS_MS }));
    }
    try { await pause(STATS_MS, signal); } catch { return; }
  }
}
