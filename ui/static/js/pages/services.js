// Services (Nomad's native service discovery): the services registered in
// every namespace, each with the name the clients' built-in DNS answers
// for it, and one service's registrations.

import { watch } from '../api.js';
import { h, fill, table, props, section, errorBox, uiPath, shortId, badge } from '../dom.js';

/**
 * dnsName is the name a client's built-in DNS server answers for a service:
 * "<name>.service.nomad", with the namespace before "nomad" outside the
 * default namespace (as structs.ServiceDNSName).
 */
export function dnsName(namespace, name) {
  const ns = namespace && namespace !== 'default' ? `${namespace.toLowerCase()}.` : '';
  return `${name.toLowerCase()}.service.${ns}nomad`;
}

export function render(ctx) {
  if (ctx.params.name) { renderService(ctx); return; }
  ctx.setTitle('Services');
  const errors = h('div');
  const list = h('div', { id: 'services-table' }, h('p', { class: 'loading' }, 'Loading services…'));
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Services'),
      h('p', { class: 'subtitle' }, 'Services registered with provider = "nomad", and the DNS name clients answer for each (A/AAAA, SRV with the ports). Updates by itself.'))),
    errors, list);
  watch('/v1/services', {
    signal: ctx.signal, query: { namespace: '*' },
    onData(data) {
      fill(errors);
      const rows = [];
      for (const ns of data || []) for (const s of ns.Services || []) rows.push({ ns: ns.Namespace, ...s });
      fill(list, table([
        { label: 'Service', cell: (s) => h('a', { href: uiPath.service(s.ServiceName, s.ns) }, s.ServiceName) },
        { label: 'Namespace', cell: (s) => s.ns },
        { label: 'DNS name', class: 'mono dns-name', cell: (s) => dnsName(s.ns, s.ServiceName) },
        { label: 'Tags', class: 'hide-narrow', cell: (s) => (s.Tags || []).join(', ') || '–' },
      ], rows, { caption: 'Registered services; each tag is also a DNS name, <tag>.<DNS name>',
        empty: 'No services are registered. A task group or task with service { provider = "nomad" } registers one while it runs.' }));
    },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: 'Could not list the services', retryIn })); },
  });
}

function renderService(ctx) {
  const name = ctx.params.name;
  const ns = ctx.query.get('namespace') || 'default';
  ctx.setTitle(`Service ${name}`);
  const errors = h('div');
  const head = h('div', { class: 'card', id: 'service-dns' }, props([
    ['Namespace', ns],
    ['DNS name', h('span', { class: 'mono dns-name' }, dnsName(ns, name))],
    ['Records', 'A/AAAA: the addresses of the instances whose checks pass; SRV: their ports; <tag>.' + dnsName(ns, name) + ': the instances with that tag'],
    ['Ingress', h('a', { href: uiPath.routes('', name), id: 'service-routes-link' }, 'Routes of this service and the instances they send traffic to')],
  ]));
  const regs = h('div', { id: 'service-registrations' }, h('p', { class: 'loading' }, 'Loading registrations…'));
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null,
      h('p', { class: 'note' }, h('a', { href: '/ui/services' }, 'Services')),
      h('h1', null, name))),
    errors, head, section('registrations', 'Registrations', regs));
  watch(`/v1/service/${encodeURIComponent(name)}`, {
    signal: ctx.signal, query: { namespace: ns },
    onData(data) {
      fill(errors);
      fill(regs, table([
        { label: 'Address', class: 'mono', cell: (r) => `${r.Address.includes(':') ? `[${r.Address}]` : r.Address}:${r.Port}` },
        { label: 'Job', cell: (r) => h('a', { href: uiPath.job(r.JobID, r.Namespace) }, r.JobID) },
        { label: 'Allocation', class: 'mono', cell: (r) => h('a', { href: uiPath.alloc(r.AllocID) }, shortId(r.AllocID)) },
        { label: 'Node', class: 'mono hide-narrow', cell: (r) => h('a', { href: uiPath.client(r.NodeID) }, shortId(r.NodeID)) },
        { label: 'Datacenter', class: 'hide-narrow', cell: (r) => r.Datacenter },
        { label: 'Tags', class: 'hide-narrow', cell: (r) => (r.Tags || []).join(', ') || '–' },
        { label: 'DNS', cell: (r) => (r.Failing ? badge('failing', { title: 'left out of DNS: a check fails' }) : badge('healthy')) },
      ], data || [], { caption: `Registrations of ${name} in namespace ${ns}`,
        empty: 'No registrations: no running allocation registers this service now.' }));
    },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: `Could not read service ${name}`, retryIn })); },
  });
}
