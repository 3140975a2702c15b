// diff.js: a job diff (Nomad's JobDiff, from job plan and the versions
// endpoint) rendered as `nomadlike job plan` prints it (port of
// formatJobDiff in command/job_plan.go; keep the two in step), one line per
// element. The markers (+, -, +/-) are text, so colour is never the only signal.

import { h } from './dom.js';

const MARKER = { Added: '+', Deleted: '-', Edited: '+/-' };

const marker = (t) => MARKER[t] || '';
const prefix = (t) => (marker(t) ? `${marker(t)} ` : '');
const q = (s) => JSON.stringify(String(s ?? ''));

/**
 * diffLines turns a JobDiff into [{text, type}] lines; verbose shows
 * unchanged groups and tasks too.
 */
export function diffLines(d, { verbose = false } = {}) {
  const out = [];
  if (!d) return out;
  out.push({ text: `${prefix(d.Type)}Job: ${q(d.ID)}`, type: d.Type });
  if (d.Type === 'Edited' || verbose) fieldsAndObjects(out, d.Fields, d.Objects, '');
  for (const tg of d.TaskGroups || []) {
    const updates = Object.keys(tg.Updates || {}).sort();
    if (tg.Type === 'None' && !verbose && !updates.length) continue;
    let line = `${prefix(tg.Type)}Task Group: ${q(tg.Name)}`;
    if (updates.length) line += ` (${updates.map((k) => `${tg.Updates[k]} ${k}`).join(', ')})`;
    out.push({ text: line, type: tg.Type });
    fieldsAndObjects(out, tg.Fields, tg.Objects, '  ');
    for (const t of tg.Tasks || []) {
      if (t.Type === 'None' && !verbose) continue;
      let tl = `  ${prefix(t.Type)}Task: ${q(t.Name)}`;
      if ((t.Annotations || []).length) tl += ` (${t.Annotations.join(', ')})`;
      out.push({ text: tl, type: t.Type });
      fieldsAndObjects(out, t.Fields, t.Objects, '    ');
    }
  }
  return out;
}

function fieldsAndObjects(out, fields, objects, indent) {
  fields = fields || []; objects = objects || [];
  let width = 0; let nameWidth = 0;
  for (const f of fields) { width = Math.max(width, marker(f.Type).length); nameWidth = Math.max(nameWidth, f.Name.length); }
  for (const o of objects) width = Math.max(width, marker(o.Type).length);
  const pad = (t) => (width ? `${marker(t).padEnd(width)} ` : '');
  for (const f of fields) out.push({ text: `${indent}${pad(f.Type)}${field(f, nameWidth)}`, type: f.Type });
  for (const o of objects) {
    out.push({ text: `${indent}${pad(o.Type)}${o.Name} {`, type: o.Type });
    fieldsAndObjects(out, o.Fields, o.Objects, `${indent}  `);
    out.push({ text: `${indent}${' '.repeat(Math.max(pad(o.Type).length, 2))}}`, type: o.Type });
  }
}

function field(f, nameWidth) {
  const name = `${f.Name}:`.padEnd(nameWidth + 1);
  let s;
  switch (f.Type) {
    case 'Added': s = `${name} ${q(f.New)}`; break;
    case 'Deleted': s = `${name} ${q(f.Old)}`; break;
    case 'Edited': s = `${name} ${q(f.Old)} => ${q(f.New)}`; break;
    default: s = `${name} ${q(f.New)}`;
  }
  if ((f.Annotations || []).length) s += ` (${f.Annotations.join(', ')})`;
  return s;
}

/** Whether a diff changes anything at all. */
export function diffChanges(d) {
  return !!d && (d.Type !== 'None' || (d.TaskGroups || []).some((tg) => tg.Type !== 'None' || Object.keys(tg.Updates || {}).length));
}

/**
 * diffView renders a JobDiff as a focusable <pre> (it scrolls sideways on a
 * phone), each line coloured by its change.
 */
export function diffView(d, { label = 'Job diff', verbose = false, id } = {}) {
  const lines = diffLines(d, { verbose });
  return h('pre', { class: 'diff', id, tabindex: '0', role: 'region', 'aria-label': label },
    lines.map((l) => h('span', { class: ['diff-line', `diff-${String(l.type || 'None').toLowerCase()}`] }, l.text, '\n')));
}
