// The Run page: edit HCL, Plan (server-side parse, then a scheduler dry run:
// the diff against the running version, the placements and the failures
// explained; or the parse error at its file:line:col), Run (register), then
// follow the evaluation to placements or the explained failure, live.

import { put, get, watch } from '../api.js';
import { h, fill, badge, table, props, section, uiPath, shortId, errorBox, mb, mhz, timeEl } from '../dom.js';
import { explainFailedGroups, eventMessage } from '../explain.js';
import { planView } from '../planview.js';

const DRAFT_KEY = 'nomadlike.run-draft';

const EXAMPLE = `job "example" {
  datacenters = ["*"]
  type        = "service"

  group "app" {
    count = 1

    task "hello" {
      driver = "raw_exec"

      config {
        command = "/bin/sh"
        args    = ["-c", "while true; do echo hello from $NOMAD_ALLOC_ID; sleep 5; done"]
      }

      resources {
        cpu    = 100
        memory = 64
      }
    }
  }
}
`;

export function render(ctx) {
  ctx.setTitle('Run a job');
  let draft = '';
  try { draft = sessionStorage.getItem(DRAFT_KEY) || ''; } catch { /* storage disabled */ }
  const editor = h('textarea', { id: 'job-hcl', class: 'code', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    'aria-describedby': 'job-hcl-help', value: draft || EXAMPLE });
  const planBtn = h('button', { type: 'button', id: 'job-plan' }, 'Plan');
  const runBtn = h('button', { type: 'button', class: 'primary', id: 'job-run' }, 'Run');
  const planOut = h('div', { id: 'plan-result', 'aria-live': 'polite' });
  const runOut = h('div', { id: 'run-result' });
  let follow = null; // AbortController of the evaluation being followed
  let plannedText = null; // the editor's text the plan on screen is of

  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Run a job'),
      h('p', { class: 'subtitle' }, 'Paste or edit a job spec in HCL. Plan shows what it declares; Run submits it and follows it until it runs or says why not.'))),
    h('label', { for: 'job-hcl' }, h('strong', null, 'Job specification (HCL)')),
    editor,
    h('p', { class: 'note', id: 'job-hcl-help' }, 'Ctrl+Enter plans. The draft is kept for this browser tab. The job is parsed by the agent (PUT /v1/jobs/parse), exactly as the CLI does.'),
    h('div', { class: 'actions' }, planBtn, runBtn),
    planOut, runOut);

  editor.addEventListener('input', () => { try { sessionStorage.setItem(DRAFT_KEY, editor.value); } catch { /* ignore */ } });
  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); plan(); }
  });
  planBtn.addEventListener('click', () => plan());
  runBtn.addEventListener('click', () => run());

  async function parse() {
    const { data } = await put('/v1/jobs/parse', { JobHCL: editor.value, Canonicalize: true }, { signal: ctx.signal });
    return data;
  }

  async function plan() {
    fill(planOut, h('p', { class: 'note' }, 'Parsing…'));
    try {
      const text = editor.value;
      const job = await parse();
      plannedText = text;
      const dry = h('div', { id: 'plan-dry-run-box' }, h('p', { class: 'note' }, 'Asking the scheduler for a dry run…'));
      showPlan(job, dry);
      ctx.announce(`Parsed job ${job.ID}; planning`);
      try {
        const { data } = await put(`/v1/job/${encodeURIComponent(job.ID)}/plan`, { Job: job, Diff: true },
          { query: { namespace: job.Namespace || 'default' }, signal: ctx.signal });
        fill(dry, planView(data, job.Type));
        ctx.announce(Object.keys(data?.FailedTGAllocs || {}).length
          ? `Plan of job ${job.ID}: some allocations could not be placed` : `Plan of job ${job.ID}: all tasks can be placed`);
      } catch (e) {
        if (e.name === 'AbortError') return null;
        fill(dry, errorBox(e, { title: 'The scheduler dry run failed (the job parses; Run may still work)' }));
      }
      return job;
    } catch (e) {
      if (e.name === 'AbortError') return null;
      showParseError(e);
      return null;
    }
  }

  function showPlan(job, dry) {
    const tasks = [];
    for (const g of job.TaskGroups || []) for (const t of g.Tasks || []) tasks.push({ g, t });
    fill(planOut, h('div', { class: 'card', id: 'plan-ok' },
      h('h2', null, `Job "${job.ID}" parses`),
      props([['Type', job.Type], ['Namespace', job.Namespace || 'default'], ['Priority', String(job.Priority)],
        ['Datacenters', (job.Datacenters || []).join(', ')], ['Node pool', job.NodePool || 'default']]),
      table([
        { label: 'Group', cell: (r) => r.g.Name },
        { label: 'Count', class: 'num', cell: (r) => String(r.g.Count) },
        { label: 'Task', cell: (r) => r.t.Name },
        { label: 'Driver', cell: (r) => r.t.Driver },
        { label: 'CPU', class: 'num', cell: (r) => mhz(r.t.Resources?.CPU) },
        { label: 'Memory', class: 'num', cell: (r) => mb(r.t.Resources?.MemoryMB) },
        { label: 'Command', class: 'hide-narrow', cell: (r) => h('code', null, [r.t.Config?.command, ...(r.t.Config?.args || [])].filter(Boolean).join(' ') || r.t.Config?.image || '') },
      ], tasks, { caption: 'The tasks this job declares', empty: 'The job declares no tasks.' }),
      dry));
  }

  function showParseError(e) {
    const msg = e.apiMessage || e.message;
    // jobspec errors name "input.hcl:LINE:COL: message", one per line.
    const locs = [...msg.matchAll(/input\.hcl:(\d+):(\d+)/g)].map((m) => ({ line: +m[1], col: +m[2] }));
    const lines = editor.value.split('\n');
    fill(planOut, h('div', { class: 'alert error', role: 'alert', id: 'plan-error' },
      h('h2', null, e.status === 400 ? 'The job spec does not parse' : 'Parsing failed'),
      h('pre', null, msg),
      locs.slice(0, 3).map((l) => h('div', null,
        h('pre', { class: 'snippet', 'aria-label': `line ${l.line} of the job spec` },
          `${String(l.line).padStart(4)} | ${lines[l.line - 1] ?? ''}\n       ${' '.repeat(Math.max(0, l.col - 1))}^`),
        h('button', { type: 'button', onclick: () => goTo(l) }, `Go to line ${l.line}, column ${l.col}`)))));
  }

  function goTo({ line, col }) {
    const lines = editor.value.split('\n');
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    pos += col - 1;
    editor.focus();
    editor.setSelectionRange(pos, pos + 1);
    const lineHeight = parseFloat(getComputedStyle(editor).lineHeight) || 18;
    editor.scrollTop = Math.max(0, (line - 5) * lineHeight);
  }

  async function run() {
    runBtn.disabled = true;
    try {
      // Run parses again (the editor may have changed since Plan) but does
      // not dry-run: the shown plan, if any, stays on screen.
      let job;
      try {
        job = await parse();
      } catch (e) {
        if (e.name !== 'AbortError') showParseError(e);
        return;
      }
      if (editor.value !== plannedText) fill(planOut); // a plan of other text would mislead
      fill(runOut, h('p', { class: 'note' }, `Submitting job "${job.ID}"…`));
      let res;
      try {
        res = await put('/v1/jobs', { Job: job }, { signal: ctx.signal });
      } catch (e) {
        if (e.name !== 'AbortError') fill(runOut, errorBox(e, { title: `The agent refused job "${job.ID}"` }));
        return;
      }
      followEval(job, res.data);
    } finally {
      runBtn.disabled = false;
    }
  }

  function followEval(job, reg) {
    follow?.abort();
    follow = new AbortController();
    const signal = AbortSignal.any([ctx.signal, follow.signal]);
    const evalStatus = h('div', { id: 'run-eval', 'aria-live': 'polite' });
    const explain = h('div', { id: 'run-failures' });
    const placements = h('div', { id: 'run-placements' }, h('p', { class: 'note' }, 'Waiting for the scheduler…'));
    const taskFailures = h('div', { id: 'run-task-failures' });
    fill(runOut, section('run-status', `Job "${job.ID}" submitted`,
      h('p', null, 'Follow it on its ', h('a', { href: uiPath.job(job.ID, job.Namespace), id: 'run-job-link' }, 'job page'),
        reg.Warnings ? ` (warnings: ${reg.Warnings})` : '', '.'),
      evalStatus, explain, placements, taskFailures));
    if (!reg.EvalID) {
      fill(evalStatus, h('p', null, 'The agent created no evaluation (the job did not change), so nothing new is scheduled.'));
      fill(placements);
      return;
    }
    const shownFailures = new Set();
    let evalDone = false;
    let lastPlacements = null;
    watch(`/v1/evaluation/${encodeURIComponent(reg.EvalID)}`, {
      signal,
      query: { related: 'true' },
      onData(ev) {
        fill(evalStatus, h('p', null, 'Evaluation ', h('a', { href: uiPath.eval(ev.ID), class: 'mono' }, shortId(ev.ID)), ' ',
          badge(ev.Status), ev.StatusDescription ? ` ${ev.StatusDescription}` : ''));
        evalDone = ev.Status !== 'pending';
        drawPlacements();
        const failed = ev.FailedTGAllocs || {};
        if (Object.keys(failed).length) {
          fill(explain, h('div', { class: 'alert warn', role: 'alert' },
            h('h3', null, 'Some allocations could not be placed'),
            explainFailedGroups(failed),
            ev.BlockedEval ? h('p', { class: 'note' }, `Evaluation ${shortId(ev.BlockedEval)} is blocked: they are placed as soon as a node can take them.`) : null));
        }
        if (ev.Status === 'failed') {
          fill(explain, h('div', { class: 'alert error', role: 'alert' }, h('h3', null, 'The evaluation failed'), h('p', null, ev.StatusDescription || 'no reason recorded')));
        }
      },
      onError(err, retryIn) { fill(evalStatus, errorBox(err, { title: 'Could not follow the evaluation', retryIn })); },
    });
    watch(`/v1/evaluation/${encodeURIComponent(reg.EvalID)}/allocations`, {
      signal,
      onData(list) {
        list = list || [];
        lastPlacements = list;
        drawPlacements();
        const running = list.filter((a) => a.ClientStatus === 'running').length;
        if (list.length) ctx.announce(`${running} of ${list.length} allocations running`);
        for (const a of list) {
          if (a.ClientStatus === 'failed' && !shownFailures.has(a.ID)) {
            shownFailures.add(a.ID);
            explainTaskFailure(a, taskFailures, signal);
          }
        }
      },
      onError(err, retryIn) { fill(placements, errorBox(err, { title: 'Could not list the placements', retryIn })); },
    });

    function drawPlacements() {
      if (!lastPlacements) return;
      fill(placements, table([
        { label: 'Allocation', cell: (a) => h('a', { href: uiPath.alloc(a.ID), class: 'mono' }, shortId(a.ID)) },
        { label: 'Name', cell: (a) => a.Name },
        { label: 'Client', cell: (a) => h('a', { href: uiPath.client(a.NodeID) }, a.NodeName || shortId(a.NodeID)) },
        { label: 'Status', cell: (a) => badge(a.ClientStatus, { dataset: { alloc: a.ID } }) },
        { label: 'Created', class: 'hide-narrow', cell: (a) => timeEl(a.CreateTime) },
      ], lastPlacements, { caption: 'Placements of this evaluation (live)',
        empty: evalDone ? 'The evaluation placed no allocations.' : 'No allocations placed yet: the scheduler is working.' }));
    }
  }
}

/** Shows why a failed allocation's tasks failed: last events and stderr tail. */
async function explainTaskFailure(stub, into, signal) {
  const box = h('div', { class: 'alert error', role: 'alert' }, h('h3', null, `Allocation ${shortId(stub.ID)} failed`));
  into.append(box);
  for (const [name, ts] of Object.entries(stub.TaskStates || {})) {
    if (!ts.Failed) continue;
    const events = (ts.Events || []).slice(-3);
    box.append(h('p', null, h('strong', null, `Task "${name}": `), events.map((e) => `${e.Type}: ${eventMessage(e)}`).join(' → ') || 'no events'));
    try {
      const { data } = await get(`/v1/client/fs/logs/${encodeURIComponent(stub.ID)}`,
        { query: { task: name, type: 'stderr', origin: 'end', offset: 2048, plain: 'true' }, signal });
      const tail = String(data || '').trim().split('\n').slice(-10).join('\n');
      box.append(tail ? h('div', null, h('p', null, 'Last lines of its stderr:'), h('pre', null, tail)) : h('p', { class: 'note' }, 'Its stderr is empty.'));
    } catch (e) {
      if (e.name !== 'AbortError') box.append(h('p', { class: 'note' }, `Its stderr could not be read: ${e.message}`));
    }
  }
  box.append(h('p', null, h('a', { href: uiPath.alloc(stub.ID) }, 'Open the allocation'), ' for every event and the full logs.'));
}
