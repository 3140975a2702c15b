// api.js: the only place that talks to the agent. Every call goes to the
// public /v1 HTTP API of the agent that served the page.

const TOKEN_KEY = 'nomadlike.acl-token';

/** An API call that failed: the HTTP status and the agent's own message. */
export class APIError extends Error {
  constructor(status, method, path, message) {
    const where = `${method} ${path}`;
    super(status
      ? `${where} failed with HTTP ${status}: ${message}`
      : `${where} failed: ${message}`);
    this.name = 'APIError';
    this.status = status;
    this.apiMessage = message;
    this.method = method;
    this.path = path;
  }
}

/** The ACL token sent with every request, if one is set (settings page). */
export function token() {
  try { return localStorage.getItem(TOKEN_KEY) || ''; } catch { return ''; }
}

export function setToken(value) {
  try {
    if (value) localStorage.setItem(TOKEN_KEY, value); else localStorage.removeItem(TOKEN_KEY);
  } catch { /* storage disabled: the token lasts for this page only */ }
}

function headers(extra) {
  const h = { ...extra };
  const t = token();
  if (t) h['X-Nomad-Token'] = t;
  return h;
}

/** Builds a /v1 URL from a path and query parameters (undefined ones dropped). */
export function url(path, query) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {})) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  }
  return u.pathname + u.search;
}

/**
 * request sends one API call. It resolves to {data, index}: the decoded JSON
 * (or text) and the X-Nomad-Index header (0 if absent). It rejects with an
 * APIError carrying the agent's message, or with the AbortError of signal.
 */
export async function request(method, path, { query, body, signal } = {}) {
  const target = url(path, query);
  let res;
  try {
    res = await fetch(target, {
      method,
      signal,
      // Writes always declare JSON: the agent refuses a browser's write
      // without it (a foreign page could send a form or text/plain).
      headers: headers(method === 'GET' ? {} : { 'Content-Type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new APIError(0, method, path,
      `the agent at ${location.host} did not answer (${e.message}). Is the agent running? The page retries by itself.`);
  }
  if (!res.ok) {
    let text = '';
    try { text = (await res.text()).trim(); } catch (e) { if (e.name === 'AbortError') throw e; }
    throw new APIError(res.status, method, path, text || res.statusText || 'no message in the reply');
  }
  const index = Number(res.headers.get('X-Nomad-Index') || 0);
  const type = res.headers.get('Content-Type') || '';
  const text = await res.text();
  let data = text;
  if (type.includes('json')) {
    try { data = text.trim() === '' ? null : JSON.parse(text); } catch (e) {
      throw new APIError(res.status, method, path, `the reply is not valid JSON (${e.message})`);
    }
  }
  return { data, index };
}

export const get = (path, opts) => request('GET', path, opts);
export const put = (path, body, opts = {}) => request('PUT', path, { ...opts, body });
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const del = (path, opts) => request('DELETE', path, opts);

/** Resolves after ms, or rejects with an AbortError as soon as signal aborts. */
export function pause(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(signal.reason); return; }
    const t = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    function onAbort() { clearTimeout(t); reject(signal.reason); }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** How long one blocking query may wait on the server before it returns unchanged. */
export const BLOCKING_WAIT = '60s';

/**
 * whenVisible resolves once the tab is visible (at once if it is), or rejects
 * when signal aborts.
 */
export function whenVisible(signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return; }
    if (!document.hidden) { resolve(); return; }
    const onChange = () => { if (!document.hidden) { cleanup(); resolve(); } };
    const onAbort = () => { cleanup(); reject(signal.reason); };
    function cleanup() {
      document.removeEventListener('visibilitychange', onChange);
      signal.removeEventListener('abort', onAbort);
    }
    document.addEventListener('visibilitychange', onChange);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * watch keeps a view of path current with blocking queries: it asks with
 * ?index=<last X-Nomad-Index>&wait=…, so the server answers only when the
 * data changed (or the wait ended). It calls onData(data, index) on every
 * new index and onError(err, retryInMs) when a call fails; it retries with a
 * growing delay and calls onData again once the API answers. It ends when
 * signal aborts. It never polls faster than the server blocks.
 *
 * A browser opens at most 6 HTTP/1.1 connections to the agent, and every
 * blocking query holds one, so: each page keeps at most two watches open, and
 * a hidden tab lets go of its watches until it is visible again (then it asks
 * with the last index, so it catches up at once).
 */
export async function watch(path, { signal, query = {}, onData, onError }) {
  let index = 0;
  let failures = 0;
  while (!signal.aborted) {
    const hidden = new AbortController();
    const onHide = () => { if (document.hidden) hidden.abort(new DOMException('the tab is hidden', 'AbortError')); };
    try {
      await whenVisible(signal);
      document.addEventListener('visibilitychange', onHide);
      const q = index > 0 ? { ...query, index, wait: BLOCKING_WAIT } : query;
      const res = await get(path, { query: q, signal: AbortSignal.any([signal, hidden.signal]) });
      const recovered = failures > 0;
      failures = 0;
      const changed = res.index !== index || index === 0 || recovered;
      // An index that goes backwards (a restored snapshot) restarts the watch.
      index = res.index < index ? 0 : res.index;
      if (changed) onData(res.data, res.index);
      if (res.index === 0) {
        // An endpoint without blocking support: do not spin on it.
        await pause(15000, signal);
      }
    } catch (e) {
      if (signal.aborted) return;
      if (hidden.signal.aborted) continue; // paused while hidden; resumes when visible
      if (e.name === 'AbortError') return;
      failures++;
      const delay = Math.min(30000, 1000 * 2 ** Math.min(failures - 1, 5));
      onError?.(e, delay);
      try { await pause(delay, signal); } catch { return; }
    } finally {
      document.removeEventListener('visibilitychange', onHide);
    }
  }
}

/**
 * Coalesce runs fn now and, if called again while fn runs, once more after
 * it finishes: a burst of triggers costs at most two calls.
 */
export function coalesce(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) { again = true; return running; }
    running = (async () => {
      try {
        do { again = false; await fn(); } while (again);
      } finally { running = null; }
    })();
    return running;
  };
  return run;
}
