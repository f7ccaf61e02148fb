// The jobs table: one <tr data-job-id> per job, updated in place on every
// refresh (so a focused button keeps its focus while the list is polled),
// and a details row (<tr data-details-for>) under it, shown by `Details`.

import { h, icon, timeEl, bytes, plural, cellText } from './dom.js';

const ACTIVE = new Set(['pending', 'queued', 'running']);

export const isActive = (job) => ACTIVE.has(job.status);

const SOURCE_LABELS = {
  file_upload: 'file upload',
  json_records: 'JSON records',
  mappings: 'mappings',
  job_metadata: 'ML job metadata',
};

export function sourceLabel(job) {
  return SOURCE_LABELS[job.source_type] || job.source_type || 'job';
}

/** The job's name: its filename, or its source type. */
export function jobName(job) {
  return job.filename || sourceLabel(job);
}

function resultData(job) {
  const rd = job.result_data;
  return rd && typeof rd === 'object' && !Array.isArray(rd) ? rd : null;
}

/** "2000 records, 3 columns", "4 of 5 mappings succeeded", or ''. */
export function resultSummary(job) {
  const rd = resultData(job);
  if (!rd) return '';
  if (job.source_type === 'mappings' && typeof rd.mappings === 'number') {
    const failed = rd.failed ? `, ${rd.failed} failed` : '';
    return `${rd.succeeded ?? 0} of ${plural(rd.mappings, 'mapping')} succeeded${failed}`;
  }
  if (job.source_type === 'job_metadata' && typeof rd.records === 'number' && 'succeeded' in rd) {
    return `${plural(rd.records, 'record')}: ${rd.succeeded} stored, ${rd.failed ?? 0} failed`;
  }
  const parts = [];
  const records = typeof rd.records === 'number' ? rd.records : rd.rows_processed;
  if (typeof records === 'number') parts.push(plural(records, 'record'));
  if (Array.isArray(rd.columns)) parts.push(plural(rd.columns.length, 'column'));
  else if (typeof rd.columns === 'number') parts.push(plural(rd.columns, 'column'));
  else if (Array.isArray(rd.keys)) parts.push(plural(rd.keys.length, 'key'));
  if (rd.format === 'binary' && typeof rd.size === 'number') parts.push(`${bytes(rd.size)} stored`);
  return parts.join(', ');
}

function subline(job) {
  const parts = [];
  if (job.source_type === 'file_upload') {
    if (job.file_type) parts.push(job.file_type);
    if (typeof job.file_size === 'number') parts.push(bytes(job.file_size));
  } else if (job.source_type === 'json_records') {
    parts.push('JSON records');
  } else if (job.source_type === 'mappings') {
    parts.push(plural(job.total_items, 'mapping'));
  } else if (job.source_type === 'job_metadata') {
    if (job.filename) parts.push(sourceLabel(job));
    if (job.total_items) parts.push(plural(job.total_items, 'record'));
  } else if (job.filename && job.source_type) {
    parts.push(sourceLabel(job));
  }
  if (job.priority && job.priority !== 'MEDIUM') parts.push(`${job.priority} priority`);
  return parts.join(' · ');
}

/** A status badge: icon and text, not colour alone. */
export function badge(status) {
  return h('span', { class: ['badge', `badge-${status}`] }, icon(status, status === 'running' ? 'spin' : ''), ` ${status}`);
}

function waitingText(job) {
  switch (job.status) {
    case 'pending':
      return job.source_type === 'file_upload' ? 'waiting for the upload' : 'waiting';
    case 'queued':
      return 'waiting for a worker';
    case 'running': {
      const unit = job.source_type === 'mappings' ? 'mappings' : 'items';
      if (job.total_items > 0) return `${job.processed_items} of ${job.total_items} ${unit}`;
      return 'started';
    }
    default:
      return '';
  }
}

function resultCell(job) {
  const summary = resultSummary(job);
  if (job.status === 'failed') {
    return [
      h('span', { class: 'job-error' }, job.error || 'failed'),
      summary ? h('span', { class: 'sub' }, summary) : null,
    ];
  }
  if (job.status === 'completed') return h('span', { class: 'summary' }, summary || 'done');
  return h('span', { class: 'muted' }, waitingText(job));
}

function progressBar(job, name) {
  const pct = Math.max(0, Math.min(100, Number(job.progress) || 0));
  return h('div', { class: 'progress-line' },
    h('progress', { max: 100, value: pct, 'aria-label': `Progress of ${name}` }),
    h('span', { class: 'pct' }, `${pct}%`));
}

// ------------------------------------------------------------------ details

function facts(job) {
  const rows = [
    ['Job id', job.job_id],
    ['Source', sourceLabel(job)],
    ['File name', job.filename],
    ['File type', job.file_type],
    ['Size', typeof job.file_size === 'number' ? `${bytes(job.file_size)} (${job.file_size} bytes)` : null],
    ['Priority', job.priority],
    ['Submitted by', job.user_id],
    ['SHA-256', job.content_sha256],
    ['Submitted', job.created_at],
    ['Started', job.started_at],
    ['Finished', job.completed_at],
    ['Upload expires', job.status === 'pending' ? job.expires_at : null],
    ['Items', `${job.processed_items} of ${job.total_items} processed, ${job.failed_items} failed`],
    ['Attempts', job.attempts ? String(job.attempts) : null],
    ['Result URL', job.result_url],
  ];
  return h('dl', { class: 'facts' },
    rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
      .map(([k, v]) => h('div', {}, h('dt', {}, k), h('dd', {}, v))));
}

/** The preview of a parsed file (or of the simulator's mock result). */
function previewTable(job) {
  const rd = resultData(job);
  const rows = rd && (Array.isArray(rd.preview) ? rd.preview : rd.data_preview);
  if (!Array.isArray(rows) || rows.length === 0) return null;
  let columns;
  let cells;
  if (rows.every((r) => r && typeof r === 'object' && !Array.isArray(r))) {
    const seen = new Set(Array.isArray(rd.columns) ? rd.columns.map(String) : []);
    for (const r of rows) Object.keys(r).forEach((k) => seen.add(k));
    columns = [...seen].slice(0, 50);
    cells = rows.map((r) => columns.map((c) => cellText(r[c])));
  } else {
    columns = [rd.format === 'text' ? 'Line' : 'Value'];
    cells = rows.map((r) => [typeof r === 'string' ? r : cellText(r)]);
  }
  const caption = `Preview: the first ${plural(rows.length, 'record')} of ${jobName(job)}`;
  return h('div', { class: 'inner-table' },
    h('table', { class: 'data' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, cells.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))))));
}

function nameList(job) {
  const rd = resultData(job);
  if (!rd) return null;
  const list = Array.isArray(rd.columns) ? rd.columns : Array.isArray(rd.keys) ? rd.keys : null;
  if (!list || list.length === 0) return null;
  const label = Array.isArray(rd.columns) ? 'Columns' : 'Keys';
  const shown = list.slice(0, 100).map(String).join(', ');
  const more = list.length > 100 ? ` and ${list.length - 100} more` : '';
  return h('p', { class: 'names' }, h('strong', {}, `${label}: `), shown + more,
    rd.truncated ? ' (the server cut some names or preview values)' : '');
}

const RESULT_COLUMNS = [
  ['index', '#'], ['id', 'Id'], ['job_id', 'ML job id'], ['source', 'Source'], ['target', 'Target'], ['transformation', 'Transformation'],
  ['status', 'Status'], ['error', 'Error'], ['processed_at', 'Processed'],
];

function resultsTable(job, entry) {
  const title = job.source_type === 'mappings' ? 'Mapping results' : 'Record results';
  if (!entry || (entry.loading && !entry.data)) return h('p', { class: 'muted' }, `${title}: loading…`);
  if (entry.error) return h('p', { class: 'job-error' }, `${title} could not be loaded: ${entry.error}`);
  const { results = [], total = 0 } = entry.data || {};
  if (results.length === 0) return h('p', { class: 'muted' }, `${title}: none.`);
  const cols = RESULT_COLUMNS.filter(([k]) => ['index', 'status'].includes(k)
    || results.some((r) => r[k] !== null && r[k] !== undefined && r[k] !== ''));
  const cell = (r, k) => {
    if (k === 'status') return h('td', {}, h('span', { class: ['result-status', `result-${r.status}`] }, r.status));
    if (k === 'processed_at') return h('td', {}, timeEl(r.processed_at));
    if (k === 'error') return h('td', { class: r.error ? 'job-error' : '' }, cellText(r.error ?? ''));
    return h('td', {}, cellText(r[k]));
  };
  const note = total > results.length ? ` (the first ${results.length} of ${total})` : '';
  return h('div', { class: 'inner-table' },
    h('table', { class: 'data' },
      h('caption', {}, `${title}${note}`),
      h('thead', {}, h('tr', {}, cols.map(([, label]) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, results.map((r) => h('tr', {}, cols.map(([k]) => cell(r, k)))))));
}

export function needsResults(job) {
  return job.source_type === 'mappings' || job.source_type === 'job_metadata';
}

function detailsContent(job, resultsEntry) {
  const rd = job.result_data;
  return h('div', { class: 'details' },
    job.error ? h('p', { class: 'job-error block' }, h('strong', {}, 'Error: '), job.error) : null,
    facts(job),
    nameList(job),
    previewTable(job),
    needsResults(job) ? resultsTable(job, resultsEntry) : null,
    rd !== null && rd !== undefined
      ? h('details', { class: 'raw' }, h('summary', {}, 'Result data (JSON)'), h('pre', {}, JSON.stringify(rd, null, 2)))
      : null);
}

// ------------------------------------------------------------------ table

export function createJobsTable(tbody, { onDetails, onDelete }) {
  const entries = new Map(); // job_id -> entry
  const emptyRow = h('tr', { class: 'empty-row' }, h('td', { colspan: 7 }));

  function build(job) {
    const id = job.job_id;
    const nameId = `job-name-${id}`;
    const detailsId = `job-details-${id}`;
    const entry = { job };
    entry.name = h('th', { scope: 'row', class: 'job-name', id: nameId });
    entry.status = h('td', { class: 'status-cell' });
    entry.progress = h('td', { class: 'progress-cell' });
    entry.created = h('td', { class: 'time-cell' });
    entry.finished = h('td', { class: 'time-cell' });
    entry.result = h('td', { class: 'result-cell' });
    entry.detailsButton = h('button', {
      type: 'button', class: 'button small secondary', 'aria-expanded': 'false',
      'aria-controls': detailsId, 'aria-describedby': nameId,
      onclick: () => onDetails(entry.job),
    }, 'Details');
    entry.deleteButton = h('button', {
      type: 'button', class: 'button small danger', 'aria-describedby': nameId,
      onclick: () => onDelete(entry.job, entry.deleteButton),
    }, 'Delete');
    entry.row = h('tr', { 'data-job-id': id },
      entry.name, entry.status, entry.progress, entry.created, entry.finished, entry.result,
      h('td', { class: 'actions-cell' }, h('div', { class: 'row-actions' }, entry.detailsButton, entry.deleteButton)));
    entry.detailsCell = h('td', { colspan: 7 });
    entry.details = h('tr', { class: 'details-row', id: detailsId, 'data-details-for': id, hidden: true },
      entry.detailsCell);
    entry.detailsKey = null;
    return entry;
  }

  function update(entry, job, expanded, resultsEntry) {
    entry.job = job;
    const name = jobName(job);
    entry.row.setAttribute('data-status', job.status);
    const sub = subline(job);
    entry.name.replaceChildren(h('span', { class: 'name' }, name), sub ? h('span', { class: 'sub' }, sub) : '');
    entry.status.replaceChildren(badge(job.status));
    entry.progress.replaceChildren(progressBar(job, name));
    entry.created.replaceChildren(timeEl(job.created_at));
    entry.finished.replaceChildren(timeEl(job.completed_at));
    entry.result.replaceChildren(...[resultCell(job)].flat().filter(Boolean));
    entry.detailsButton.setAttribute('aria-expanded', expanded ? 'true' : 'false');
    entry.details.hidden = !expanded;
    if (expanded) {
      const key = `${job.updated_at}|${resultsEntry ? resultsEntry.version : ''}`;
      if (key !== entry.detailsKey) {
        entry.detailsCell.replaceChildren(detailsContent(job, resultsEntry));
        entry.detailsKey = key;
      }
    } else if (entry.detailsKey !== null) {
      entry.detailsCell.replaceChildren();
      entry.detailsKey = null;
    }
  }

  /** Shows jobs, in order; rows already in place are not moved. */
  function render(jobs, { expanded, results, emptyText }) {
    const wanted = [];
    const ids = new Set();
    for (const job of jobs) {
      let entry = entries.get(job.job_id);
      if (!entry) {
        entry = build(job);
        entries.set(job.job_id, entry);
      }
      ids.add(job.job_id);
      update(entry, job, expanded.has(job.job_id), results.get(job.job_id));
      wanted.push(entry.row, entry.details);
    }
    for (const [id, entry] of entries) {
      if (!ids.has(id)) {
        entry.row.remove();
        entry.details.remove();
        entries.delete(id);
      }
    }
    if (jobs.length === 0) {
      emptyRow.firstChild.textContent = emptyText;
      wanted.push(emptyRow);
    } else {
      emptyRow.remove();
    }
    wanted.forEach((node, i) => {
      if (tbody.children[i] !== node) tbody.insertBefore(node, tbody.children[i] || null);
    });
  }

  return {
    render,
    clear() {
      entries.clear();
      tbody.replaceChildren();
    },
  };
}
