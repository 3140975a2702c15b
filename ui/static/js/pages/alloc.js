// The allocation page: status, task states with an events timeline, live
// resource usage, live logs (stdout/stderr through the plain log stream),
// restart and stop.

import { watch, put, url, token, pause } from '../api.js';
import {
  h, fill, badge, props, section, timeEl, clock, uiPath, shortId, errorBox, confirmButton, isTerminalAlloc, mb, mhz,
} from '../dom.js';
import { eventMessage } from '../explain.js';
import { followStats } from '../stats.js';

const MAX_LOG_CHARS = 512 * 1024;
const TAIL_BYTES = 64 * 1024;

export function render(ctx) {
  const id = ctx.params.id;
  ctx.setTitle(`Allocation ${shortId(id)}`);
  const statusEl = h('span', { id: 'alloc-status', 'aria-live': 'polite' });
  const errors = h('div');
  const crumbs = h('p', { class: 'note' }, h('a', { href: '/ui/jobs' }, 'Jobs'));
  const actions = h('div', { class: 'actions' });
  const actionResult = h('div', { 'aria-live': 'polite', id: 'alloc-action-result' });
  const overview = h('div', { class: 'card' }, h('p', { class: 'loading' }, 'Loading allocation…'));
  const tasks = h('div', { id: 'alloc-tasks' });
  const logsBox = h('div', { id: 'alloc-logs' });
  const stats = h('div', { id: 'alloc-stats', 'aria-live': 'off' }, h('p', { class: 'loading' }, 'Loading the live resource usage…'));
  let alloc = null;
  let logs = null;

  fill(ctx.main, crumbs,
    h('div', { class: 'page-head' },
      h('div', null, h('h1', null, `Allocation ${shortId(id)}`, statusEl), h('p', { class: 'subtitle mono' }, id)),
      actions),
    actionResult, errors, overview,
    section('usage', 'Resource usage (live)', stats),
    section('tasks', 'Tasks', tasks),
    section('logs', 'Logs', logsBox));

  followStats(id, stats, { signal: ctx.signal, alloc: () => alloc });

  // The buttons are redrawn only when the allocation turns terminal or back:
  // a redraw on every update would drop a pending "Confirm: ...".
  let drawnLive;
  function drawActions() {
    const live = !!alloc && !isTerminalAlloc(alloc);
    if (live === drawnLive) return;
    drawnLive = live;
    if (!live) { fill(actions); return; }
    fill(actions, confirmButton('Restart tasks', 'Confirm: restart every task', async () => {
      fill(actionResult, h('p', { class: 'note' }, 'Restarting…'));
      try {
        await put(`/v1/client/allocation/${encodeURIComponent(id)}/restart`, {}, { signal: ctx.signal });
        fill(actionResult, h('div', { class: 'alert ok', role: 'status' },
          'Restart requested: each running task is stopped and started again in place (see the events below).'));
        ctx.announce('Restart requested');
      } catch (e) {
        if (e.name !== 'AbortError') fill(actionResult, errorBox(e, { title: 'Restarting the allocation failed' }));
      }
    }, { danger: false, id: 'alloc-restart' }),
    confirmButton('Stop allocation', 'Confirm: stop allocation', async () => {
      fill(actionResult, h('p', { class: 'note' }, 'Stopping…'));
      try {
        const { data } = await put(`/v1/allocation/${encodeURIComponent(id)}/stop`, undefined, { signal: ctx.signal });
        fill(actionResult, h('div', { class: 'alert ok', role: 'status' }, 'Stop requested. Evaluation ',
          h('a', { href: uiPath.eval(data.EvalID) }, shortId(data.EvalID)),
          ' replaces it if the job still wants it (a service job gets a new allocation).'));
      } catch (e) {
        if (e.name !== 'AbortError') fill(actionResult, errorBox(e, { title: 'Stopping the allocation failed' }));
      }
    }, { id: 'alloc-stop' }));
  }

  function draw(a) {
    const before = alloc?.ClientStatus;
    alloc = a;
    fill(crumbs, h('a', { href: '/ui/jobs' }, 'Jobs'), ' / ', h('a', { href: uiPath.job(a.JobID, a.Namespace) }, a.JobID), ' / ', a.Name);
    fill(statusEl, badge(a.ClientStatus, { dataset: { status: a.ClientStatus } }), a.DesiredStatus !== 'run' ? h('span', { class: 'badge idle' }, `desired: ${a.DesiredStatus}`) : null);
    if (before && before !== a.ClientStatus) ctx.announce(`Allocation is now ${a.ClientStatus}`);
    fill(overview, props([
      ['Job', h('a', { href: uiPath.job(a.JobID, a.Namespace) }, a.JobID)],
      ['Task group', a.TaskGroup], ['Name', a.Name],
      ['Client', a.NodeID ? h('a', { href: uiPath.client(a.NodeID) }, a.NodeName || shortId(a.NodeID)) : '–'],
      ['Client status', a.ClientStatus + (a.ClientDescription ? ` (${a.ClientDescription})` : '')],
      ['Desired', a.DesiredStatus + (a.DesiredDescription ? ` (${a.DesiredDescription})` : '')],
      ['Evaluation', a.EvalID ? h('a', { href: uiPath.eval(a.EvalID), class: 'mono' }, shortId(a.EvalID)) : '–'],
      a.PreviousAllocation ? ['Replaces', h('a', { href: uiPath.alloc(a.PreviousAllocation), class: 'mono' }, shortId(a.PreviousAllocation))] : null,
      a.NextAllocation ? ['Replaced by', h('a', { href: uiPath.alloc(a.NextAllocation), class: 'mono' }, shortId(a.NextAllocation))] : null,
      a.AllocatedResources?.Shared?.Ports?.length
        ? ['Ports', h('span', { class: 'mono', id: 'alloc-ports' }, a.AllocatedResources.Shared.Ports.map(portText).join(', '))] : null,
      ['Created', timeEl(a.CreateTime)], ['Modified', timeEl(a.ModifyTime)],
    ]));
    drawActions();
    drawTasks(a);
    const names = taskNames(a);
    // A failed allocation opens on the stderr of its failed task: where the
    // error is.
    const failedTask = names.find((n) => a.TaskStates?.[n]?.Failed);
    if (!logs && names.length) {
      logs = logViewer(ctx, id, names, logsBox, failedTask || a.ClientStatus === 'failed'
        ? { task: failedTask || names[0], type: 'stderr' } : {});
    }
    logs?.allocChanged(a);
  }

  function drawTasks(a) {
    const names = taskNames(a);
    fill(tasks, names.length ? names.map((name) => {
      const ts = a.TaskStates?.[name] || {};
      const res = a.AllocatedResources?.Tasks?.[name];
      const events = [...(ts.Events || [])].reverse();
      return h('div', { class: 'card', dataset: { task: name } },
        h('h3', null, `Task "${name}" `, badge(ts.State || 'pending'), ts.Failed ? [' ', badge('failed')] : null),
        props([
          ['Restarts', String(ts.Restarts || 0)],
          ['Started', timeEl(ts.StartedAt)], ['Finished', timeEl(ts.FinishedAt)],
          res ? ['Allocated', `${mhz(res.Cpu?.CpuShares)} CPU, ${mb(res.Memory?.MemoryMB)} memory`] : null,
        ]),
        h('h4', null, 'Events (newest first)'),
        events.length ? h('ol', { class: 'timeline', 'aria-label': `Events of task ${name}` }, events.map((e) => h('li',
          { class: e.FailsTask || e.DriverError || e.SetupError || (e.Type === 'Terminated' && e.ExitCode) ? 'bad' : e.Type === 'Started' ? 'ok' : '' },
          h('time', { datetime: new Date(e.Time / 1e6).toISOString() }, clock(e.Time)),
          h('strong', null, e.Type), ' ', eventMessage(e) !== e.Type ? eventMessage(e) : ''))) : h('p', { class: 'note' }, 'No events yet.'));
    }) : h('p', { class: 'note' }, 'No task states yet: the client has not reported on this allocation.'));
  }

  watch(`/v1/allocation/${encodeURIComponent(id)}`, {
    signal: ctx.signal,
    onData(a) { fill(errors); draw(a); },
    onError(err, retryIn) { fill(errors, errorBox(err, { title: `Could not read allocation ${shortId(id)}`, retryIn })); },
  });
}

function taskNames(a) {
  const tg = (a.Job?.TaskGroups || []).find((g) => g.Name === a.TaskGroup);
  const names = (tg?.Tasks || []).map((t) => t.Name);
  for (const n of Object.keys(a.TaskStates || {})) if (!names.includes(n)) names.push(n);
  return names;
}

/**
 * logViewer streams one task's stdout or stderr with fetch() and a
 * ReadableStream over the plain log endpoint (follow=true), appending text as
 * it arrives. Switching task or stream aborts the old request.
 */
function logViewer(ctx, allocID, names, into, { task: firstTask, type: firstType } = {}) {
  let task = firstTask || names[0];
  let type = firstType || 'stdout';
  let stream = null; // AbortController of the open stream
  let terminal = false;
  let waitingForStart = false;
  const pre = h('pre', { class: 'logs', id: 'log-output', tabindex: '0', role: 'tabpanel', 'aria-label': 'Log output', 'aria-live': 'off' });
  const status = h('p', { class: 'log-status', id: 'log-status', role: 'status' });
  const follow = h('input', { type: 'checkbox', id: 'log-follow', checked: true });
  const taskSel = names.length > 1
    ? h('label', { class: 'field', for: 'log-task' }, 'Task', h('select', { id: 'log-task', onchange: (e) => { task = e.target.value; open(); } },
      names.map((n) => h('option', { value: n, selected: n === task }, n))))
    : null;
  const select = (t) => {
    type = t;
    tabs.forEach((b) => {
      const on = b.id === `log-tab-${t}`;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
    });
    open();
  };
  const tabs = ['stdout', 'stderr'].map((t) => h('button', {
    type: 'button', role: 'tab', id: `log-tab-${t}`, 'aria-controls': 'log-output', 'aria-selected': String(t === type),
    tabindex: t === type ? '0' : '-1',
    onclick: () => select(t),
    // Arrow keys move between the tabs, as screen reader users expect of a tablist.
    onkeydown: (e) => {
      if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
      e.preventDefault();
      const next = t === 'stdout' ? 'stderr' : 'stdout';
      select(next);
      document.getElementById(`log-tab-${next}`).focus();
    },
  }, t));

  fill(into,
    h('div', { class: 'toolbar' }, taskSel,
      h('label', null, follow, ' Scroll with new output'),
      h('button', { type: 'button', onclick: () => fill(pre) }, 'Clear')),
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Log stream' }, tabs),
    pre, status);

  function append(text) {
    pre.append(text);
    if (pre.textContent.length > MAX_LOG_CHARS) {
      pre.textContent = pre.textContent.slice(-MAX_LOG_CHARS / 2);
    }
    if (follow.checked) pre.scrollTop = pre.scrollHeight;
  }

  async function open() {
    stream?.abort();
    stream = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stream.signal]);
    fill(pre);
    waitingForStart = false;
    const path = `/v1/client/fs/logs/${encodeURIComponent(allocID)}`;
    for (let attempt = 0; !signal.aborted; attempt++) {
      status.textContent = `Connecting to the ${type} of task "${task}"…`;
      try {
        const headers = token() ? { 'X-Nomad-Token': token() } : {};
        const res = await fetch(url(path, { task, type, follow: 'true', origin: 'end', offset: TAIL_BYTES, plain: 'true' }), { signal, headers });
        if (!res.ok) {
          const msg = (await res.text()).trim();
          throw Object.assign(new Error(msg || res.statusText), { status: res.status });
        }
        status.textContent = `Streaming the ${type} of task "${task}" live.`;
        pre.dataset.streaming = 'true';
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (value) append(value);
        }
        pre.dataset.streaming = 'false';
        if (terminal) {
          status.textContent = `End of the ${type} of task "${task}": the allocation has finished.`;
          return;
        }
        attempt = 0;
      } catch (e) {
        if (signal.aborted || e.name === 'AbortError') return;
        pre.dataset.streaming = 'false';
        if (terminal) {
          status.textContent = `The ${type} of task "${task}" cannot be read: ${e.message}`;
          return;
        }
        // Logs appear once the task starts; wait for the allocation to change.
        status.textContent = `The ${type} of task "${task}" is not readable yet (HTTP ${e.status || '–'}: ${e.message}). Retrying as the task starts…`;
        waitingForStart = true;
      }
      fill(pre);
      try { await pause(Math.min(10000, 1000 * 2 ** Math.min(attempt, 4)), signal); } catch { return; }
    }
  }

  // A hidden tab lets go of its stream (it holds one of the browser's few
  // connections to the agent) and re-tails the log when shown again.
  const onVisibility = () => {
    if (document.hidden) {
      stream?.abort();
      status.textContent = 'Paused while this tab is hidden; the log resumes when you come back.';
    } else {
      open();
    }
  };
  document.addEventListener('visibilitychange', onVisibility);
  ctx.signal.addEventListener('abort', () => document.removeEventListener('visibilitychange', onVisibility), { once: true });

  open();
  return {
    allocChanged(a) {
      const wasTerminal = terminal;
      terminal = isTerminalAlloc(a) && a.ClientStatus !== 'pending' && a.ClientStatus !== 'running';
      if (waitingForStart && a.TaskStates?.[task]?.State === 'running') open();
      if (!wasTerminal && terminal && pre.dataset.streaming !== 'true') status.textContent = `The allocation has finished; the log below is complete.`;
    },
  };
}

/**
 * portText is a port mapping as `alloc status` prints it: the label, the
 * host address and port (a range "a-b" for a port with Count), and the
 * port(s) inside when they differ.
 */
function portText(p) {
  const span = (first) => (p.Count > 1 ? `${first}-${first + p.Count - 1}` : String(first));
  const host = p.HostIP?.includes(':') ? `[${p.HostIP}]` : p.HostIP || '';
  return `${p.Label} ${host}:${span(p.Value)}` + (p.To > 0 && p.To !== p.Value ? ` \u2192 ${span(p.To)}` : '');
}
