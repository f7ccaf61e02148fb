// The dashboard: sign-in, stats cards, upload, JSON ingest, the jobs list
// with live updates, and cost analytics. Talks only to the public API, at
// URLs relative to the page (api.js).

import { $, say, money } from './dom.js';
import * as api from './api.js';
import { getToken, setToken, takeFragmentToken, describeToken } from './auth.js';
import { createPoller } from './poll.js';
import { createEventStream } from './events.js';
import { createJobsTable, isActive, jobName, resultSummary, needsResults } from './jobs.js';
import { renderCost } from './charts.js';

const PAGE_SIZE = 10;
const STAT_KEYS = ['total', 'pending', 'queued', 'running', 'completed', 'failed'];
const FILE_TYPES = {
  csv: 'csv', json: 'json', ndjson: 'ndjson', jsonl: 'ndjson', xml: 'xml', pdf: 'pdf',
  xlsx: 'xlsx', txt: 'txt', text: 'txt', log: 'log',
};

const state = {
  epoch: 0, // a new one at every sign-in and sign-out: late answers of the old one are dropped
  signedIn: false,
  signingIn: false, // a token is being tried
  jobs: [],
  total: 0,
  hasMore: false,
  offset: 0,
  filter: '',
  jobsSeq: 0,
  statsSeq: 0,
  expanded: new Set(),
  results: new Map(), // job_id -> {updatedAt, version, loading, data, error}
  resultsVersion: 0,
  analyticsShown: false,
  uploading: false,
  ingesting: false,
};

const table = createJobsTable($('jobs-body'), { onDetails: toggleDetails, onDelete: deleteJob });

// Pushed updates when the server can stream them (events.js); the 3 s
// polling otherwise, and while the stream reconnects.
const stream = createEventStream({
  onJob: onJobEvent,
  onReload: () => refresh(),
  onState: () => {
    poller.update();
    updateLive();
  },
});

const poller = createPoller({
  interval: 3000,
  isActive: () => state.signedIn && !stream.live && state.jobs.some(isActive),
  tick: () => refresh(),
});

// ------------------------------------------------------------------ errors

function isAuth(e) {
  return e && e.status === 401;
}

/** Marks a control invalid and shows the message in its error element. */
function fieldError(control, errorEl, message) {
  say(errorEl, message);
  if (control) {
    if (message) control.setAttribute('aria-invalid', 'true');
    else control.removeAttribute('aria-invalid');
  }
}

// ------------------------------------------------------------------ sign-in

function showSignIn(reason) {
  $('dashboard').hidden = true;
  $('session').hidden = true;
  $('signin-view').hidden = false;
  fieldError($('token'), $('token-error'), reason);
}

function showDashboard() {
  $('signin-view').hidden = true;
  $('dashboard').hidden = false;
  $('session').hidden = false;
  const who = describeToken(getToken());
  const text = who && who.user
    ? `Signed in as ${who.user}${who.tenant ? ` (${who.tenant})` : ''}`
    : 'Signed in';
  $('whoami').textContent = text;
}

function resetData() {
  state.jobs = [];
  state.total = 0;
  state.hasMore = false;
  state.offset = 0;
  state.expanded.clear();
  state.results.clear();
  state.analyticsShown = false;
  table.clear();
  for (const k of STAT_KEYS) document.querySelector(`[data-stat-value="${k}"]`).textContent = '–';
  $('analytics').hidden = true;
  $('by-model').replaceChildren();
  $('by-team').replaceChildren();
  say($('analytics-summary'), '');
  say($('global-error'), '');
  say($('jobs-error'), '');
  $('upload-status').textContent = '';
  $('json-status').textContent = '';
  $('jobs-status').textContent = '';
  setProgress(0);
  updateLive();
}

/** Forgets the token and everything shown; back to the sign-in form. */
function signOut(reason) {
  const wasSignedIn = state.signedIn;
  state.epoch += 1;
  state.signedIn = false;
  state.signingIn = false;
  poller.stop();
  stream.stop();
  setToken('');
  resetData();
  $('token').value = '';
  showSignIn(reason);
  if (wasSignedIn || reason) $('token').focus();
}

// Any 401 ends the session and says why (the problem's detail). Late 401s
// of requests sent before that change nothing more.
api.onUnauthorized((err) => {
  const detail = err.problem?.detail || err.message;
  if (state.signedIn) signOut(`Signed out: ${detail}`);
  else if (state.signingIn) signOut(`Sign-in failed: ${detail}`);
});

async function signIn(token, { moveFocus = false } = {}) {
  setToken(token);
  state.epoch += 1;
  const epoch = state.epoch;
  const button = $('signin-form').querySelector('button[type="submit"]');
  button.setAttribute('aria-disabled', 'true');
  fieldError($('token'), $('token-error'), '');
  state.signingIn = true;
  try {
    await loadStats(); // proves the token; a 401 comes back through onUnauthorized
  } catch (e) {
    if (!isAuth(e) && epoch === state.epoch) {
      setToken('');
      $('token').value = token;
      showSignIn(`Cannot sign in: ${e.message}`);
    }
    return;
  } finally {
    if (epoch === state.epoch) state.signingIn = false;
    button.removeAttribute('aria-disabled');
  }
  if (epoch !== state.epoch) return;
  state.signedIn = true;
  $('token').value = '';
  showDashboard();
  poller.start();
  stream.start();
  if (moveFocus) $('stats-heading').focus();
  await refresh({ stats: false, analytics: true });
}

// ------------------------------------------------------------------ loading

async function loadStats() {
  const seq = ++state.statsSeq;
  const epoch = state.epoch;
  const stats = await api.get('ingest/stats');
  if (seq !== state.statsSeq || epoch !== state.epoch) return;
  for (const k of STAT_KEYS) {
    document.querySelector(`[data-stat-value="${k}"]`).textContent = String(stats?.[k] ?? 0);
  }
}

async function loadJobs() {
  const seq = ++state.jobsSeq;
  const epoch = state.epoch;
  const page = await api.get('ingest/jobs', { limit: PAGE_SIZE, offset: state.offset, status: state.filter });
  if (seq !== state.jobsSeq || epoch !== state.epoch) return;
  const jobs = Array.isArray(page?.jobs) ? page.jobs : [];
  if (jobs.length === 0 && state.offset > 0) {
    // the page emptied under us (deletions): go to the last page that has jobs
    const total = page?.total || 0;
    state.offset = total > 0 ? Math.floor((total - 1) / PAGE_SIZE) * PAGE_SIZE : 0;
    await loadJobs();
    return;
  }
  noticeTransitions(state.jobs, jobs);
  state.jobs = jobs;
  state.total = page.total ?? jobs.length;
  state.hasMore = Boolean(page.has_more);
  render();
}

/** Announces jobs that finished since the last refresh. */
function noticeTransitions(before, after) {
  const old = new Map(before.map((j) => [j.job_id, j]));
  const done = [];
  let costsChanged = false;
  for (const job of after) {
    const prev = old.get(job.job_id);
    if (prev && isActive(prev) && !isActive(job)) {
      const summary = job.status === 'completed' ? resultSummary(job) : job.error;
      done.push(`${jobName(job)}: ${job.status}${summary ? ` (${summary})` : ''}.`);
      if (job.source_type === 'job_metadata') costsChanged = true;
    }
  }
  if (done.length) $('jobs-status').textContent = done.join(' ');
  if (costsChanged) loadAnalytics();
}

/** Stats, the visible page of jobs and the open details; then (re)arms polling. */
async function refresh({ stats = true, analytics = false } = {}) {
  const epoch = state.epoch;
  // The stats are read after the jobs, never before: polling stops once the
  // jobs on screen have ended, and stats read before that last read of the
  // jobs (a job picked up and finished within milliseconds) would stay
  // behind, showing it queued, until the user acts.
  const jobsThenStats = (async () => {
    try {
      await loadJobs();
    } finally {
      if (stats) await loadStats();
    }
  })();
  const tasks = [jobsThenStats];
  if (analytics) tasks.push(loadAnalytics());
  const outcome = await Promise.allSettled(tasks);
  if (epoch !== state.epoch) return;
  const failed = outcome.find((r) => r.status === 'rejected' && !isAuth(r.reason));
  say($('global-error'), failed ? `Could not refresh the dashboard: ${failed.reason.message}` : '');
  await refreshResults();
  if (epoch !== state.epoch) return;
  poller.update();
  updateLive();
}

function render() {
  for (const id of state.expanded) {
    if (!state.jobs.some((j) => j.job_id === id)) state.expanded.delete(id);
  }
  table.render(state.jobs, {
    expanded: state.expanded,
    results: state.results,
    emptyText: state.filter
      ? `No ${state.filter} jobs.`
      : 'No jobs yet. Upload a file or ingest JSON to start one.',
  });
  const first = state.jobs.length ? state.offset + 1 : 0;
  const last = state.offset + state.jobs.length;
  $('page-info').textContent = state.total
    ? `${first}–${last} of ${state.total}`
    : (state.offset ? '' : 'No jobs');
  setPagerButton($('prev-page'), state.offset > 0, $('next-page'));
  setPagerButton($('next-page'), state.hasMore, $('prev-page'));
  updateLive();
}

// A pager button that becomes disabled while focused hands focus to the other.
function setPagerButton(button, enabled, other) {
  const hadFocus = document.activeElement === button;
  button.disabled = !enabled;
  if (hadFocus && !enabled) (other.disabled ? $('jobs-heading') : other).focus();
}

function updateLive() {
  const el = $('live-indicator');
  el.hidden = !(state.signedIn && (stream.live || state.jobs.some(isActive)));
  el.textContent = stream.live ? 'Live: updates pushed by the server' : 'Live: updating every 3 s';
}

// A job event (GET /api/ingest/events): a job on screen is redrawn at
// once; anything the page cannot work out from one job (the stats, a new
// job, a status filter) is read again, once for a burst of events.
let refreshSoon = null;
function scheduleRefresh() {
  if (refreshSoon !== null) return;
  refreshSoon = setTimeout(() => {
    refreshSoon = null;
    if (state.signedIn) refresh();
  }, 300);
}

function onJobEvent(job) {
  if (!state.signedIn || !job || !job.job_id) return;
  const i = state.jobs.findIndex((j) => j.job_id === job.job_id);
  if (i < 0) {
    scheduleRefresh();
    return;
  }
  const prev = state.jobs[i];
  // a list read meanwhile may already show a later state
  if (String(job.updated_at) < String(prev.updated_at)) return;
  const next = state.jobs.slice();
  next[i] = job;
  noticeTransitions(state.jobs, next);
  state.jobs = next;
  render();
  if (state.expanded.has(job.job_id) && needsResults(job)) refreshResults();
  if (prev.status !== job.status) scheduleRefresh();
}

// ------------------------------------------------------------------ details and results

async function loadResults(job) {
  const id = job.job_id;
  const entry = state.results.get(id);
  if (entry && entry.updatedAt === job.updated_at && (entry.data || entry.loading)) return;
  const epoch = state.epoch;
  state.results.set(id, { ...entry, loading: true, updatedAt: job.updated_at, version: ++state.resultsVersion });
  try {
    const data = await api.get(`ingest/status/${encodeURIComponent(id)}/results`, { limit: 100 });
    if (epoch !== state.epoch) return;
    state.results.set(id, { updatedAt: job.updated_at, data, version: ++state.resultsVersion });
  } catch (e) {
    if (isAuth(e) || epoch !== state.epoch) return;
    state.results.set(id, { updatedAt: null, error: e.message, version: ++state.resultsVersion });
  }
}

/** Results of the open details rows whose job changed. */
async function refreshResults() {
  const jobs = state.jobs.filter((j) => state.expanded.has(j.job_id) && needsResults(j));
  if (!jobs.length) return;
  await Promise.all(jobs.map(loadResults));
  render();
}

async function toggleDetails(job) {
  if (state.expanded.has(job.job_id)) {
    state.expanded.delete(job.job_id);
    render();
    return;
  }
  state.expanded.add(job.job_id);
  render();
  if (needsResults(job)) {
    await loadResults(job);
    render();
  }
}

// ------------------------------------------------------------------ delete

async function deleteJob(job, button) {
  const name = jobName(job);
  if (!window.confirm(`Delete the job "${name}"? Its stored file and results are deleted too.`)) return;
  button.disabled = true;
  say($('jobs-error'), '');
  try {
    await api.del(`ingest/${encodeURIComponent(job.job_id)}`);
  } catch (e) {
    if (isAuth(e)) return;
    if (e.status !== 404) { // 404: already gone, which is what was asked
      button.disabled = false;
      say($('jobs-error'), `Could not delete ${name}: ${e.message}`);
      return;
    }
  }
  state.jobs = state.jobs.filter((j) => j.job_id !== job.job_id);
  state.expanded.delete(job.job_id);
  state.results.delete(job.job_id);
  render();
  $('jobs-heading').focus();
  $('jobs-status').textContent = `Deleted ${name}.`;
  await refresh();
}

// ------------------------------------------------------------------ upload

function setProgress(pct) {
  const v = Math.max(0, Math.min(100, Math.round(pct)));
  $('upload-progress').value = v;
  $('upload-progress-text').textContent = `${v}%`;
}

/** Shows a job at the top of the list at once (if the current view would). */
function showNewJob(job) {
  if (!job || !job.job_id) return;
  if (state.offset === 0 && (!state.filter || state.filter === job.status)) {
    const rest = state.jobs.filter((j) => j.job_id !== job.job_id);
    state.jobs = [job, ...rest].slice(0, PAGE_SIZE);
    if (!rest.some((j) => j.job_id === job.job_id)) state.total += 1;
    render();
  }
}

/** Replaces a job shown in the list by a newer copy of it. */
function updateJob(job) {
  if (!job || !job.job_id) return;
  const i = state.jobs.findIndex((j) => j.job_id === job.job_id);
  if (i >= 0) {
    state.jobs = state.jobs.map((j) => (j.job_id === job.job_id ? job : j));
    render();
  }
}

function clearUploadErrors() {
  fieldError($('file'), $('file-error'), '');
  fieldError($('file-type'), $('file-type-error'), '');
  say($('upload-error'), '');
}

// A problem next to the control it names: file_type → File type; filename,
// file_size and the upload itself → File; anything else under the form.
function showUploadProblem(e, phase, extra = '') {
  const text = e.message + extra;
  const field = e.field;
  if (field === 'file_type') fieldError($('file-type'), $('file-type-error'), text);
  else if (field === 'filename' || field === 'file_size' || phase === 'upload') fieldError($('file'), $('file-error'), text);
  else say($('upload-error'), text);
}

async function onUpload(ev) {
  ev.preventDefault();
  if (state.uploading) return;
  clearUploadErrors();
  const file = $('file').files[0];
  const type = $('file-type').value;
  if (!file) fieldError($('file'), $('file-error'), 'Choose a file to upload.');
  if (!type) fieldError($('file-type'), $('file-type-error'), 'Choose the type of the file.');
  if (!file || !type) {
    (file ? $('file-type') : $('file')).focus();
    return;
  }
  const button = $('upload-button');
  const status = $('upload-status');
  state.uploading = true;
  button.setAttribute('aria-disabled', 'true');
  setProgress(0);
  status.textContent = `Starting the upload of ${file.name}…`;
  const epoch = state.epoch;
  try {
    let job;
    try {
      job = await api.post('ingest/init', { filename: file.name, file_type: type, file_size: file.size });
    } catch (e) {
      if (!isAuth(e)) {
        showUploadProblem(e, 'init');
        status.textContent = `${file.name} was not uploaded.`;
      }
      return;
    }
    if (epoch !== state.epoch) return;
    showNewJob(job);
    poller.update();
    updateLive();
    loadStats().catch(() => {});
    if (job.status !== 'pending') {
      // IngestProcessor simulate or external: the job needs no file
      setProgress(100);
      status.textContent = `${file.name}: the job is ${job.status}; this server processes it without the file.`;
      $('file').value = '';
      return;
    }
    try {
      const done = await api.uploadFile(job.upload_url, file, (loaded, total) => {
        setProgress(total ? (loaded * 100) / total : 100);
      });
      if (epoch !== state.epoch) return;
      setProgress(100);
      updateJob(done);
      status.textContent = `Uploaded ${file.name}: the job is ${done?.status || 'queued'}.`;
      $('file').value = '';
    } catch (e) {
      if (epoch !== state.epoch) return;
      // The upload was refused for good (the URL or the file is wrong): the
      // job could never get its file from here, so it is removed. After a
      // network error or a 409/5xx the job is left alone: it may have its file.
      let extra = '';
      if ([400, 403, 413, 422, 507].includes(e.status)) {
        try {
          await api.del(`ingest/${encodeURIComponent(job.job_id)}`);
          extra = ' The job was removed; try again.';
        } catch {
          // keep the message about the upload
        }
      }
      showUploadProblem(e, 'upload', extra);
      status.textContent = `${file.name} was not uploaded.`;
    }
  } finally {
    state.uploading = false;
    button.removeAttribute('aria-disabled');
    if (epoch === state.epoch && state.signedIn) await refresh();
  }
}

function onFileChosen() {
  clearUploadErrors();
  setProgress(0);
  $('upload-status').textContent = '';
  const file = $('file').files[0];
  if (!file) return;
  const dot = file.name.lastIndexOf('.');
  const ext = dot > 0 ? file.name.slice(dot + 1).toLowerCase() : '';
  $('file-type').value = FILE_TYPES[ext] || '';
}

// ------------------------------------------------------------------ JSON ingest

const EXAMPLES = {
  records: {
    records: [
      { id: 1, name: 'alpha', amount: 12.5 },
      { id: 2, name: 'beta', amount: 7, tags: ['x'] },
    ],
  },
  mappings: {
    priority: 'HIGH',
    mappings: [
      { id: 'email', source: 'crm.contact.email', target: 'warehouse.contacts.email' },
      { id: 'name', source: 'crm.contact.name', target: 'warehouse.contacts.full_name', transformation: { trim: true } },
      { id: 'phone', source: 'crm.contact.phone', target: 'warehouse.contacts.phone' },
    ],
  },
  jobs: {
    jobs: [
      {
        job_id: 'example-0001', team: 'recsys', model_name: 'dlrm', gpu_type: 'A100-80GB', provider: 'aws',
        status: 'completed', started_at: '2026-01-01T03:00:00Z', ended_at: '2026-01-01T08:00:00Z',
        gpu_hours: 40, cost_usd: 164,
      },
      {
        job_id: 'example-0002', team: 'nlp-research', model_name: 'bert-base', gpu_type: 'T4', provider: 'gcp',
        status: 'completed', started_at: '2026-01-02T14:00:00Z', ended_at: '2026-01-02T16:30:00Z',
        gpu_hours: 2.5, cost_usd: 1.33,
      },
    ],
  },
};

async function onIngestJson(ev) {
  ev.preventDefault();
  if (state.ingesting) return;
  const area = $('json-body');
  const status = $('json-status');
  fieldError(area, $('json-body-error'), '');
  const text = area.value;
  if (!text.trim()) {
    fieldError(area, $('json-body-error'), 'Enter a JSON body: {"records": […]}, {"mappings": […]} or {"jobs": […]}.');
    area.focus();
    return;
  }
  state.ingesting = true;
  const button = $('json-button');
  button.setAttribute('aria-disabled', 'true');
  status.textContent = 'Sending…';
  const epoch = state.epoch;
  try {
    // sent as typed: the server's line and column point into the text above
    const job = await api.post('ingest/json', text);
    if (epoch !== state.epoch) return;
    showNewJob(job);
    status.textContent = `Accepted: ${jobName(job)} is ${job.status}.`;
  } catch (e) {
    if (isAuth(e) || epoch !== state.epoch) return;
    fieldError(area, $('json-body-error'), e.message);
    status.textContent = 'Nothing was ingested.';
  } finally {
    state.ingesting = false;
    button.removeAttribute('aria-disabled');
    if (epoch === state.epoch && state.signedIn) await refresh();
  }
}

// ------------------------------------------------------------------ analytics

function rangeText(start, end) {
  if (start && end) return `from ${start} to ${end}`;
  if (start) return `since ${start}`;
  if (end) return `until ${end}`;
  return 'all time';
}

/** Shows the section when the tenant has costs (by-model has results). */
async function loadAnalytics() {
  const epoch = state.epoch;
  const start = $('start-date').value;
  const end = $('end-date').value;
  const params = { start, end };
  fieldError($('start-date'), $('start-date-error'), '');
  fieldError($('end-date'), $('end-date-error'), '');
  say($('analytics-error'), '');
  try {
    const byModel = await api.get('analytics/cost/by-model', params);
    if (epoch !== state.epoch) return;
    if (!state.analyticsShown) {
      if (!Array.isArray(byModel?.results) || byModel.results.length === 0) return;
      state.analyticsShown = true;
      $('analytics').hidden = false;
    }
    const byTeam = await api.get('analytics/cost/by-team', params);
    if (epoch !== state.epoch) return;
    renderCost('by-model', { title: 'Cost by model', key: 'model_name', keyLabel: 'Model', data: byModel });
    renderCost('by-team', { title: 'Cost by team', key: 'team', keyLabel: 'Team', data: byTeam });
    say($('analytics-summary'), `Total cost ${rangeText(start, end)}: ${money(byModel.total_cost_usd)} USD.`);
  } catch (e) {
    if (isAuth(e) || epoch !== state.epoch || !state.analyticsShown) return;
    if (e.field === 'start') fieldError($('start-date'), $('start-date-error'), e.message);
    else if (e.field === 'end') fieldError($('end-date'), $('end-date-error'), e.message);
    else say($('analytics-error'), `Could not load the costs: ${e.message}`);
  }
}

// ------------------------------------------------------------------ wiring

function wire() {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (ev.submitter?.getAttribute('aria-disabled') === 'true') return;
    const token = $('token').value.trim();
    if (!token) {
      fieldError($('token'), $('token-error'), 'Enter your access token.');
      $('token').focus();
      return;
    }
    signIn(token, { moveFocus: true });
  });
  $('sign-out').addEventListener('click', () => signOut(''));
  $('upload-form').addEventListener('submit', onUpload);
  $('file').addEventListener('change', onFileChosen);
  $('file-type').addEventListener('change', () => fieldError($('file-type'), $('file-type-error'), ''));
  $('json-form').addEventListener('submit', onIngestJson);
  for (const b of document.querySelectorAll('[data-example]')) {
    b.addEventListener('click', () => {
      $('json-body').value = JSON.stringify(EXAMPLES[b.dataset.example], null, 2);
      fieldError($('json-body'), $('json-body-error'), '');
      $('json-body').focus();
    });
  }
  $('status-filter').addEventListener('change', () => {
    state.filter = $('status-filter').value;
    state.offset = 0;
    refresh();
  });
  $('refresh').addEventListener('click', () => refresh({ analytics: state.analyticsShown }));
  $('prev-page').addEventListener('click', () => {
    state.offset = Math.max(0, state.offset - PAGE_SIZE);
    refresh();
  });
  $('next-page').addEventListener('click', () => {
    if (!state.hasMore) return;
    state.offset += PAGE_SIZE;
    refresh();
  });
  $('analytics-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    loadAnalytics();
  });
  // relative times ("5 m ago") are redrawn when the tab comes back, without a request
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && state.signedIn) render();
  });
}

function start() {
  wire();
  const fromFragment = takeFragmentToken();
  const token = fromFragment || getToken();
  if (token) signIn(token);
  else showSignIn('');
}

start();
