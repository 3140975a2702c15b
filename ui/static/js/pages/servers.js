// Servers: the Raft leader, the Raft configuration (peers, voters), the
// cluster members (serf) and this agent.

import { get, pause } from '../api.js';
import { h, fill, badge, table, props, section, errorBox } from '../dom.js';

const REFRESH_MS = 15000;

export function render(ctx) {
  ctx.setTitle('Servers');
  const leaderEl = h('div', { class: 'card', id: 'servers-leader', 'aria-live': 'polite' }, h('p', { class: 'loading' }, 'Loading…'));
  const peersEl = h('div', { id: 'servers-peers' });
  const membersEl = h('div', { id: 'servers-members' });
  const selfEl = h('div', { class: 'card', id: 'servers-self' });
  const updated = h('p', { class: 'note' });
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Servers'),
      h('p', { class: 'subtitle' }, 'The Raft leader, the servers in the Raft configuration and the cluster members.'))),
    leaderEl,
    section('peers', 'Raft peers', peersEl),
    section('members', 'Members', membersEl),
    section('agent', 'This agent', selfEl),
    updated);

  let leader = '';
  async function load() {
    const [l, p, m, s] = await Promise.allSettled([
      get('/v1/status/leader', { signal: ctx.signal }), get('/v1/operator/raft/configuration', { signal: ctx.signal }),
      get('/v1/agent/members', { signal: ctx.signal }), get('/v1/agent/self', { signal: ctx.signal })]);
    if (ctx.signal.aborted) return;
    if (l.status === 'fulfilled') {
      const was = leader;
      leader = l.value.data || '';
      fill(leaderEl, leader
        ? props([['Leader', h('span', { class: 'mono' }, leader)], ['Status', badge('leader')]])
        : h('div', { class: 'alert error', role: 'alert' }, h('strong', null, 'No leader. '),
          'The servers have not elected a leader: check that bootstrap_expect servers are running and can reach each other on the RPC and Serf ports.'));
      if (was && was !== leader) ctx.announce(`Leader changed to ${leader || 'none'}`);
    } else fill(leaderEl, errorBox(l.reason, { title: 'Could not read the leader' }));
    if (p.status === 'fulfilled') {
      fill(peersEl, table([
        { label: 'Node', cell: (x) => x.Node || '–' },
        { label: 'ID', class: 'mono hide-narrow', cell: (x) => x.ID },
        { label: 'Address', cell: (x) => h('span', { class: 'mono' }, x.Address) },
        { label: 'State', cell: (x) => (x.Leader ? badge('leader') : 'follower') },
        { label: 'Voter', cell: (x) => (x.Voter ? 'yes' : 'no (non-voter)') },
        { label: 'Raft protocol', class: 'num hide-narrow', cell: (x) => x.RaftProtocol || '–' },
      ], p.value.data?.Servers || [], { caption: 'The Raft configuration: every server that takes part in consensus', empty: 'No Raft servers.' }));
    } else fill(peersEl, errorBox(p.reason, { title: 'Could not read the Raft configuration' }));
    // A member is the leader when its Raft ID or RPC address is the leader's.
    const leaderID = p.status === 'fulfilled' ? (p.value.data?.Servers || []).find((x) => x.Leader)?.ID : undefined;
    const isLeader = (x) => !!leader && ((leaderID && x.Tags?.id === leaderID) || x.Tags?.rpc_addr === leader ||
      (!!x.Addr && leader.startsWith(`${x.Addr}:`)));
    if (m.status === 'fulfilled') {
      const data = m.value.data || {};
      fill(membersEl, table([
        { label: 'Name', cell: (x) => x.Name },
        { label: 'Address', class: 'mono', cell: (x) => `${x.Addr}:${x.Port}` },
        { label: 'Status', cell: (x) => badge(x.Status) },
        { label: 'Role', cell: (x) => (x.Tags?.role === 'nomad' ? 'server' : x.Tags?.role || '–') },
        { label: 'Leader', cell: (x) => (isLeader(x) ? badge('leader') : '') },
        { label: 'Region / DC', cell: (x) => `${x.Tags?.region || '–'} / ${x.Tags?.dc || '–'}` },
        { label: 'Version', class: 'hide-narrow', cell: (x) => x.Tags?.build || '–' },
      ], data.Members || [], { caption: `Members as seen by ${data.ServerName || 'this agent'} (region ${data.ServerRegion || '–'})`, empty: 'No members.' }));
    } else fill(membersEl, errorBox(m.reason, { title: 'Could not list the members' }));
    if (s.status === 'fulfilled') {
      const cfg = s.value.data?.config || {};
      const stats = s.value.data?.stats || {};
      fill(selfEl, props([
        ['Name', cfg.NodeName || cfg.Name || '–'], ['Region', cfg.Region || '–'], ['Datacenter', cfg.Datacenter || '–'],
        ['Version', cfg.Version?.Version || '–'],
        ['Server', stats.nomad ? `yes${stats.nomad.leader === 'true' ? ' (the leader)' : ''}` : 'no'],
        ['Client', stats.client ? `yes (node ${stats.client.node_id})` : 'no'],
        ['Go', `${stats.runtime?.version || '–'} ${stats.runtime?.os || ''}/${stats.runtime?.arch || ''}`],
      ]));
    } else fill(selfEl, errorBox(s.reason, { title: 'Could not read this agent' }));
    fill(updated, `These endpoints do not support blocking queries, so this page re-reads them every ${REFRESH_MS / 1000} s (last at ${new Date().toLocaleTimeString()}).`);
  }

  (async () => {
    while (!ctx.signal.aborted) {
      await load();
      try { await pause(REFRESH_MS, ctx.signal); } catch { return; }
    }
  })();
}
