// Activity: the cluster's live event feed (GET /v1/event/stream), newest
// first: jobs registered and stopped, evaluations, placements, allocation and
// node changes, deployments, services. A topic filter narrows it; the feed
// keeps the last MAX_EVENTS events on the page.

import { token, url, pause } from '../api.js';
import { h, fill, link, uiPath, shortId, badge, table } from '../dom.js';

const MAX_EVENTS = 200;
const TOPICS = ['*', 'Job', 'Allocation', 'Evaluation', 'Deployment', 'Node', 'Service'];

/** summary says in a few words what an event changed. */
function summary(e) {
  const p = e.Payload || {};
  if (p.Job) return [`${p.Job.Type || ''} job`, badge(p.Job.Status || '–'), ` version ${p.Job.Version ?? '–'}`];
  if (p.Allocation) {
    const a = p.Allocation;
    return [link(uiPath.job(a.JobID, a.Namespace), a.JobID), ` ${a.TaskGroup || ''} `, badge(a.ClientStatus || '–'), ` desired ${a.DesiredStatus || '–'}`];
  }
  if (p.Evaluation) {
    const ev = p.Evaluation;
    return [link(uiPath.job(ev.JobID, ev.Namespace), ev.JobID), ` ${ev.TriggeredBy || ''} `, badge(ev.Status || '–')];
  }
  if (p.Deployment) return [link(uiPath.job(p.Deployment.JobID, p.Deployment.Namespace), p.Deployment.JobID), ' ', badge(p.Deployment.Status || '–')];
  if (p.Node) return [p.Node.Name || '', ' ', badge(p.Node.Status || '–'), ` ${p.Node.SchedulingEligibility || ''}`];
  if (p.Service) return [`${p.Service.ServiceName} at ${p.Service.Address}:${p.Service.Port}`];
  return [];
}

/** keyCell links the event's object to its page where the UI has one. */
function keyCell(e) {
  switch (e.Topic) {
    case 'Job': return link(uiPath.job(e.Key, e.Namespace), e.Key);
    case 'Allocation': return link(uiPath.alloc(e.Key), shortId(e.Key), { class: 'mono' });
    case 'Evaluation': return link(uiPath.eval(e.Key), shortId(e.Key), { class: 'mono' });
    case 'Node': return link(uiPath.client(e.Key), shortId(e.Key), { class: 'mono' });
    default: return h('span', { class: 'mono' }, e.Key.length === 36 ? shortId(e.Key) : e.Key);
  }
}

export function render(ctx) {
  ctx.setTitle('Activity');
  const status = h('p', { class: 'note', id: 'activity-status', 'aria-live': 'polite' }, 'Connecting to the event stream…');
  const select = h('select', { id: 'activity-topic', 'aria-label': 'Topic' },
    ...TOPICS.map((t) => h('option', { value: t }, t === '*' ? 'All topics' : t)));
  const feed = h('div', { id: 'activity-feed' }, h('p', { class: 'loading' }, 'Waiting for the first events…'));
  fill(ctx.main,
    h('div', { class: 'page-head' }, h('div', null, h('h1', null, 'Activity'),
      h('p', { class: 'subtitle' }, 'Every change the servers commit, live, newest first (the CLI: nomadlike event stream).'))),
    h('div', { class: 'toolbar' }, h('label', null, 'Show ', select)),
    status, feed);

  let events = [];
  let stream = null;
  function draw() {
    fill(feed, table([
      { label: 'Index', class: 'num', cell: (e) => String(e.Index) },
      { label: 'Topic', cell: (e) => e.Topic },
      { label: 'Type', cell: (e) => e.Type },
      { label: 'Object', cell: keyCell },
      { label: 'What changed', cell: (e) => h('span', null, ...summary(e)) },
    ], events, { caption: 'Cluster events, newest first', empty: 'No events yet: they appear as jobs, allocations and nodes change.',
      rowProps: (e) => ({ 'data-topic': e.Topic, 'data-type': e.Type, 'data-key': e.Key }) }));
  }

  async function open() {
    stream?.abort();
    stream = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stream.signal]);
    const topic = select.value;
    events = [];
    draw();
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        const headers = token() ? { 'X-Nomad-Token': token() } : {};
        const res = await fetch(url('/v1/event/stream', { topic: `${topic}:*`, namespace: '*' }), { signal, headers });
        if (!res.ok) {
          const msg = (await res.text()).trim();
          throw Object.assign(new Error(msg || res.statusText), { status: res.status });
        }
        status.textContent = topic === '*' ? 'Live: every topic.' : `Live: ${topic} events.`;
        feed.dataset.streaming = 'true';
        attempt = 0;
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += value;
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl).trim();
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const frame = JSON.parse(line);
            if (frame.Error) throw new Error(frame.Error);
            if (!frame.Events?.length) continue; // a heartbeat
            events = [...frame.Events.slice().reverse(), ...events].slice(0, MAX_EVENTS);
          }
          draw();
        }
        throw new Error('the agent closed the stream');
      } catch (e) {
        if (signal.aborted || e.name === 'AbortError') return;
        feed.dataset.streaming = 'false';
        status.textContent = `The event stream stopped (${e.status ? `HTTP ${e.status}: ` : ''}${e.message}); reconnecting…`;
      }
      try { await pause(Math.min(10000, 1000 * 2 ** Math.min(attempt, 4)), signal); } catch { return; }
    }
  }
  select.addEventListener('change', open);
  // A hidden tab lets go of its stream (one of the browser's few connections).
  const onVisibility = () => {
    if (document.hidden) {
      stream?.abort();
      status.textContent = 'Paused while this tab is hidden; the feed resumes when you come back.';
    } else open();
  };
  document.addEventListener('visibilitychange', onVisibility);
  ctx.signal.addEventListener('abort', () => document.removeEventListener('visibilitychange', onVisibility));
  open();
}
