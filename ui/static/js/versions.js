// versions.js: a job's versions, each with its diff against the version
// before it (GET /v1/job/:id/versions?diffs=true), and "revert to this
// version" (PUT /v1/job/:id/revert), as `nomadlike job history -p` and
// `nomadlike job revert` do.

import { put } from './api.js';
import { h, badge, timeEl, confirmButton } from './dom.js';
import { diffView, diffChanges } from './diff.js';

/**
 * versionsView renders the reply of the versions endpoint (newest first;
 * Diffs[i] goes from Versions[i+1] to Versions[i]). revert(version) is
 * called by a version's revert button; it returns a promise.
 */
export function versionsView(data, { revert }) {
  const vs = data?.Versions || [];
  const diffs = data?.Diffs || [];
  if (!vs.length) return h('p', { class: 'note' }, 'No versions are kept for this job.');
  const current = vs[0].Version;
  return h('ol', { class: 'versions', 'aria-label': 'Job versions, newest first' }, vs.map((v, i) => {
    const d = diffs[i];
    const older = vs[i + 1];
    const head = h('div', { class: 'version-head' },
      h('h3', null, `Version ${v.Version}`),
      v.Version === current ? badge('current', { class: 'badge ok' }) : null,
      v.Stable ? badge('stable', { class: 'badge info' }) : null,
      v.Stop ? badge('stopped') : null,
      h('span', { class: 'note' }, 'submitted ', timeEl(v.SubmitTime)),
      v.Version !== current
        ? confirmButton(`Revert to version ${v.Version}`, `Confirm: revert to version ${v.Version}`, () => revert(v.Version),
          { danger: false, id: `revert-${v.Version}` })
        : null);
    let body;
    if (!older) body = h('p', { class: 'note' }, 'The first kept version: nothing to compare it with.');
    else if (!d || !diffChanges(d)) body = h('p', { class: 'note' }, `No change from version ${older.Version} (resubmitted as it was).`);
    else {
      body = h('details', { open: i === 0 ? true : null },
        h('summary', null, `Changes from version ${older.Version}`),
        diffView(d, { label: `Changes from version ${older.Version} to version ${v.Version}`, id: `version-diff-${v.Version}` }));
    }
    return h('li', { class: 'card version', dataset: { version: String(v.Version) } }, head, body);
  }));
}

/**
 * revertJob asks the servers to register version `version` again. It passes
 * the version on screen as EnforcePriorVersion, so a revert made from a stale
 * page fails with the servers' message instead of undoing someone's newer change.
 */
export function revertJob(base, { id, ns, version, current, signal }) {
  return put(`${base}/revert`, { JobID: id, JobVersion: version, EnforcePriorVersion: current },
    { query: { namespace: ns }, signal });
}
