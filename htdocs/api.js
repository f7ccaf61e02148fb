// The API client. Every URL is relative to the page: the page is served at
// <prefix>/ingest/ and the API at <prefix>/api/, so the dashboard works
// behind a reverse proxy under any path prefix.

import { getToken } from './auth.js';

/** <prefix>/api/, from the page's own URL. */
export const API_BASE = new URL('../api/', document.baseURI);

/**
 * The URL of an API path: 'ingest/jobs', or a path the API returned
 * ('/api/ingest/upload/…?expires=…', status_url, results_url), which is
 * taken relative to the page's ../api/ so that a proxy prefix is kept.
 */
export function apiUrl(path, params) {
  let rel = String(path);
  if (rel.startsWith('/api/')) rel = rel.slice('/api/'.length);
  rel = rel.replace(/^\/+/, '');
  const url = new URL(rel, API_BASE);
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, String(v));
  }
  return url;
}

/** An answer that is not 2xx, with its RFC 9457 problem document if any. */
export class ApiError extends Error {
  constructor(status, problem, fallback) {
    super(problemMessage(status, problem, fallback));
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem && typeof problem === 'object' ? problem : null;
  }

  /** The request field the problem names (422 invalid-field), if any. */
  get field() {
    const p = this.problem;
    if (!p) return null;
    if (typeof p.field === 'string') return p.field;
    // other shapes some APIs use; mod_ingest sends `field`
    if (Array.isArray(p.invalid_params) && p.invalid_params[0]?.name) return p.invalid_params[0].name;
    if (Array.isArray(p.errors) && p.errors[0]) return p.errors[0].field || p.errors[0].pointer || null;
    return null;
  }

  get type() {
    const t = this.problem?.type || '';
    return t.startsWith('urn:mod-ingest:problem:') ? t.slice('urn:mod-ingest:problem:'.length) : t;
  }
}

/** A readable sentence: "Title: detail", or what we know. */
export function problemMessage(status, problem, fallback) {
  if (problem && typeof problem === 'object' && (problem.title || problem.detail)) {
    const { title, detail } = problem;
    if (title && detail) return `${title}: ${detail}`;
    return String(title || detail);
  }
  if (fallback) return fallback;
  if (status === 0) return 'The server cannot be reached.';
  return `The server answered ${status}.`;
}

let unauthorizedHandler = null;

/** Called with the ApiError of any 401, before the caller sees it. */
export function onUnauthorized(fn) {
  unauthorizedHandler = fn;
}

function parseBody(text, contentType) {
  if (!text || !/json/i.test(contentType || '')) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * fetch() with the bearer token. json: a value to send as JSON, or a string
 * sent as it is (the JSON ingest sends the user's text unchanged, so the
 * server's line and column point into it). Resolves with the parsed body
 * (null for 204); rejects with an ApiError.
 */
export async function request(method, path, { params, json } = {}) {
  const headers = { Accept: 'application/json, application/problem+json' };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body;
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = typeof json === 'string' ? json : JSON.stringify(json);
  }
  let res;
  try {
    res = await fetch(apiUrl(path, params), {
      method, headers, body, cache: 'no-store', credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, null, `The server cannot be reached (${e.message}).`);
  }
  const text = res.status === 204 ? '' : await res.text().catch(() => '');
  const data = parseBody(text, res.headers.get('Content-Type'));
  if (res.ok) return data;
  const err = new ApiError(res.status, data);
  if (res.status === 401 && unauthorizedHandler) unauthorizedHandler(err);
  throw err;
}

export const get = (path, params) => request('GET', path, { params });
export const post = (path, json) => request('POST', path, { json });
export const del = (path) => request('DELETE', path);

/**
 * PUTs a file to a presigned upload_url with XMLHttpRequest, whose upload
 * progress events fetch() does not give. onProgress(loaded, total).
 * No bearer token: the signed URL is the credential.
 */
export function uploadFile(uploadUrl, file, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', apiUrl(uploadUrl));
    xhr.upload.addEventListener('progress', (e) => {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', () => {
      const data = parseBody(xhr.responseText, xhr.getResponseHeader('Content-Type'));
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else reject(new ApiError(xhr.status, data));
    });
    xhr.addEventListener('error', () => {
      const err = new ApiError(0, null, 'The upload was interrupted: the connection failed.');
      err.uncertain = true;
      reject(err);
    });
    xhr.addEventListener('abort', () => {
      const err = new ApiError(0, null, 'The upload was cancelled.');
      err.uncertain = true;
      reject(err);
    });
    xhr.send(file);
  });
}
