// dom.js: a tiny DOM builder and the formatting helpers every page shares.
// Pages build elements with h(); text is always set as text, never parsed as
// HTML, so names and log lines from the API cannot inject markup.

/**
 * h(tag, props, ...children) creates an element. props: class, text, style
 * (object), dataset (object), on<event> handlers, aria-* and other attributes;
 * boolean true sets an empty attribute, false/null/undefined skips it.
 * Children: nodes, strings, numbers, arrays; null/false/undefined are skipped.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' || k === 'checked' || k === 'disabled' || k === 'selected') el[k] = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces el's children. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** An in-app link: the router handles clicks on links under /ui/. */
export function link(href, text, props = {}) {
  return h('a', { href, ...props }, text);
}

export const uiPath = {
  job: (id, ns) => `/ui/jobs/${encodeURIComponent(id)}` + (ns && ns !== 'default' ? `?namespace=${encodeURIComponent(ns)}` : ''),
  alloc: (id) => `/ui/allocations/${encodeURIComponent(id)}`,
  client: (id) => `/ui/clients/${encodeURIComponent(id)}`,
  eval: (id) => `/ui/evaluations/${encodeURIComponent(id)}`,
  service: (name, ns) => `/ui/services/${encodeURIComponent(name)}` + (ns && ns !== 'default' ? `?namespace=${encodeURIComponent(ns)}` : ''),
  // A client's ingress routes, optionally only a service's.
  routes: (node, service) => {
    const q = new URLSearchParams();
    if (node) q.set('node', node);
    if (service) q.set('service', service);
    return `/ui/routes${q.size ? `?${q}` : ''}`;
  },
};

export function shortId(id) { return id ? String(id).slice(0, 8) : ''; }

const STATUS_TONE = {
  running: 'ok', ready: 'ok', complete: 'info', eligible: 'ok', alive: 'ok', healthy: 'ok', leader: 'ok',
  pending: 'warn', starting: 'warn', queued: 'warn', blocked: 'warn', initializing: 'warn', draining: 'warn',
  ineligible: 'warn', disconnected: 'warn', unknown: 'warn',
  failed: 'bad', failing: 'bad', lost: 'bad', down: 'bad', dead: 'idle', canceled: 'idle', stop: 'idle', stopped: 'idle', left: 'idle',
};

/** A status pill; the text is the status itself, so colour is never the only signal. */
export function badge(status, extra) {
  const s = String(status || 'unknown');
  const tone = STATUS_TONE[s.toLowerCase()] || 'idle';
  return h('span', { class: ['badge', tone], ...extra }, s);
}

/** Nomad times: unix nanoseconds (numbers) or RFC 3339 strings. */
export function toDate(t) {
  if (t === undefined || t === null || t === 0 || t === '') return null;
  if (typeof t === 'number') return new Date(t / 1e6);
  const d = new Date(t);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() <= 1) return null; // Go's zero time
  return d;
}

export function timeAgo(t) {
  const d = toDate(t);
  if (!d) return '–';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  if (Math.abs(s) < 5) return 'just now';
  const abs = Math.abs(s);
  const [n, unit] = abs < 60 ? [abs, 's'] : abs < 3600 ? [Math.floor(abs / 60), 'm'] :
    abs < 86400 ? [Math.floor(abs / 3600), 'h'] : [Math.floor(abs / 86400), 'd'];
  return s >= 0 ? `${n}${unit} ago` : `in ${n}${unit}`;
}

/** A <time> element showing a relative time, with the exact time as its title. */
export function timeEl(t) {
  const d = toDate(t);
  if (!d) return h('span', { class: 'note' }, '–');
  return h('time', { datetime: d.toISOString(), title: d.toLocaleString() }, timeAgo(t));
}

export function clock(t) {
  const d = toDate(t);
  return d ? d.toLocaleTimeString([], { hour12: false }) : '–';
}

/** Go durations arrive as nanoseconds. */
export function duration(ns) {
  if (!ns) return '0s';
  const s = ns / 1e9;
  if (s < 1) return `${Math.round(ns / 1e6)}ms`;
  if (s < 60) return `${+s.toFixed(1)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export function mb(n) {
  if (n === undefined || n === null) return '–';
  return n >= 10240 ? `${(n / 1024).toFixed(1)} GiB` : `${n} MiB`;
}
export function mhz(n) {
  if (n === undefined || n === null) return '–';
  return n >= 10000 ? `${(n / 1000).toFixed(1)} GHz` : `${n} MHz`;
}

/** A section with a heading; id lets links and aria-labelledby point at it. */
export function section(id, title, ...children) {
  const hid = `${id}-heading`;
  return h('section', { id, 'aria-labelledby': hid }, h('h2', { id: hid }, title), ...children);
}

/**
 * table(columns, rows, opts): columns are {label, cell: row => node|string,
 * class?}; opts.caption (for screen readers and sighted users), opts.empty
 * (the text of an empty table), opts.after(row) -> optional detail <tr>.
 */
export function table(columns, rows, { caption, empty = 'Nothing to show.', after, rowProps } = {}) {
  const head = h('thead', null, h('tr', null, columns.map((c) => h('th', { scope: 'col', class: c.class }, c.label))));
  const body = h('tbody');
  if (!rows.length) {
    body.append(h('tr', null, h('td', { colspan: columns.length, class: 'empty' }, empty)));
  }
  for (const r of rows) {
    body.append(h('tr', rowProps ? rowProps(r) : null, columns.map((c) => h('td', { class: c.class }, c.cell(r)))));
    const extra = after?.(r);
    if (extra) body.append(extra);
  }
  return h('div', { class: 'table-wrap' },
    h('table', null, caption ? h('caption', null, caption) : null, head, body));
}

/** A definition list of [label, value] pairs; null values are skipped. */
export function props(pairs) {
  return h('dl', { class: 'props' }, pairs.filter((p) => p && p[1] !== null && p[1] !== undefined)
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v === '' ? '–' : v)]));
}

/**
 * errorBox shows a failed call: what failed, the agent's own message, and what
 * to do. It is an alert, so screen readers announce it.
 */
export function errorBox(err, { title = 'Something went wrong', retryIn } = {}) {
  const msg = err?.apiMessage ?? err?.message ?? String(err);
  const where = err?.method ? `${err.method} ${err.path}` : null;
  const status = err?.status ? ` (HTTP ${err.status})` : '';
  return h('div', { class: 'alert error', role: 'alert' },
    h('h3', null, title),
    where ? h('p', null, 'The request ', h('code', null, where), ` failed${status}. The agent says:`) : null,
    h('pre', null, msg),
    retryIn ? h('p', { class: 'what-to-do' }, `Retrying in ${Math.round(retryIn / 1000)}s; the page updates by itself when the agent answers.`) : null);
}

/**
 * refill is fill for live content that holds controls: if the focus was in
 * el, it goes back to the same element if the new content reuses it, else to
 * the new element with the same id, else to fallback (made focusable), so a
 * redraw never drops a keyboard user back to the top of the page.
 */
export function refill(el, fallback, ...children) {
  const active = document.activeElement;
  const had = active && active !== el && el.contains(active) ? active : null;
  fill(el, ...children);
  if (!had) return el;
  const same = el.contains(had) ? had : (had.id ? el.querySelector(`#${CSS.escape(had.id)}`) : null);
  if (same === document.activeElement) return el;
  const target = same || fallback;
  if (!target) return el;
  if (!same && !target.hasAttribute('tabindex')) target.tabIndex = -1;
  target.focus({ preventScroll: true });
  return el;
}

/**
 * Two-step button for destructive actions: the first press arms, the second
 * acts. ariaLabel, if given, names the unarmed button for screen readers (say,
 * with the row it acts on); once armed, the visible confirmLabel is its name.
 */
export function confirmButton(label, confirmLabel, action, { danger = true, id, ariaLabel } = {}) {
  let timer = null;
  const btn = h('button', { type: 'button', class: danger ? 'danger' : '', id, 'aria-label': ariaLabel }, label);
  const reset = () => {
    clearTimeout(timer);
    btn.classList.remove('confirming');
    btn.textContent = label;
    btn.removeAttribute('aria-describedby');
    if (ariaLabel) btn.setAttribute('aria-label', ariaLabel);
  };
  let busy = false;
  btn.addEventListener('click', async () => {
    if (busy) return;
    if (!btn.classList.contains('confirming')) {
      btn.classList.add('confirming');
      btn.textContent = confirmLabel;
      btn.removeAttribute('aria-label');
      timer = setTimeout(reset, 5000);
      return;
    }
    reset();
    // aria-disabled, not disabled: a disabled button drops the keyboard focus.
    busy = true;
    btn.setAttribute('aria-disabled', 'true');
    try { await action(); } finally { busy = false; btn.removeAttribute('aria-disabled'); }
  });
  btn.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== btn) reset(); }, 150));
  return btn;
}

/** Sum of a summary's group counts. */
export function sumGroups(summary) {
  const t = { Queued: 0, Starting: 0, Running: 0, Failed: 0, Complete: 0, Lost: 0, Unknown: 0 };
  for (const g of Object.values(summary?.Summary || {})) {
    for (const k of Object.keys(t)) t[k] += g[k] || 0;
  }
  return t;
}

export function isTerminalAlloc(a) {
  return a.DesiredStatus !== 'run' || ['complete', 'failed', 'lost'].includes(a.ClientStatus);
}

/** Allocated CPU (MHz) and memory (MiB) of one allocation. */
export function allocUsage(a) {
  let cpu = 0; let mem = 0;
  for (const t of Object.values(a?.AllocatedResources?.Tasks || {})) {
    cpu += t.Cpu?.CpuShares || 0;
    mem += t.Memory?.MemoryMB || 0;
  }
  return { cpu, mem };
}

/** A node's schedulable capacity: total minus reserved. */
export function nodeCapacity(n) {
  const r = n.NodeResources || {};
  const res = n.ReservedResources || {};
  return {
    cpu: (r.Cpu?.CpuShares || 0) - (res.Cpu?.CpuShares || 0),
    mem: (r.Memory?.MemoryMB || 0) - (res.Memory?.MemoryMB || 0),
    reservedCpu: res.Cpu?.CpuShares || 0,
    reservedMem: res.Memory?.MemoryMB || 0,
  };
}

/** A labelled usage bar: "used of total" in text, the bar for the eye. */
export function usageBar(kind, used, total, fmt) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  const text = total > 0 ? `${fmt(used)} of ${fmt(total)} (${Math.round(pct)}%)` : `${fmt(used)} (capacity unknown)`;
  return h('div', { class: 'usage' },
    h('span', { class: 'label' }, kind === 'cpu' ? 'CPU' : 'Memory'),
    h('div', { class: ['bar', kind], role: 'img', 'aria-label': `${kind === 'cpu' ? 'CPU' : 'Memory'} allocated: ${text}` },
      h('span', { style: { width: `${pct}%` } })),
    h('span', null, text));
}
