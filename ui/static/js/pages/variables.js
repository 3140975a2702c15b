// Variables: the list (paths only, never items), one variable with its
// items masked until asked, and the form that creates or edits one
// (a check-and-set write: a concurrent change is reported, not overwritten).

import { watch, put, del } from '../api.js';
import { h, fill, section, table, timeEl, errorBox, confirmButton, props } from '../dom.js';

const varPath = (p, ns) => `/ui/variables/${p.split('/').map(encodeURIComponent).join('/')}` + (ns && ns !== 'default' ? `?namespace=${encodeURIComponent(ns)}` : '');
const apiPath = (p) => `/v1/var/${p.split('/').map(encodeURIComponent).join('/')}`;

export function render(ctx) {
  if (ctx.params.path) return renderOne(ctx, ctx.params.path);
  ctx.setTitle('Variables');
  const ns = ctx.query.get('namespace') || 'default';
  const list = h('div', null, h('p', { class: 'loading' }, 'Loading variables…'));
  const errors = h('div');
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('h1', null, 'Variables'),
      h('p', { class: 'subtitle' }, `Encrypted key/value items in namespace ${ns}; their values show only on a variable's page.`)),
    errors,
    section('var-list', 'Paths', list),
    section('var-new', 'New variable', editor(ctx, ns, null)));
  watch('/v1/vars', {
    signal: ctx.signal, query: { namespace: ns },
    onData(vars) {
      fill(errors);
      fill(list, table([
        { label: 'Path', cell: (v) => h('a', { href: varPath(v.Path, v.Namespace), class: 'mono' }, v.Path) },
        { label: 'Namespace', cell: (v) => v.Namespace },
        { label: 'Modified', cell: (v) => timeEl(v.ModifyTime) },
        { label: 'Locked', cell: (v) => (v.Lock ? 'yes' : '') },
      ], vars || [], { empty: 'No variables (or none this token may list).' }));
    },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: 'Could not list the variables', retryIn })); },
  });
}

function renderOne(ctx, path) {
  ctx.setTitle(`Variable ${path}`);
  const ns = ctx.query.get('namespace') || 'default';
  const overview = h('div', { class: 'card' }, h('p', { class: 'loading' }, 'Loading variable…'));
  const items = h('div');
  const edit = h('div');
  const errors = h('div');
  let shown = false;
  let current = null;
  const showBtn = h('button', { type: 'button', id: 'var-show', onclick: () => { shown = !shown; draw(); } }, 'Show values');
  const draw = () => {
    if (!current) return;
    showBtn.textContent = shown ? 'Hide values' : 'Show values';
    const keys = Object.keys(current.Items || {}).sort();
    fill(items, table([
      { label: 'Key', cell: (k) => h('span', { class: 'mono' }, k) },
      { label: 'Value', cell: (k) => h('span', { class: 'mono var-value' }, shown ? current.Items[k] : '••••••••') },
    ], keys, { empty: 'No items.' }), h('p', null, showBtn));
  };
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Variable'), h('p', { class: 'subtitle mono' }, path))),
    errors, overview, section('var-items', 'Items', items), section('var-edit', 'Edit', edit));
  watch(apiPath(path), {
    signal: ctx.signal, query: { namespace: ns },
    onData(v) {
      fill(errors);
      const changed = !current || current.ModifyIndex !== v.ModifyIndex;
      current = v;
      fill(overview, props([
        ['Namespace', v.Namespace], ['Check index', String(v.ModifyIndex)],
        ['Created', timeEl(v.CreateTime)], ['Modified', timeEl(v.ModifyTime)],
        v.Lock ? ['Lock', `held (TTL ${v.Lock.TTL})`] : null,
      ]), h('p', null, confirmButton('Delete', 'Really delete?', async () => {
        try {
          await del(apiPath(path), { query: { namespace: ns, cas: String(v.ModifyIndex) } });
          ctx.announce(`Deleted variable ${path}`);
          ctx.navigate('/ui/variables' + (ns !== 'default' ? `?namespace=${encodeURIComponent(ns)}` : ''));
        } catch (err) { fill(errors, errorBox(err, { title: `Could not delete ${path}` })); }
      }, { id: 'var-delete' })));
      draw();
      if (changed) fill(edit, editor(ctx, ns, v));
    },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: `Could not read variable ${path}`, retryIn })); },
  });
}

// editor is the form of a new variable (v null) or of v: a path and
// key=value lines, written with check-and-set.
function editor(ctx, ns, v) {
  const pathInput = h('input', { id: 'var-path', value: v ? v.Path : '', size: 40, required: true, readonly: !!v, autocomplete: 'off' });
  const lines = Object.entries(v?.Items || {}).sort(([a], [b]) => a.localeCompare(b)).map(([k, val]) => `${k}=${val}`).join('\n');
  const itemsInput = h('textarea', { id: 'var-items-input', rows: 6, cols: 60, spellcheck: 'false', autocomplete: 'off' });
  itemsInput.value = lines;
  const result = h('div', { 'aria-live': 'polite' });
  return h('form', { class: 'card', onsubmit: async (e) => {
    e.preventDefault();
    const path = pathInput.value.trim().replace(/^\/+|\/+$/g, '');
    const items = {};
    for (const [i, line] of itemsInput.value.split('\n').entries()) {
      if (!line.trim()) continue;
      const at = line.indexOf('=');
      if (at <= 0) { fill(result, h('div', { class: 'alert error', role: 'alert' }, `Line ${i + 1} is not key=value.`)); return; }
      items[line.slice(0, at).trim()] = line.slice(at + 1);
    }
    try {
      await put(apiPath(path), { Namespace: ns, Path: path, Items: items }, { query: { namespace: ns, cas: String(v ? v.ModifyIndex : 0) } });
      ctx.announce(`Saved variable ${path}`);
      if (!v) ctx.navigate(varPath(path, ns));
      else fill(result, h('div', { class: 'alert ok', role: 'status' }, 'Saved.'));
    } catch (err) {
      fill(result, errorBox(err, { title: err.status === 409
        ? `${path} changed since it was read (or exists already): reload it and edit again`
        : `Could not save ${path}` }));
    }
  } },
  h('label', { class: 'field', for: 'var-path' }, 'Path (e.g. nomad/jobs/web)', pathInput),
  h('label', { class: 'field', for: 'var-items-input' }, 'Items, one key=value per line', itemsInput),
  h('p', null, h('button', { type: 'submit', class: 'primary', id: 'var-save' }, v ? 'Save' : 'Create')),
  result);
}
