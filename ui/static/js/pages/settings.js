// Settings and login: the ACL token the UI sends as X-Nomad-Token, kept in
// this browser's localStorage, and who the agent says it is.

import { get, token, setToken } from '../api.js';
import { h, fill, errorBox } from '../dom.js';

export function render(ctx) {
  ctx.setTitle(location.pathname.startsWith('/ui/login') ? 'Sign in' : 'Settings');
  const input = h('input', { type: 'password', id: 'acl-token', value: token(), autocomplete: 'off', size: 40 });
  const result = h('div', { 'aria-live': 'polite' });
  const identity = h('p', { id: 'token-identity', class: 'note' });
  fill(ctx.main,
    h('h1', null, location.pathname.startsWith('/ui/login') ? 'Sign in' : 'Settings'),
    h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      setToken(input.value.trim());
      try {
        await showIdentity(identity, ctx.signal);
        fill(result, h('div', { class: 'alert ok', role: 'status' }, input.value ? 'Token saved; the agent accepts it.' : 'Token cleared.'));
      } catch (err) {
        if (err.name !== 'AbortError') fill(result, errorBox(err, { title: 'Token saved, but the agent refused a request with it' }));
      }
    } },
    h('label', { class: 'field', for: 'acl-token' }, 'ACL token secret (sent as X-Nomad-Token; kept in this browser only)', input),
    h('p', null, h('button', { type: 'submit', class: 'primary' }, 'Save'))),
    identity, result);
  showIdentity(identity, ctx.signal).catch(() => { /* shown when the token is saved */ });
}

// showIdentity says which token the UI uses: its name and type, the
// anonymous policy without one, or that the cluster has ACLs disabled.
async function showIdentity(el, signal) {
  try {
    const { data } = await get('/v1/acl/token/self', { signal });
    el.textContent = data.AccessorID === 'anonymous'
      ? 'No token: requests use the anonymous policy.'
      : `Signed in as "${data.Name || data.AccessorID}" (${data.Type} token, accessor ${data.AccessorID}).`;
  } catch (err) {
    if (err.status === 400 && /ACL support disabled/.test(err.apiMessage || '')) {
      el.textContent = 'ACLs are disabled on this cluster: no token is needed.';
      return;
    }
    el.textContent = '';
    throw err;
  }
}
