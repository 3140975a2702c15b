// app.js: the router. Paths under /ui/ map to one page module each; a page
// gets a context with an AbortSignal that aborts when the user leaves it, so
// its blocking queries and log streams end with the view.

import { h, fill } from './dom.js';
import * as jobs from './pages/jobs.js';
import * as job from './pages/job.js';
import * as run from './pages/run.js';
import * as alloc from './pages/alloc.js';
import * as evaluation from './pages/eval.js';
import * as clients from './pages/clients.js';
import * as client from './pages/client.js';
import * as topology from './pages/topology.js';
import * as servers from './pages/servers.js';
import * as settings from './pages/settings.js';
import * as activity from './pages/activity.js';
import * as variables from './pages/variables.js';
import * as ingressRoutes from './pages/routes.js';
import * as services from './pages/services.js';

const routes = [
  { re: /^\/ui\/?$/, page: jobs, section: 'jobs' },
  { re: /^\/ui\/jobs\/?$/, page: jobs, section: 'jobs' },
  { re: /^\/ui\/jobs\/(.+)$/, page: job, section: 'jobs', params: ['id'] },
  { re: /^\/ui\/run\/?$/, page: run, section: 'run' },
  { re: /^\/ui\/allocations\/([^/]+)$/, page: alloc, section: 'jobs', params: ['id'] },
  { re: /^\/ui\/evaluations\/([^/]+)$/, page: evaluation, section: 'jobs', params: ['id'] },
  { re: /^\/ui\/clients\/?$/, page: clients, section: 'clients' },
  { re: /^\/ui\/clients\/([^/]+)$/, page: client, section: 'clients', params: ['id'] },
  { re: /^\/ui\/topology\/?$/, page: topology, section: 'topology' },
  { re: /^\/ui\/servers\/?$/, page: servers, section: 'servers' },
  { re: /^\/ui\/activity\/?$/, page: activity, section: 'activity' },
  { re: /^\/ui\/variables\/?$/, page: variables, section: 'variables' },
  { re: /^\/ui\/variables\/(.+)$/, page: variables, section: 'variables', params: ['path'] },
  { re: /^\/ui\/services\/?$/, page: services, section: 'services' },
  { re: /^\/ui\/services\/([^/]+)$/, page: services, section: 'services', params: ['name'] },
  { re: /^\/ui\/routes\/?$/, page: ingressRoutes, section: 'routes' },
  { re: /^\/ui\/settings\/?$/, page: settings, section: 'settings' },
  { re: /^\/ui\/login\/?$/, page: settings, section: 'settings' },
];

const main = document.getElementById('main');
const announcer = document.getElementById('announcer');
let current = null; // the AbortController of the page on screen

/** announce speaks a short status change to screen readers. */
export function announce(text) {
  announcer.textContent = '';
  // A new text node after clearing makes screen readers repeat identical messages.
  requestAnimationFrame(() => { announcer.textContent = text; });
}

/** navigate shows path without reloading the page. */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path); else history.pushState(null, '', path);
  render({ focus: true });
}

function match(pathname) {
  for (const r of routes) {
    const m = pathname.match(r.re);
    if (m) {
      const params = {};
      (r.params || []).forEach((name, i) => { params[name] = decodeURIComponent(m[i + 1]); });
      return { ...r, params };
    }
  }
  return null;
}

function render({ focus }) {
  current?.abort(new DOMException('left the page', 'AbortError'));
  const controller = new AbortController();
  current = controller;
  const started = performance.now();
  const route = match(location.pathname);
  for (const a of document.querySelectorAll('.topbar nav a')) {
    if (route && a.dataset.section === route.section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  fill(main);
  const ctx = {
    main,
    params: route?.params || {},
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    navigate,
    announce,
    setTitle(title) { document.title = `${title} · nomadlike`; },
  };
  if (!route) {
    ctx.setTitle('Not found');
    fill(main, h('h1', { tabindex: '-1' }, 'Page not found'),
      h('p', null, `There is no UI page at ${location.pathname}. `, h('a', { href: '/ui/jobs' }, 'Go to the jobs list'), '.'));
  } else {
    try {
      route.page.render(ctx);
    } catch (e) {
      // A bug in a page must still leave a message, never a blank page.
      console.error(e);
      fill(main, h('div', { class: 'alert error', role: 'alert' },
        h('h1', null, 'This page failed to render'),
        h('pre', null, String(e?.stack || e)),
        h('p', null, 'This is a bug in the UI; the API is unaffected. Please report it with the text above.')));
    }
  }
  document.documentElement.dataset.renderMs = String(Math.round(performance.now() - started));
  if (focus) {
    const heading = main.querySelector('h1');
    if (heading) { heading.tabIndex = -1; heading.focus({ preventScroll: false }); }
    announce(document.title.replace(' · nomadlike', ''));
  }
}

// In-app links: plain clicks on same-origin /ui/ links navigate without a reload.
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const u = new URL(a.href, location.href);
  if (u.origin !== location.origin || !u.pathname.startsWith('/ui/')) return;
  if (u.pathname === location.pathname && u.search === location.search && u.hash) return; // in-page anchor
  e.preventDefault();
  navigate(u.pathname + u.search);
});

window.addEventListener('popstate', () => render({ focus: true }));

// Leaving the document (a reload, a link outside the app, the back/forward
// cache) must end the page's blocking queries at once: each holds one of the
// browser's few connections to the agent.
window.addEventListener('pagehide', () => current?.abort(new DOMException('left the document', 'AbortError')));
window.addEventListener('pageshow', (e) => { if (e.persisted) render({ focus: false }); });

// Uncaught promise errors in a page become visible, not silent.
window.addEventListener('unhandledrejection', (e) => {
  if (e.reason?.name === 'AbortError') { e.preventDefault(); return; }
  console.error(e.reason);
  main.prepend(h('div', { class: 'alert error', role: 'alert' },
    h('strong', null, 'Unexpected error: '), String(e.reason?.message || e.reason)));
});

if (location.pathname === '/ui/' || location.pathname === '/ui') history.replaceState(null, '', '/ui/jobs' + location.search);
render({ focus: false });
document.documentElement.dataset.ready = 'true';
