// Live updates pushed by the server: GET /api/ingest/events, Server-Sent
// Events read with fetch() rather than EventSource, because EventSource
// cannot send the bearer token. It does what EventSource does: parses the
// stream as the HTML standard says, reconnects after the server's "retry"
// with the last event id as Last-Event-ID (so nothing is missed), and stops
// on 204. When the stream cannot be had (503: the server's
// IngestEventsMaxStreams is reached, or its events session is down; any
// other answer; the network), the caller polls instead, and the stream is
// tried again later, less often each time (30 s, 1, 2, 4, 8 min, at most
// 10 min).

import { apiUrl } from './api.js';
import { getToken } from './auth.js';

export function createEventStream({ onJob, onReload, onState }) {
  let enabled = false;
  let controller = null;
  let timer = null;
  let lastId = null;
  let retryMs = 3000;
  let failures = 0;
  let state = 'off'; // off | connecting | live | unavailable

  function setState(next) {
    if (next === state) return;
    state = next;
    onState(next);
  }

  function schedule(ms) {
    clearTimeout(timer);
    timer = setTimeout(connect, ms);
  }

  function unavailable(retryAfter) {
    failures += 1;
    setState('unavailable');
    const seconds = Math.min(600, Math.max(Number(retryAfter) || 0, 30 * 2 ** Math.min(failures - 1, 4)));
    schedule(seconds * 1000);
  }

  function dispatch(ev) {
    if (ev.id !== undefined) lastId = ev.id;
    if (ev.data === undefined) return;
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (ev.event === 'job') onJob(data);
    else if (ev.event === 'reload') onReload(data);
  }

  // Reads the stream to its end; false when it was aborted.
  async function read(body, signal) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let ev = {};
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return true;
        buf += value;
        for (let m = /\r\n|\n|\r/.exec(buf); m; m = /\r\n|\n|\r/.exec(buf)) {
          // a CR at the very end may be the first half of a CRLF
          if (m[0] === '\r' && m.index === buf.length - 1) break;
          const line = buf.slice(0, m.index);
          buf = buf.slice(m.index + m[0].length);
          if (line === '') {
            dispatch(ev);
            ev = {};
          } else if (!line.startsWith(':')) {
            const c = line.indexOf(':');
            const field = c < 0 ? line : line.slice(0, c);
            let v = c < 0 ? '' : line.slice(c + 1);
            if (v.startsWith(' ')) v = v.slice(1);
            if (field === 'data') ev.data = ev.data === undefined ? v : `${ev.data}\n${v}`;
            else if (field === 'event') ev.event = v;
            else if (field === 'id' && !v.includes('\0')) ev.id = v;
            else if (field === 'retry' && /^\d+$/.test(v)) retryMs = Number(v);
          }
        }
      }
    } catch {
      return !signal.aborted;
    }
  }

  async function connect() {
    timer = null;
    if (!enabled) return;
    const mine = new AbortController();
    controller = mine;
    setState(state === 'live' ? 'live' : 'connecting');
    const headers = { Accept: 'text/event-stream' };
    const token = getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (lastId !== null) headers['Last-Event-ID'] = lastId;
    let res;
    try {
      res = await fetch(apiUrl('ingest/events'), {
        headers, cache: 'no-store', credentials: 'same-origin', signal: mine.signal,
      });
    } catch {
      if (controller === mine && enabled) unavailable();
      return;
    }
    if (controller !== mine || !enabled) return;
    if (res.status === 204) {
      setState('off'); // nothing more will come (a one-job stream): as EventSource
      return;
    }
    if (res.status !== 200 || !res.body) {
      res.body?.cancel().catch(() => {});
      unavailable(res.headers.get('Retry-After'));
      return;
    }
    failures = 0;
    setState('live');
    const ended = await read(res.body, mine.signal);
    if (controller !== mine || !enabled || !ended) return;
    // the server ended it (a restart, a lost connection): back after "retry",
    // resuming after the last event; polling fills the gap meanwhile
    setState('connecting');
    schedule(retryMs);
  }

  return {
    start() {
      if (enabled) return;
      enabled = true;
      lastId = null;
      failures = 0;
      connect();
    },
    stop() {
      enabled = false;
      clearTimeout(timer);
      timer = null;
      if (controller) controller.abort();
      controller = null;
      setState('off');
    },
    get live() {
      return state === 'live';
    },
  };
}
