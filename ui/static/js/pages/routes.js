// Ingress routes: one client's live ingress route table (GET
// /v1/client/ingress/routes?node_id=): each route with its services and the
// instances behind it, their state, and which of them get the traffic.
// Each client runs its own ingress and counts its own requests, so the page
// shows one client at a time (?node=, default this agent's client).

import { get, pause, whenVisible } from '../api.js';
import { h, fill, badge, table, props, section, errorBox, uiPath, shortId } from '../dom.js';

const REFRESH_MS = 5000;

export function render(ctx) {
  ctx.setTitle('Ingress routes');
  const service = ctx.query.get('service') || '';
  let nodeID = ctx.query.get('node') || '';
  const errors = h('div');
  const picker = h('select', { id: 'routes-node', disabled: true }, h('option', { value: '' }, 'Loading clients…'));
  const head = h('div', { class: 'card', id: 'routes-ingress' }, h('p', { class: 'loading' }, 'Loading…'));
  const list = h('div', { id: 'routes-list' });
  const updated = h('p', { class: 'note', id: 'routes-updated' });
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Ingress routes'),
      h('p', { class: 'subtitle' }, 'The routes a client\'s built-in ingress serves (from urlprefix- service tags), the instances behind each and the requests each gets.',
        service ? [' Showing the routes of service ', h('strong', null, service), ' (', h('a', { href: uiPath.routes(nodeID, '') }, 'all routes'), ').'] : null))),
    h('form', { class: 'toolbar', 'aria-label': 'Choose a client', onsubmit: (e) => e.preventDefault() },
      h('label', { class: 'field', for: 'routes-node' }, 'Client', picker)),
    errors, head, list, updated);
  picker.addEventListener('change', () => ctx.navigate(uiPath.routes(picker.value, service), { replace: true }));

  // The last counts of each instance, for the request rate between reads.
  let last = new Map();
  let lastAt = 0;

  async function chooseNode() {
    const [nodes, self] = await Promise.allSettled([get('/v1/nodes', { signal: ctx.signal }), get('/v1/agent/self', { signal: ctx.signal })]);
    if (nodes.status !== 'fulfilled') {
      fill(errors, errorBox(nodes.reason, { title: 'Could not list the client nodes' }));
      return;
    }
    const all = nodes.value.data || [];
    const mine = self.status === 'fulfilled' ? self.value.data?.stats?.client?.node_id : '';
    if (!nodeID) nodeID = (all.find((n) => n.ID === mine) || all.find((n) => n.Status === 'ready') || all[0])?.ID || '';
    fill(picker, all.length ? all.map((n) => h('option', { value: n.ID, selected: n.ID === nodeID },
      `${n.Name || shortId(n.ID)} (${shortId(n.ID)}, ${n.Status})`)) : h('option', { value: '' }, 'No client nodes'));
    picker.disabled = all.length === 0;
  }

  function draw(rt) {
    const now = performance.now();
    const secs = lastAt ? (now - lastAt) / 1000 : 0;
    const counts = new Map();
    const key = (r, i) => `${r.Route}|${i.AllocID}|${i.Address}`;
    fill(head, props([
      ['Client', h('a', { href: uiPath.client(rt.NodeID) }, shortId(rt.NodeID))],
      ['Ingress', rt.Enabled ? badge('running') : badge('off')],
      ['HTTP address', rt.Enabled ? h('span', { class: 'mono' }, rt.HTTPAddr || '–') : null],
      ['Balancing', rt.Enabled ? (rt.Balance === 'least_conn' ? 'least connections' : 'round robin') : null],
    ]));
    if (!rt.Enabled) {
      fill(list, h('p', { class: 'empty', id: 'routes-off' }, 'This client runs no ingress. Turn it on in the client\'s configuration: ',
        h('code', null, 'client { ingress { enabled = true } }'), '.'));
      return;
    }
    const routes = (rt.Routes || []).filter((r) => !service || (r.Services || []).includes(service));
    if (!routes.length) {
      fill(list, h('p', { class: 'empty', id: 'routes-none' }, service
        ? `No route of service ${service} on this client: tag the service with urlprefix-/path (HTTP) or urlprefix-:port proto=tcp (TCP).`
        : 'No routes: no running service is tagged urlprefix-/path (HTTP) or urlprefix-:port proto=tcp (TCP).'));
      return;
    }
    fill(list, routes.map((r) => {
      const insts = r.Instances || [];
      const rates = new Map();
      let recent = 0;
      for (const i of insts) {
        counts.set(key(r, i), i.Requests);
        const before = last.get(key(r, i));
        const d = secs > 0 && before !== undefined ? Math.max(0, i.Requests - before) : null;
        rates.set(i, d);
        recent += d || 0;
      }
      const total = insts.reduce((n, i) => n + i.Requests, 0);
      // The share of the traffic: of the requests since the last read when
      // there were some, else of every request since the ingress started.
      const share = (i) => (recent > 0 ? (rates.get(i) || 0) / recent : total > 0 ? i.Requests / total : 0);
      const what = r.TCPPort ? `TCP :${r.TCPPort}` : `${r.Host || '(any host)'}${r.Path}`;
      const id = `route-${r.Route.replace(/[^A-Za-z0-9_-]/g, '_')}`;
      return h('section', { class: 'route', 'aria-labelledby': `${id}-heading`, dataset: { route: r.Route } },
        h('h2', { id: `${id}-heading` }, h('span', { class: 'mono' }, what)),
        props([
          ['Services', (r.Services || []).map((s, n) => [n ? ', ' : '', h('a', { href: uiPath.service(s) }, s)])],
          ['Strip', r.Strip ? h('span', { class: 'mono' }, r.Strip) : null],
          ['Protocol', r.TCPPort ? 'TCP (connections)' : 'HTTP'],
          // Why this client orders no ACME certificate for the host.
          ['ACME certificate', r.ACME ? `none: ${r.ACME}` : null],
        ]),
        table([
          { label: 'Allocation', class: 'mono', cell: (i) => (i.AllocID ? h('a', { href: uiPath.alloc(i.AllocID) }, shortId(i.AllocID)) : '–') },
          { label: 'Job', class: 'hide-narrow', cell: (i) => (i.JobID ? h('a', { href: uiPath.job(i.JobID, i.Namespace) }, i.JobID) : '–') },
          { label: 'Address', class: 'mono', cell: (i) => i.Address },
          { label: 'State', cell: (i) => badge(i.State, { title: STATE_HELP[i.State] }) },
          { label: r.TCPPort ? 'Connections' : 'Requests', class: 'num', cell: (i) => String(i.Requests) },
          { label: 'Per second', class: 'num', cell: (i) => (rates.get(i) === null ? '–' : (rates.get(i) / secs).toFixed(1)) },
          { label: 'Share', cell: (i) => [h('meter', { min: 0, max: 1, value: share(i), 'aria-hidden': 'true' }), ` ${Math.round(share(i) * 100)}%`] },
          { label: 'In flight', class: 'num', cell: (i) => String(i.InFlight) },
        ], insts, {
          caption: `Instances of ${what}; share = of the ${r.TCPPort ? 'connections' : 'requests'} since the last read (${REFRESH_MS / 1000} s), or since the ingress started`,
          rowProps: (i) => ({ dataset: { alloc: i.AllocID, state: i.State, requests: String(i.Requests) } }),
        }));
    }));
    last = counts;
    lastAt = now;
  }

  (async () => {
    try {
      await chooseNode();
      if (!nodeID) {
        fill(head, h('p', { class: 'empty' }, 'No client nodes have registered: routes live on clients.'));
        return;
      }
      for (;;) {
        await whenVisible(ctx.signal);
        try {
          const res = await get('/v1/client/ingress/routes', { query: { node_id: nodeID }, signal: ctx.signal });
          fill(errors);
          draw(res.data || {});
        } catch (e) {
          if (e.name === 'AbortError') throw e;
          fill(errors, errorBox(e, { title: `Could not read the ingress routes of node ${shortId(nodeID)}` }));
        }
        fill(updated, `The route table has no blocking queries, so this page re-reads it every ${REFRESH_MS / 1000} s while visible (last at ${new Date().toLocaleTimeString()}).`);
        await pause(REFRESH_MS, ctx.signal);
      }
    } catch (e) {
      if (e.name !== 'AbortError') throw e;
    }
  })();
}

const STATE_HELP = {
  healthy: 'gets new requests',
  failing: 'a check fails: gets no new requests',
  draining: 'deregistered (its allocation is stopping): finishes its open requests, gets no new ones',
};
