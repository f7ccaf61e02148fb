// The dashboard in a real browser: Debian's chromium (/usr/bin/chromium,
// never a browser that playwright downloads) driven by playwright-core,
// headless, against the server that t/browser/dashboard.t started. Run by
// that file; not meant to be run alone (it needs the server and tokens).
//
// Input, from the environment:
//   INGEST_BASE             http://127.0.0.1:PORT, the httpd (no trailing /)
//   INGEST_TOKEN_A .. _D    bearer tokens of four tenants: A the main one,
//                           B for isolation, C for paging, D for cost analytics
//   INGEST_ARTIFACTS        where screenshots go (created)
//   INGEST_CHROMIUM         the browser, /usr/bin/chromium by default
//   INGEST_USER_DATA_DIR    an empty directory for chromium's profile (the
//                           .t's, which it removes even when it had to kill
//                           this script); a new temp dir when not set
//   INGEST_BROWSER_TIMEOUT  seconds for the whole script (300)
//   INGEST_BROWSER_NICE     niceness of the script and chromium (10)
//
// Output: one JSON object per line on stdout, which dashboard.t turns into
// TAP: {"ok": bool, "name": "...", "diag": ["..."]} per test, {"note": "..."}
// for a comment, and {"done": N} at the end (N tests sent). Exit status 0
// when the script ran to its end (whatever the tests said), 1 otherwise.
//
// The page is used only through the names fixed by the contract with the
// dashboard (issue 9): a field labelled "Access token", buttons "Sign in",
// "Sign out", "Upload", "Ingest JSON", "Previous", "Next"; a file input
// labelled "File", selects labelled "File type" and "Status filter", a
// progress bar labelled "Upload progress", a text area labelled "JSON
// body"; stats cards [data-stat="total|pending|queued|running|completed|
// failed"] whose text holds their label and number; a table whose caption
// is "Jobs", one element per job with data-job-id (its status and, when
// finished, its record count or error in its text) and "Details" and
// "Delete" buttons in it (Delete asks window.confirm); a heading "Cost
// analytics" in a section of its own.
//
// Chromium is started with exactly the flags issue 9 names (FLAGS below)
// and a fresh --user-data-dir (a temp dir given to launchPersistentContext,
// removed at the end); playwright adds its own automation switches (the
// pipe, --headless, ...). Every wait has a timeout, the whole script has
// one, and the browser is closed on every way out.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const TOP = path.resolve(HERE, '../..');
const BASE = need('INGEST_BASE').replace(/\/+$/, '');
const DASH = `${BASE}/ingest/`;
const TOKEN = { A: need('INGEST_TOKEN_A'), B: need('INGEST_TOKEN_B'), C: need('INGEST_TOKEN_C'), D: need('INGEST_TOKEN_D') };
const ARTIFACTS = process.env.INGEST_ARTIFACTS || path.join(HERE, 'artifacts');
const CHROMIUM = process.env.INGEST_CHROMIUM || '/usr/bin/chromium';
const GLOBAL_MS = 1000 * Number(process.env.INGEST_BROWSER_TIMEOUT || 300);
const AXE = path.join(TOP, 'node_modules/axe-core/axe.min.js');
const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'];
const STATS = { total: 'Total', pending: 'Pending', queued: 'Queued', running: 'Running', completed: 'Completed', failed: 'Failed' };
const WAIT_MS = 15000;     // default for a locator or a navigation
const POLL_MS = 3000;      // the dashboard's refresh period (issue 9)
const QUIET_MS = 10000;    // the window with no request once nothing is active

function need(name) {
    const v = process.env[name];
    if (!v) {
        process.stdout.write(JSON.stringify({ ok: false, name: `environment: ${name} is set`, diag: [] }) + '\n');
        process.stdout.write(JSON.stringify({ done: 1 }) + '\n');
        process.exit(1);
    }
    return v;
}

// ------------------------------------------------------------------ output

let tests = 0;
function emit(o) { process.stdout.write(JSON.stringify(o) + '\n'); }
function ok(cond, name, ...diag) {
    tests++;
    // (playwright's call logs colour their lines: the escapes go)
    emit({ ok: !!cond, name, diag: cond ? [] : diag.map((d) => (typeof d === 'string' ? d : JSON.stringify(d)).replace(/\x1b\[[0-9;]*m/g, '')) });
    return !!cond;
}
function note(s) { emit({ note: s }); }
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Calls fn every step ms until check(value) holds or ms pass; returns
// {ok, value} with the last value (an exception counts as a failed try).
async function until(fn, check, ms, step = 200) {
    const end = Date.now() + ms;
    let value;
    for (;;) {
        try { value = await fn(); if (check(value)) return { ok: true, value }; } catch (e) { value = `error: ${e.message}`; }
        if (Date.now() >= end) return { ok: false, value };
        await sleep(step);
    }
}

// ------------------------------------------------------------------ the API, from node

async function api(method, p, token, body) {
    const headers = {};
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(BASE + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(WAIT_MS) });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: res.status, json, text };
}

// ------------------------------------------------------------------ what a page did

// Every page of the context is watched from its creation: console errors,
// uncaught exceptions, failed requests, responses >= 400 and unexpected
// dialogs become problems of the scenario running then (clean() reports
// and clears them); every request to /api/ is kept with its time for the
// polling checks.
const problems = [];
const apiRequests = [];   // {t, method, url, page}
let allowed = [];         // [{status, url: RegExp}]: responses a scenario provokes on purpose
let dialogMode = 'unexpected';
const dialogs = [];
let pageSerial = 0;

function allowedResponse(status, url) {
    return allowed.some((a) => a.status === status && a.url.test(url));
}

function watch(page) {
    const label = `page ${++pageSerial}`;
    page.setDefaultTimeout(WAIT_MS);
    page.setDefaultNavigationTimeout(WAIT_MS);
    page.on('console', (m) => {
        if (m.type() !== 'error') return;
        const where = m.location()?.url || '';
        const text = m.text();
        const status = /status of (\d{3})/.exec(text);
        // chromium's own line for a response >= 400: judged with the response
        if (status && where && allowedResponse(Number(status[1]), where)) return;
        // the favicon chromium asks of the server's root, which is not the
        // dashboard's (it lives under /ingest/, maybe behind a proxy)
        if (where === `${BASE}/favicon.ico`) { note(`${label}: ${text} (${where}), not the dashboard's`); return; }
        problems.push(`${label}: console error: ${text}${where ? ` (${where})` : ''}`);
    });
    page.on('pageerror', (e) => problems.push(`${label}: uncaught exception: ${e.message}`));
    page.on('requestfailed', (r) => {
        const why = r.failure()?.errorText || '?';
        // a request cut short by a navigation or an AbortController, not a failure of the server
        if (/ERR_ABORTED/.test(why)) { note(`${label}: aborted: ${r.method()} ${r.url()}`); return; }
        problems.push(`${label}: request failed: ${r.method()} ${r.url()}: ${why}`);
    });
    page.on('response', (r) => {
        if (r.status() >= 400 && !allowedResponse(r.status(), r.url())) {
            problems.push(`${label}: ${r.status()} for ${r.request().method()} ${r.url()}`);
        }
    });
    page.on('request', (r) => {
        if (new URL(r.url()).pathname.startsWith('/api/')) apiRequests.push({ t: Date.now(), method: r.method(), url: r.url(), page });
    });
    page.on('dialog', async (d) => {
        dialogs.push({ type: d.type(), message: d.message() });
        if (dialogMode === 'accept') await d.accept().catch(() => {});
        else {
            if (dialogMode === 'unexpected') problems.push(`${label}: unexpected ${d.type()} dialog: ${d.message()}`);
            await d.dismiss().catch(() => {});
        }
    });
    return page;
}

function clean(name) {
    const p = problems.splice(0);
    ok(p.length === 0, `${name}: no console error, uncaught exception, failed request or unexpected error response`, ...p);
}

// ------------------------------------------------------------------ the page, through the contract's names

const jobsTable = (page) => page.getByRole('table', { name: 'Jobs', exact: true });
const jobRow = (page, id) => jobsTable(page).locator(`[data-job-id="${id}"]`).first();
const signOutButton = (page) => page.getByRole('button', { name: 'Sign out', exact: true });
const tokenField = (page) => page.getByLabel('Access token', { exact: true });

async function open(page, url = DASH) {
    const r = await page.goto(url, { waitUntil: 'load' });
    return r ? r.status() : 0;
}

async function signIn(page, token) {
    await tokenField(page).fill(token);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await signOutButton(page).waitFor({ state: 'visible' });
}

async function signedOut(page) {
    return (await tokenField(page).isVisible()) && !(await signOutButton(page).isVisible());
}

// The job ids of the rows on screen, in order, each once.
async function rowIds(page) {
    const ids = await jobsTable(page).locator('[data-job-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-job-id')));
    return [...new Set(ids)];
}

async function rowText(page, id) {
    const row = jobRow(page, id);
    if (!(await row.count())) return null;
    return (await row.innerText({ timeout: 2000 })).replace(/\s+/g, ' ').trim();
}

// A card's number: the first number in its text once its label is taken
// out; thousands separators (",", ".", spaces) dropped.
function numberIn(text) {
    const m = /\d[\d,.\u00a0\u202f ]*/.exec(text);
    return m ? Number(m[0].replace(/\D/g, '')) : NaN;
}

async function readStats(page) {
    const out = {};
    for (const [key, label] of Object.entries(STATS)) {
        const card = page.locator(`[data-stat="${key}"]`).first();
        const text = (await card.innerText({ timeout: 2000 })).replace(/\s+/g, ' ').trim();
        out[key] = { text, label: text.toLowerCase().includes(label.toLowerCase()), n: numberIn(text.replace(new RegExp(label, 'i'), '')) };
    }
    return out;
}

// Waits until the cards show what GET /api/ingest/stats says (both read
// again each time); true when they agree.
async function statsAgree(page, token, name) {
    let apiStats;
    const r = await until(async () => {
        apiStats = (await api('GET', '/api/ingest/stats', token)).json;
        return readStats(page);
    }, (cards) => apiStats && Object.keys(STATS).every((k) => cards[k].label && cards[k].n === apiStats[k]), 3 * POLL_MS);
    return ok(r.ok, `${name}: the stats cards (${Object.values(STATS).join(', ')}) show GET /api/ingest/stats`,
        `api: ${JSON.stringify(apiStats)}`, `cards: ${JSON.stringify(r.value)}`);
}

// Picks the option of a select whose value or text is `want` (any case),
// or starts with it; returns the chosen value, or null when none matches.
async function choose(select, want) {
    const opts = await select.evaluate((el) => [...el.options].map((o) => ({ value: o.value, label: o.label || o.text })));
    const w = want.toLowerCase();
    const hit = opts.find((o) => o.value.toLowerCase() === w || o.label.trim().toLowerCase() === w)
        || opts.find((o) => o.label.trim().toLowerCase().startsWith(w));
    if (!hit) return null;
    await select.selectOption(hit.value);
    return hit.value;
}

async function selected(select) {
    return select.evaluate((el) => { const o = el.options[el.selectedIndex]; return o ? `${o.value} ${o.label || o.text}` : ''; });
}

// The upload progress bar's fraction (0..1), null when absent.
async function progress(page) {
    const bar = page.getByRole('progressbar', { name: 'Upload progress', exact: true, includeHidden: true }).first();
    if (!(await bar.count())) return null;
    return bar.evaluate((el) => {
        const now = el.getAttribute('aria-valuenow') ?? (el.tagName === 'PROGRESS' ? el.value : null);
        const max = el.getAttribute('aria-valuemax') ?? (el.tagName === 'PROGRESS' ? el.max : 100);
        return now === null || now === '' ? null : Number(now) / Number(max || 100);
    });
}

// Chooses a file and its declared type and presses Upload.
async function upload(page, name, content, type) {
    await page.getByLabel('File', { exact: true }).setInputFiles({ name, mimeType: 'text/csv', buffer: Buffer.from(content) });
    const typeSelect = page.getByLabel('File type', { exact: true });
    const prefilled = await selected(typeSelect);
    let chosen = null;
    if (type) chosen = await choose(typeSelect, type);
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    return { prefilled, chosen };
}

// The id of the row whose text names `filename`, once it is on screen.
async function rowOf(page, filename, ms = WAIT_MS) {
    const row = jobsTable(page).locator('[data-job-id]').filter({ hasText: filename }).first();
    await row.waitFor({ state: 'visible', timeout: ms });
    return row.getAttribute('data-job-id');
}

// Requests to /api/ made by `page` from `from` (ms since the epoch) on.
// The event stream (GET /api/ingest/events) is one long request, not
// polling: the quiet and polling checks leave it out, streamSince has it.
const isStream = (r) => new URL(r.url).pathname.endsWith('/api/ingest/events');
const apiSince = (page, from) => apiRequests.filter((r) => r.page === page && r.t >= from && !isStream(r));
const streamSince = (page, from) => apiRequests.filter((r) => r.page === page && r.t >= from && isStream(r));

// Waits until `page` has made no request to /api/ for `gap` ms (at most `ms`).
async function settle(page, gap = 1500, ms = 2 * POLL_MS + 2000) {
    const end = Date.now() + ms;
    while (Date.now() < end) {
        const last = apiRequests.filter((r) => r.page === page).reduce((m, r) => Math.max(m, r.t), 0);
        if (Date.now() - last >= gap) return true;
        await sleep(200);
    }
    return false;
}

async function quietFor(page, name) {
    await settle(page);
    const from = Date.now();
    await sleep(QUIET_MS);
    const seen = apiSince(page, from);
    ok(seen.length === 0, `${name}: no request to /api/ for ${QUIET_MS / 1000} s`,
        ...seen.map((r) => `${r.t - from} ms: ${r.method} ${r.url}`));
}

async function axeCheck(page, name) {
    // Evaluated, not added with page.addScriptTag: that inserts an inline
    // <script>, which the dashboard's Content-Security-Policy rightly refuses.
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(fs.readFileSync(AXE, 'utf8'));
    const violations = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ['violations'] })).violations
        .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ')) })));
    const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of violations.filter((x) => !bad.includes(x))) note(`${name}: axe (${v.impact}): ${v.id}: ${v.help}`);
    ok(bad.length === 0, `${name}: axe-core reports no serious or critical violation`,
        ...bad.map((v) => `${v.impact}: ${v.id}: ${v.help}: ${v.nodes.join(', ')}`));
}

// ------------------------------------------------------------------ data

function csvRows(n) {
    const lines = ['id,name,amount,day'];
    for (let i = 1; i <= n; i++) lines.push(`${i},${i === 1 ? 'preview-check-first' : `name-${i}`},${(i * 1.25).toFixed(2)},2026-01-${String(1 + (i % 28)).padStart(2, '0')}`);
    return lines.join('\n') + '\n';
}
const has2000 = (t) => /(^|\D)2[,.\u00a0\u202f ]?000(\D|$)/.test(t);

// ------------------------------------------------------------------ scenarios

const state = {};   // what a scenario leaves to the next ones

async function scenarioLaunch(context, userDataDir) {
    // the browser process: a child of this one, with our flags and profile
    const mine = [];
    for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            if (ppid !== process.pid) continue;
            mine.push(fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean));
        } catch { /* gone */ }
    }
    const browser = mine.find((argv) => argv.includes(`--user-data-dir=${userDataDir}`));
    ok(browser && FLAGS.every((f) => browser.includes(f)) && /chromium/.test(browser[0]),
        `chromium runs headless with ${FLAGS.join(' ')} and a fresh --user-data-dir`, ...(browser ? [browser.join(' ')] : mine.map((a) => a.join(' '))));
    try { note(execFileSync(CHROMIUM, ['--version'], { timeout: 10000, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()); } catch { /* said by the test above */ }
}

async function scenarioSignIn(page) {
    const status = await open(page);
    ok(status === 200, `GET /ingest/ answers 200`, `status ${status}`);
    ok(await tokenField(page).isVisible() && await page.getByRole('button', { name: 'Sign in', exact: true }).isVisible(),
        'signed out: a field labelled "Access token" and a "Sign in" button');
    // a token the server refuses: back to sign-in (its 401s are on purpose)
    allowed = [{ status: 401, url: /\/api\// }];
    await tokenField(page).fill('not-a-valid-token');
    const refused = page.waitForResponse((r) => r.url().includes('/api/') && r.status() === 401, { timeout: 5000 }).catch(() => null);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await refused;
    const back = await until(() => signedOut(page), (v) => v, 5000);
    ok(back.ok, 'a refused token leaves the page signed out, at the sign-in form');
    allowed = [];
    await signIn(page, TOKEN.A);
    ok(await signOutButton(page).isVisible(), 'signed in with a token: a "Sign out" button');
    await jobsTable(page).waitFor({ state: 'visible' });
    ok(true, 'a table whose caption is "Jobs"');
    for (const key of Object.keys(STATS)) {
        ok(await page.locator(`[data-stat="${key}"]`).count() >= 1, `a stats card [data-stat="${key}"]`);
    }
    await statsAgree(page, TOKEN.A, 'signed in, no job yet');
    const stored = await page.evaluate(() => JSON.stringify(Object.values(sessionStorage)));
    ok(stored.includes(TOKEN.A), 'the token is kept in sessionStorage');
    state.signedIn = true;
    clean('sign-in');
}

async function scenarioUpload(page, cdp) {
    const name = 'browser-rows.csv';   // no digits: the row's 2000 must be the record count
    const csv = csvRows(2000);
    // slow the upload down (~32 KiB/s) so the progress bar is seen moving
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 32 * 1024 });
    const samples = [];
    let sampling = true;
    const sampler = (async () => {
        const end = Date.now() + 30000;
        while (sampling && Date.now() < end) {
            try { const f = await progress(page); if (f !== null) samples.push(f); } catch { /* re-rendered */ }
            await sleep(50);
        }
    })();
    let id;
    try {
        const putDone = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/api/ingest/upload/'),
            { timeout: 30000 });
        const { prefilled } = await upload(page, name, csv);
        ok(/csv/i.test(prefilled), 'choosing a .csv file pre-fills "File type" with csv', `selected: ${prefilled}`);
        const put = await putDone;
        ok(put.status() === 200, 'the file goes to the presigned upload URL (PUT 200)', `status ${put.status()}`);
        id = await rowOf(page, name);
    } finally {
        sampling = false;
        await sampler;
        await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    }
    const fmt = samples.map((f) => Math.round(f * 100));
    ok(samples.length > 0, 'a progress bar labelled "Upload progress"');
    ok(samples.some((f) => f > 0 && f < 1), 'the progress bar moves during the upload (a value between 0 and 100 %)', `seen: ${fmt.join(' ')}`);
    ok(samples.every((f, i) => i === 0 || f >= samples[i - 1] || f === 0), 'the progress bar does not go back during the upload', `seen: ${fmt.join(' ')}`);
    note(`upload progress seen: ${fmt.join(' ')}`);
    ok(id, `the uploaded file has a row in the Jobs table (${name})`);
    if (!id) return;
    const listed = (await api('GET', '/api/ingest/jobs?limit=100', TOKEN.A)).json?.jobs?.find((j) => j.filename === name);
    ok(listed?.job_id === id, "the row's data-job-id is the job's id", `api: ${listed?.job_id}`);
    const done = await until(() => rowText(page, id), (t) => t && /\bcompleted\b/i.test(t) && has2000(t), 45000);
    ok(done.ok, 'the row reaches "completed" and shows 2000 records, without a reload', `row: ${done.value}`);
    const job = (await api('GET', `/api/ingest/status/${id}`, TOKEN.A)).json;
    ok(job?.status === 'completed' && job?.records_processed === 2000, 'GET status: completed, 2000 records', JSON.stringify(job));
    state.completedId = id;
    // the preview of the first records, on expand
    await jobRow(page, id).getByRole('button', { name: 'Details' }).first().click();
    const preview = await until(() => page.getByText('preview-check-first').first().isVisible(), (v) => v, WAIT_MS);
    ok(preview.ok, 'Details shows the preview of the first records (preview-check-first)');
    await statsAgree(page, TOKEN.A, 'after the upload');
    clean('upload');
}

async function scenarioWrongType(page) {
    const name = 'browser-wrong-type.csv';
    const { chosen } = await upload(page, name, 'id,name\n1,alpha\n2,beta\n', 'json');
    ok(chosen !== null, '"File type" offers json', 'no option json');
    const id = await rowOf(page, name).catch(() => null);
    ok(id, `the file declared json has a row (${name})`);
    if (!id) return;
    const failed = await until(() => rowText(page, id), (t) => t && /\bfailed\b/i.test(t), 45000);
    ok(failed.ok, 'a CSV declared as json: its row reaches "failed"', `row: ${failed.value}`);
    const job = (await api('GET', `/api/ingest/status/${id}`, TOKEN.A)).json;
    ok(job?.status === 'failed' && job?.error, 'GET status: failed, with an error', JSON.stringify(job));
    const error = String(job?.error ?? '').replace(/\s+/g, ' ').trim();
    let shown = await until(() => rowText(page, id), (t) => t && error && t.includes(error), 5000);
    if (!shown.ok && error) {
        // the row may show the start of it, and the whole on expand
        await jobRow(page, id).getByRole('button', { name: 'Details' }).first().click().catch(() => {});
        const whole = await until(() => page.getByText(error, { exact: false }).first().isVisible(), (v) => v, 5000);
        if (whole.ok) note('the error is whole only under Details');
        shown = { ok: whole.ok, value: shown.value };
    }
    ok(shown.ok, "the failed job's row (or its Details) shows its error", `error: ${error}`, `row: ${shown.value}`);
    state.failedId = id;
    await statsAgree(page, TOKEN.A, 'after the failed job');
    clean('a file that does not parse');
}

async function scenarioFilter(page) {
    const filter = page.getByLabel('Status filter', { exact: true });
    const want = [state.failedId, state.completedId];
    if (!want.every(Boolean)) { ok(false, 'status filter: needs the completed and the failed job'); return; }
    ok(await choose(filter, 'failed') !== null, '"Status filter" offers failed');
    const only = await until(() => rowIds(page), (ids) => ids.includes(state.failedId) && !ids.includes(state.completedId), 2 * POLL_MS);
    ok(only.ok, 'Status filter "failed": the failed job is listed, the completed one is not', `rows: ${only.value}`);
    ok(await choose(filter, 'completed') !== null, '"Status filter" offers completed');
    const other = await until(() => rowIds(page), (ids) => !ids.includes(state.failedId) && ids.includes(state.completedId), 2 * POLL_MS);
    ok(other.ok, 'Status filter "completed": the completed job is listed, the failed one is not', `rows: ${other.value}`);
    // back to every status: the first option (whatever it is called)
    await filter.selectOption({ index: 0 });
    const all = await until(() => rowIds(page), (ids) => want.every((i) => ids.includes(i)), 2 * POLL_MS);
    ok(all.ok, "Status filter's first option lists both jobs again", `first option: ${await selected(filter)}`, `rows: ${all.value}`);
    clean('status filter');
}

const pctOf = (text) => { const m = /\b(\d{1,3})%/.exec(text || ''); return m ? Number(m[1]) : -1; };

async function scenarioLive(page) {
    // a fresh load, signed in: the page opens the event stream
    const from = Date.now();
    await open(page);
    await signOutButton(page).waitFor({ state: 'visible' });
    const indicator = page.locator('#live-indicator');
    const pushed = await until(() => indicator.innerText().catch(() => ''), (t) => /pushed by the server/.test(t), 10000);
    ok(pushed.ok, 'with the event stream open, the page says its updates are pushed', `indicator: ${pushed.value}`);
    ok(streamSince(page, from).length === 1, 'the page opened one GET /api/ingest/events',
        ...streamSince(page, from).map((r) => `${r.t - from} ms: ${r.url}`));
    await quietFor(page, 'with the stream open and nothing active: no polling');
    // a mappings job started by another client: 30 mappings in batches of
    // 5, 2 s apart
    const mappings = Array.from({ length: 30 }, (_, i) => ({ id: `p${i + 1}`, source: `s.c${i + 1}`, target: `d.c${i + 1}` }));
    const res = await api('POST', '/api/ingest/json', TOKEN.A, { mappings });
    const id = res.json?.job_id;
    ok(res.status === 202 && id, 'a mappings job started through the API (202)', `status ${res.status}`);
    if (!id) return;
    const row = await until(() => rowText(page, id), (t) => t !== null, 5000);
    ok(row.ok, 'the job started elsewhere gets its row without a reload or a poll', `row: ${row.value}`);
    const first = await until(() => rowText(page, id), (t) => /running/i.test(t || '') && pctOf(t) > 0, 20000);
    ok(first.ok, 'its progress shows on screen', `row: ${first.value}`);
    await sleep(500); // the list read the status change to running asked for
    const since = Date.now();
    const later = await until(() => rowText(page, id), (t) => pctOf(t) > pctOf(first.value), 8000);
    const asked = apiSince(page, since);
    ok(later.ok && asked.length === 0, 'its progress advances on screen with no request: pushed by the server',
        `from ${first.value} to ${later.value}`, ...asked.map((r) => `${r.t - since} ms: ${r.method} ${r.url}`));
    const done = await until(() => rowText(page, id), (t) => /\bcompleted\b/i.test(t || ''), 60000);
    ok(done.ok, 'it reaches "completed" on screen, pushed', `row: ${done.value}`);
    clean('live updates');
}

async function scenarioPolling(page) {
    // without the event stream (the server's 503 when IngestEventsMaxStreams
    // is reached, or its events session is down) the page polls
    allowed = [{ status: 503, url: /\/api\/ingest\/events/ }];
    await page.route('**/api/ingest/events*', (route) => route.fulfill({
        status: 503, contentType: 'application/problem+json', headers: { 'Retry-After': '5' },
        body: JSON.stringify({ type: 'urn:mod-ingest:problem:too-many-streams', title: 'Too many event streams', status: 503 }),
    }));
    try {
        await pollingWithoutStream(page);
    } finally {
        await page.unroute('**/api/ingest/events*');
    }
}

async function pollingWithoutStream(page) {
    // a fresh load, signed in (sessionStorage keeps the token), nothing active
    await open(page);
    await signOutButton(page).waitFor({ state: 'visible' });
    await jobRow(page, state.completedId).waitFor({ state: 'visible' });
    ok(true, 'a reload keeps the tab signed in');
    const indicator = await page.locator('#live-indicator').innerText().catch(() => '');
    ok(!/pushed/.test(indicator), 'the stream answered 503: the page does not claim pushed updates', `indicator: ${indicator}`);
    await quietFor(page, 'polling stops: no active job after a page load');
    // a mappings job started through the JSON field: 30 mappings in batches
    // of 5, 2 s apart, so it is active for about 10 s
    const mappings = Array.from({ length: 30 }, (_, i) => ({ id: `m${i + 1}`, source: `src.col${i + 1}`, target: `dst.col${i + 1}` }));
    await page.getByLabel('JSON body', { exact: true }).fill(JSON.stringify({ mappings, priority: 'HIGH' }, null, 1));
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/api/ingest/json'));
    await page.getByRole('button', { name: 'Ingest JSON', exact: true }).click();
    const res = await posted;
    const started = Date.now();
    const body = await res.json().catch(() => ({}));
    ok(res.status() === 202 && body.job_id, 'Ingest JSON: the mappings job is accepted (202)', `status ${res.status()}`);
    const id = body.job_id;
    if (!id) return;
    const row = await until(() => rowText(page, id), (t) => t !== null, 5000);
    ok(row.ok, 'the new job has its row at once', `row: ${row.value}`);
    // polling resumes: requests well after the POST's own, while the job runs
    const resumed = await until(async () => apiSince(page, started + 2000).filter((r) => r.method === 'GET'), (l) => l.length > 0, 2 * POLL_MS + 2000);
    const active = (await api('GET', `/api/ingest/status/${id}`, TOKEN.A)).json?.status;
    ok(resumed.ok, 'polling resumes: requests to /api/ while the job started from the page is active',
        `job status now: ${active}`, ...apiSince(page, started - 1000).map((r) => `${r.t - started} ms: ${r.method} ${r.url}`));
    const done = await until(() => rowText(page, id), (t) => t && /\bcompleted\b/i.test(t), 60000);
    ok(done.ok, 'the mappings job reaches "completed" on screen, without a reload', `row: ${done.value}`);
    await quietFor(page, 'polling stops again once the job is done');
    state.mappingsId = id;
    clean('polling');
}

async function scenarioDelete(page) {
    const id = state.mappingsId;
    if (!id) { ok(false, 'delete: needs the mappings job'); return; }
    const before = dialogs.length;
    dialogMode = 'dismiss';
    await jobRow(page, id).getByRole('button', { name: 'Delete' }).first().click();
    const asked = await until(() => dialogs.length, (n) => n > before, 5000);
    ok(asked.ok && dialogs[before]?.type === 'confirm', 'Delete asks for confirmation (window.confirm)', JSON.stringify(dialogs.slice(before)));
    await sleep(1000);
    ok(await jobRow(page, id).count() > 0, 'declined: the row stays');
    ok((await api('GET', `/api/ingest/status/${id}`, TOKEN.A)).status === 200, 'declined: the job stays (GET status 200)');
    // a request for it already on its way may find it gone: on purpose
    allowed = [{ status: 404, url: new RegExp(id) }];
    dialogMode = 'accept';
    const deleted = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().includes(id)).catch(() => null);
    await jobRow(page, id).getByRole('button', { name: 'Delete' }).first().click();
    const del = await deleted;
    ok(del?.status() === 204, 'confirmed: DELETE answers 204', `status ${del?.status()}`);
    const gone = await until(() => jobRow(page, id).count(), (n) => n === 0, WAIT_MS);
    ok(gone.ok, 'confirmed: the row is removed');
    ok((await api('GET', `/api/ingest/status/${id}`, TOKEN.A)).status === 404, 'confirmed: the job is gone (GET status 404)');
    await statsAgree(page, TOKEN.A, 'after the delete');
    dialogMode = 'unexpected';
    clean('delete');
    allowed = [];
}

async function scenarioA11yAndScreens(page, name, prefix) {
    await axeCheck(page, name);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.screenshot({ path: path.join(ARTIFACTS, `${prefix}-1280.png`), fullPage: true });
    await page.setViewportSize({ width: 360, height: 740 });
    await sleep(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    ok(width <= 360, `${name}: nothing wider than a 360 px viewport (no sideways scrolling)`, `scrollWidth ${width}`);
    await page.screenshot({ path: path.join(ARTIFACTS, `${prefix}-360.png`), fullPage: true });
    await axeCheck(page, `${name}, 360 px`);
    await page.setViewportSize({ width: 1280, height: 800 });
    note(`screenshots: ${path.join(ARTIFACTS, `${prefix}-1280.png`)}, ${prefix}-360.png`);
}

async function scenarioTenants(context, page) {
    const aIds = [state.completedId, state.failedId].filter(Boolean);
    // B has a job of its own, made through the API
    const b = await api('POST', '/api/ingest/json', TOKEN.B, { records: [{ id: 1, name: 'bob' }] });
    ok(b.status === 202, 'tenant B: a job of its own (POST /api/ingest/json)', b.text);
    const bId = b.json?.job_id;
    await until(async () => (await api('GET', `/api/ingest/status/${bId}`, TOKEN.B)).json?.status, (s) => s === 'completed', 20000);
    // sign out, on A's page
    await signOutButton(page).click();
    const out = await until(() => signedOut(page), (v) => v, WAIT_MS);
    ok(out.ok, 'Sign out: back to the sign-in form');
    const stored = await page.evaluate(() => JSON.stringify(Object.values(sessionStorage)));
    ok(!stored.includes(TOKEN.A), 'Sign out forgets the token (not in sessionStorage)');
    const visible = (await rowIds(page).catch(() => [])).filter((i) => aIds.includes(i));
    ok(visible.length === 0 || !(await jobsTable(page).isVisible()), "signed out: A's jobs are no longer shown", `rows: ${visible}`);
    await open(page);
    ok(await until(() => signedOut(page), (v) => v, 5000).then((r) => r.ok), 'after Sign out, a reload stays signed out');
    // B on the same tab, through the form
    await signIn(page, TOKEN.B);
    const bRow = await until(() => rowIds(page), (ids) => ids.includes(bId), WAIT_MS);
    ok(bRow.ok, "tenant B signed in on the same tab: B's job is listed", `rows: ${bRow.value}`);
    ok(!bRow.value.some?.((i) => aIds.includes(i)), "tenant B sees none of A's jobs", `rows: ${bRow.value}`);
    await statsAgree(page, TOKEN.B, 'tenant B');
    // B in a new tab, signed in by the #token= fragment
    const tab = watch(await context.newPage());
    await open(tab, `${DASH}#token=${encodeURIComponent(TOKEN.B)}`);
    const viaFragment = await until(() => signOutButton(tab).isVisible(), (v) => v, WAIT_MS);
    ok(viaFragment.ok, 'a #token= fragment signs a new tab in');
    const tabRows = await until(() => rowIds(tab), (ids) => ids.includes(bId), WAIT_MS);
    ok(tabRows.ok && !tabRows.value.some((i) => aIds.includes(i)), "the tab signed in by fragment lists B's job and none of A's", `rows: ${tabRows.value}`);
    note(`after sign-in by fragment the address is ${tab.url().includes('token=') ? 'still holding the token' : 'without the token'}`);
    await tab.close();
    clean('tenant isolation');
}

async function scenarioPaging(context) {
    // 101 pending jobs: more than any page (the API's limit is at most 100)
    const made = [];
    for (let i = 0; i < 101; i++) {
        const r = await api('POST', '/api/ingest/init', TOKEN.C, { filename: `paging-${String(i).padStart(3, '0')}.csv`, file_type: 'csv', file_size: 10 });
        if (r.json?.job_id) made.push(r.json.job_id);
    }
    ok(made.length === 101, 'tenant C: 101 pending jobs (POST /api/ingest/init)', `made ${made.length}`);
    const page = watch(await context.newPage());
    await open(page, `${DASH}#token=${encodeURIComponent(TOKEN.C)}`);
    const first = await until(() => rowIds(page), (ids) => ids.length > 0, WAIT_MS);
    const p1 = first.value;
    ok(first.ok && p1.length < 101 && p1.every((i) => made.includes(i)), 'tenant C: the first page lists some of its jobs, not all 101', `rows: ${p1.length}`);
    await statsAgree(page, TOKEN.C, 'tenant C');
    await page.getByRole('button', { name: 'Next', exact: true }).click();
    const second = await until(() => rowIds(page), (ids) => ids.length > 0 && !ids.some((i) => p1.includes(i)), WAIT_MS);
    ok(second.ok && second.value.every((i) => made.includes(i)), 'Next: another page, none of the first page\'s jobs', `rows: ${second.value}`);
    await page.getByRole('button', { name: 'Previous', exact: true }).click();
    const back = await until(() => rowIds(page), (ids) => ids.join() === p1.join(), WAIT_MS);
    ok(back.ok, 'Previous: the first page again');
    await page.close();
    clean('paging');
}

async function scenarioCost(context) {
    const page = watch(await context.newPage());
    await open(page);
    await signIn(page, TOKEN.D);
    const now = Date.now();
    const iso = (ms) => new Date(ms).toISOString();
    const jobs = [
        { job_id: 'browser-ml-1', team: 'browser-team-red', model_name: 'browser-model-alpha', gpu_type: 'A100-80GB', provider: 'aws', status: 'completed', started_at: iso(now - 3 * 3600e3), ended_at: iso(now - 2 * 3600e3), gpu_hours: 8, cost_usd: 32.5 },
        { job_id: 'browser-ml-2', team: 'browser-team-blue', model_name: 'browser-model-beta', gpu_type: 'T4', provider: 'gcp', status: 'completed', started_at: iso(now - 2 * 3600e3), ended_at: iso(now - 3600e3), gpu_hours: 2, cost_usd: 1.75 },
        { job_id: 'browser-ml-3', team: 'browser-team-red', model_name: 'browser-model-beta', gpu_type: 'T4', provider: 'gcp', status: 'completed', started_at: iso(now - 2 * 3600e3), ended_at: iso(now - 3600e3), gpu_hours: 2, cost_usd: 2.25 },
    ];
    await page.getByLabel('JSON body', { exact: true }).fill(JSON.stringify({ jobs }, null, 1));
    const posted = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().includes('/api/ingest/json'));
    await page.getByRole('button', { name: 'Ingest JSON', exact: true }).click();
    const res = await posted;
    const id = (await res.json().catch(() => ({}))).job_id;
    ok(res.status() === 202 && id, 'Ingest JSON: ML job metadata accepted (202)', `status ${res.status()}`);
    const done = await until(() => rowText(page, id), (t) => t && /\bcompleted\b/i.test(t), 30000);
    ok(done.ok, 'the job metadata ingestion reaches "completed" on screen', `row: ${done.value}`);
    await open(page);
    const heading = page.getByRole('heading', { name: 'Cost analytics', exact: true });
    await heading.waitFor({ state: 'visible' }).catch(() => {});
    ok(await heading.isVisible(), 'a tenant with ML job metadata: a "Cost analytics" heading');
    const section = page.locator('section, [role="region"]').filter({ has: heading }).last();
    const names = ['browser-model-alpha', 'browser-model-beta', 'browser-team-red', 'browser-team-blue'];
    const text = await until(async () => (await section.textContent()) ?? '', (t) => names.every((n) => t.includes(n)), WAIT_MS);
    ok(text.ok, 'Cost analytics names every model and team of the metadata', `missing: ${names.filter((n) => !String(text.value).includes(n))}`);
    ok(await section.locator('svg').count() > 0, 'Cost analytics draws its charts as inline SVG');
    ok(await section.getByRole('table').count() > 0, 'Cost analytics has its numbers in a table');
    await scenarioA11yAndScreens(page, 'cost analytics', 'cost-analytics');
    await page.close();
    clean('cost analytics');
}

// ------------------------------------------------------------------ main

async function main() {
    // below the integration tests that prove -j2 runs beside this one, some
    // of which time what they watch; chromium inherits it
    try { os.setPriority(Number(process.env.INGEST_BROWSER_NICE ?? 10)); } catch { /* not allowed: as is */ }
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const userDataDir = process.env.INGEST_USER_DATA_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'ingest-chromium-'));
    if (fs.readdirSync(userDataDir).length) throw new Error(`${userDataDir} is not empty: chromium's profile must be fresh`);
    let context;
    const closeAll = async () => {
        if (context) { const c = context; context = null; await c.close().catch(() => {}); }
        fs.rmSync(userDataDir, { recursive: true, force: true });
    };
    const timer = setTimeout(async () => {
        ok(false, `the browser test finished within ${GLOBAL_MS / 1000} s`);
        await Promise.race([closeAll(), sleep(10000)]);
        process.exit(1);
    }, GLOBAL_MS);
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
        process.on(sig, async () => { await Promise.race([closeAll(), sleep(5000)]); process.exit(1); });
    }
    let finished = false;
    try {
        context = await chromium.launchPersistentContext(userDataDir, {
            executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: 60000,
            viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'UTC',
        });
        context.setDefaultTimeout(WAIT_MS);
        await scenarioLaunch(context, userDataDir);
        const page = watch(context.pages()[0] ?? await context.newPage());
        const cdp = await context.newCDPSession(page);
        const steps = [
            ['sign-in', () => scenarioSignIn(page)],
            ['upload', () => scenarioUpload(page, cdp)],
            ['a file that does not parse', () => scenarioWrongType(page)],
            ['status filter', () => scenarioFilter(page)],
            ['live updates', () => scenarioLive(page)],
            ['polling', () => scenarioPolling(page)],
            ['delete', () => scenarioDelete(page)],
            ['dashboard with jobs', () => scenarioA11yAndScreens(page, 'dashboard with jobs', 'dashboard')],
            ['tenant isolation', () => scenarioTenants(context, page)],
            ['signed out', async () => {
                await signOutButton(page).click();
                await tokenField(page).waitFor({ state: 'visible' });
                await scenarioA11yAndScreens(page, 'sign-in form', 'signin');
            }],
            ['paging', () => scenarioPaging(context)],
            ['cost analytics', () => scenarioCost(context)],
        ];
        for (const [name, fn] of steps) {
            note(`scenario: ${name}`);
            allowed = [];
            dialogMode = 'unexpected';
            try { await fn(); } catch (e) { ok(false, `${name}: ran to its end`, e.stack || String(e)); }
            if (problems.length) clean(name);
            if (name === 'sign-in' && !state.signedIn) {
                ok(false, 'the dashboard loads at /ingest/ and signs in: the other scenarios need it, and were not run');
                break;
            }
        }
        finished = true;
    } catch (e) {
        ok(false, 'chromium started and the scenarios ran', e.stack || String(e));
    } finally {
        clearTimeout(timer);
        await closeAll();
    }
    emit({ done: tests });
    process.exit(finished ? 0 : 1);
}

main().catch((e) => {
    ok(false, 'the browser test set up', e.stack || String(e));
    emit({ done: tests });
    process.exit(1);
});
