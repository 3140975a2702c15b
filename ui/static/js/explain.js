// explain.js: placement failures in plain words, worded as the CLI's
// command/explain.go words them, so the UI and `nomadlike job run` agree.

import { h } from './dom.js';

const sortedKeys = (m) => Object.keys(m || {}).sort();

/**
 * explainMetric renders why a placement failed: one cause per line, then a
 * hint saying what to do about the main cause. Returns {causes, hint}.
 */
export function explainMetric(m) {
  m = m || {};
  const causes = [];
  if (!m.NodesEvaluated) causes.push('No nodes were eligible for evaluation');
  const emptyDCs = sortedKeys(m.NodesAvailable).filter((dc) => m.NodesAvailable[dc] === 0).map((dc) => `"${dc}"`);
  if (emptyDCs.length) causes.push(`No nodes are available in datacenter(s) ${emptyDCs.join(', ')}`);
  for (const c of sortedKeys(m.ClassFiltered)) causes.push(`Class "${c}": ${m.ClassFiltered[c]} nodes excluded by filter`);
  let constraintCount = 0;
  for (const c of sortedKeys(m.ConstraintFiltered)) {
    causes.push(`Constraint "${c}": ${m.ConstraintFiltered[c]} nodes excluded by filter`);
    constraintCount += m.ConstraintFiltered[c];
  }
  const other = (m.NodesFiltered || 0) - constraintCount;
  if (other > 0 && constraintCount > 0) causes.push(`${other} more nodes excluded by filter for other reasons`);
  else if (other > 0 && !sortedKeys(m.ClassFiltered).length) causes.push(`${other} nodes excluded by filter`);
  if (m.NodesExhausted > 0) causes.push(`Resources exhausted on ${m.NodesExhausted} nodes`);
  for (const c of sortedKeys(m.ClassExhausted)) causes.push(`Class "${c}" exhausted on ${m.ClassExhausted[c]} nodes`);
  for (const d of sortedKeys(m.DimensionExhausted)) causes.push(`Dimension "${d}" exhausted on ${m.DimensionExhausted[d]} nodes`);
  for (const q of m.QuotaExhausted || []) causes.push(`Quota limit hit "${q}"`);
  if (!causes.length) {
    causes.push(`${m.NodesEvaluated || 0} nodes evaluated, none could take the allocation, and the scheduler recorded no reason`);
  }
  return { causes, hint: metricHint(m, emptyDCs.length > 0) };
}

function metricHint(m, emptyDC) {
  const pool = m.NodePool || 'default';
  if (!m.NodesEvaluated || emptyDC) {
    return `no ready client node matches the job's datacenters and node pool "${pool}": start a client ('nomadlike agent -dev'), ` +
      "or fix the job's datacenters/node_pool; the Clients page lists the nodes";
  }
  if (sortedKeys(m.ConstraintFiltered).length || sortedKeys(m.ClassFiltered).length) {
    return "the job's constraints exclude nodes: compare them with the nodes' attributes (each client's page lists them), or relax them";
  }
  if (m.NodesExhausted > 0) {
    return "the nodes lack free resources: lower the task's resources block, stop other allocations, or add client nodes";
  }
  if ((m.QuotaExhausted || []).length) return 'a quota is exhausted: raise it or stop other work in the namespace';
  return '';
}

/** The text form, one line per cause, as the CLI prints it (used for copy). */
export function explainFailedGroupsText(failed) {
  const lines = [];
  for (const tg of sortedKeys(failed)) {
    const m = failed[tg] || {};
    const n = (m.CoalescedFailures || 0) + 1;
    lines.push(`Task Group "${tg}" (failed to place ${n} ${n > 1 ? 'allocations' : 'allocation'}):`);
    const { causes, hint } = explainMetric(m);
    for (const c of causes) lines.push(`  * ${c}`);
    if (hint) lines.push(`  Hint: ${hint}`);
  }
  return lines.join('\n');
}

/** The DOM form: one block per task group, causes as a list, the hint last. */
export function explainFailedGroups(failed) {
  return sortedKeys(failed).map((tg) => {
    const m = failed[tg] || {};
    const n = (m.CoalescedFailures || 0) + 1;
    const { causes, hint } = explainMetric(m);
    return h('div', { class: 'explain-group' },
      h('p', null, h('strong', null, `Task Group "${tg}"`), ` (failed to place ${n} ${n > 1 ? 'allocations' : 'allocation'}):`),
      h('ul', { class: 'explain' }, causes.map((c) => h('li', null, c))),
      hint ? h('p', null, h('span', { class: 'hint' }, 'Hint: '), hint) : null);
  });
}

/** A task event's message in words, preferring what the client wrote for people. */
export function eventMessage(ev) {
  if (ev.DisplayMessage) return ev.DisplayMessage;
  const parts = [];
  if (ev.Message) parts.push(ev.Message);
  if (ev.DriverError) parts.push(`driver error: ${ev.DriverError}`);
  if (ev.SetupError) parts.push(`setup error: ${ev.SetupError}`);
  if (ev.KillError) parts.push(`kill error: ${ev.KillError}`);
  if (ev.KillReason) parts.push(ev.KillReason);
  if (ev.RestartReason) parts.push(ev.RestartReason);
  if (ev.Type === 'Terminated') parts.push(`exit code ${ev.ExitCode}${ev.Signal ? `, signal ${ev.Signal}` : ''}`);
  return parts.join('; ') || ev.Type;
}
