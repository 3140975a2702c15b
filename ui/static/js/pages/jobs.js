// The jobs list: every job in every namespace with its group counts, live.

import { get, watch } from '../api.js';
import { h, fill, badge, table, sumGroups, timeEl, uiPath, errorBox } from '../dom.js';

const COUNTS = ['Queued', 'Starting', 'Running', 'Failed', 'Complete', 'Lost'];

export function render(ctx) {
  ctx.setTitle('Jobs');
  const q = ctx.query;
  const search = h('input', { type: 'search', id: 'job-search', value: q.get('q') || '', placeholder: 'name, ID or namespace', autocomplete: 'off' });
  const statusSel = select('job-status-filter', ['', 'pending', 'running', 'dead'], q.get('status') || '', 'any status');
  const typeSel = select('job-type-filter', ['', 'service', 'batch', 'system', 'sysbatch'], q.get('type') || '', 'any type');
  // The namespace selector: "*" lists every namespace the token may read.
  const namespace = q.get('namespace') || '*';
  const nsSel = select('namespace-select', [namespace], namespace, 'all namespaces');
  nsSel.firstChild.textContent = namespace === '*' ? 'all namespaces' : namespace;
  get('/v1/namespaces', { signal: ctx.signal }).then(({ data }) => {
    const names = ['*', ...(data || []).map((n) => n.Name)];
    if (!names.includes(namespace)) names.push(namespace);
    fill(nsSel, names.map((n) => h('option', { value: n, selected: n === namespace }, n === '*' ? 'all namespaces' : n)));
  }).catch(() => { /* the list stays as it is: the jobs request reports the error */ });
  const count = h('p', { class: 'note', 'aria-live': 'polite', id: 'jobs-count' });
  const errors = h('div');
  const list = h('div', { id: 'jobs-table' }, h('p', { class: 'loading' }, 'Loading jobs…'));
  let jobs = null;

  fill(ctx.main,
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, 'Jobs'), h('p', { class: 'subtitle' }, 'Every job in every namespace. The list updates by itself.')),
      h('div', { class: 'actions' }, h('a', { class: 'button', href: '/ui/run' }, 'Run a job'))),
    h('form', { class: 'toolbar', role: 'search', 'aria-label': 'Filter jobs', onsubmit: (e) => e.preventDefault() },
      h('label', { class: 'field', for: 'namespace-select' }, 'Namespace', nsSel),
      h('label', { class: 'field', for: 'job-search' }, 'Search', search),
      h('label', { class: 'field', for: 'job-status-filter' }, 'Status', statusSel),
      h('label', { class: 'field', for: 'job-type-filter' }, 'Type', typeSel)),
    errors, count, list);

  const update = () => {
    const p = new URLSearchParams();
    if (search.value) p.set('q', search.value);
    if (statusSel.value) p.set('status', statusSel.value);
    if (typeSel.value) p.set('type', typeSel.value);
    if (nsSel.value && nsSel.value !== '*') p.set('namespace', nsSel.value);
    const qs = p.toString();
    history.replaceState(null, '', location.pathname + (qs ? `?${qs}` : ''));
    draw();
  };
  search.addEventListener('input', update);
  statusSel.addEventListener('change', update);
  typeSel.addEventListener('change', update);
  // Another namespace is another query: render the page again for it.
  nsSel.addEventListener('change', () => { update(); ctx.navigate(location.pathname + location.search, { replace: true }); });

  function draw() {
    if (!jobs) return;
    const needle = search.value.trim().toLowerCase();
    const shown = jobs.filter((j) =>
      (!needle || [j.ID, j.Name, j.Namespace].some((s) => String(s || '').toLowerCase().includes(needle))) &&
      (!statusSel.value || j.Status === statusSel.value) &&
      (!typeSel.value || j.Type === typeSel.value));
    count.textContent = shown.length === jobs.length ? `${jobs.length} job${jobs.length === 1 ? '' : 's'}`
      : `${shown.length} of ${jobs.length} jobs match the filter`;
    const columns = [
      { label: 'Job', cell: (j) => h('a', { href: uiPath.job(j.ID, j.Namespace) }, j.ID) },
      { label: 'Namespace', class: 'hide-narrow', cell: (j) => j.Namespace || 'default' },
      { label: 'Status', cell: (j) => [badge(j.Status), j.Stop ? h('span', { class: 'note' }, ' stopped') : null] },
      { label: 'Type', cell: (j) => j.Type },
      { label: 'Priority', class: 'num hide-narrow', cell: (j) => String(j.Priority) },
      ...COUNTS.map((k) => ({ label: k, class: ['Running', 'Failed'].includes(k) ? 'num' : 'num hide-narrow', cell: (j) => String(sumGroups(j.JobSummary)[k]) })),
      { label: 'Submitted', class: 'hide-narrow', cell: (j) => timeEl(j.SubmitTime) },
    ];
    const empty = jobs.length ? 'No job matches the filter.' : 'No jobs yet. Run one from the "Run a job" page.';
    fill(list, table(columns, shown, { caption: 'Jobs with their allocation counts summed over task groups', empty,
      rowProps: (j) => ({ dataset: { job: j.ID } }) }));
  }

  watch('/v1/jobs', {
    signal: ctx.signal,
    query: { namespace },
    onData(data) {
      fill(errors);
      jobs = data || [];
      draw();
      if (!performance.getEntriesByName('nomadlike:first-data').length) performance.mark('nomadlike:first-data');
    },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: 'Could not list the jobs', retryIn })); },
  });
}

function select(id, values, current, anyLabel) {
  return h('select', { id }, values.map((v) => h('option', { value: v, selected: v === current }, v || anyLabel)));
}
