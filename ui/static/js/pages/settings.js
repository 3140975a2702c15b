// Settings: the ACL token the UI sends as X-Nomad-Token.

import { get, token, setToken } from '../api.js';
import { h, fill, errorBox } from '../dom.js';

export function render(ctx) {
  ctx.setTitle('Settings');
  const input = h('input', { type: 'password', id: 'acl-token', value: token(), autocomplete: 'off', size: 40 });
  const result = h('div', { 'aria-live': 'polite' });
  fill(ctx.main,
    h('h1', null, 'Settings'),
    h('form', { class: 'card', onsubmit: async (e) => {
      e.preventDefault();
      setToken(input.value.trim());
      try {
        await get('/v1/agent/self', { signal: ctx.signal });
        fill(result, h('div', { class: 'alert ok', role: 'status' }, input.value ? 'Token saved; the agent accepts it.' : 'Token cleared.'));
      } catch (err) {
        if (err.name !== 'AbortError') fill(result, errorBox(err, { title: 'Token saved, but the agent refused a request with it' }));
      }
    } },
    h('label', { class: 'field', for: 'acl-token' }, 'ACL token (sent as X-Nomad-Token; kept in this browser only)', input),
    h('p', null, h('button', { type: 'submit', class: 'primary' }, 'Save'))),
    result);
}
