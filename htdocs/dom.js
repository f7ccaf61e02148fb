// Small DOM and formatting helpers. Everything is built with DOM APIs
// (createElement, setAttribute, text nodes): no innerHTML, no inline style,
// so the page runs under a strict Content-Security-Policy.

const SVG_NS = 'http://www.w3.org/2000/svg';

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (k === 'class') {
      el.setAttribute('class', Array.isArray(v) ? v.filter(Boolean).join(' ') : v);
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** h('td', {class: 'x'}, 'text', child…): an HTML element. */
export function h(tag, attrs, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** s('rect', {x: 0}): an SVG element. */
export function s(tag, attrs, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function $(id) {
  return document.getElementById(id);
}

/** Shows text in an element (or hides it when text is empty). */
export function say(el, text) {
  el.textContent = text || '';
  el.hidden = !text;
}

// Status icons, 24×24, drawn with strokes in currentColor.
const ICONS = {
  pending: ['circle:12,12,9', 'M12 7v5l3 2'],
  queued: ['M9 6h11', 'M9 12h11', 'M9 18h11', 'M4.5 6h.01', 'M4.5 12h.01', 'M4.5 18h.01'],
  running: ['M20 12a8 8 0 1 1-2.34-5.66', 'M20 4v4.5h-4.5'],
  completed: ['circle:12,12,9', 'M8 12.5l2.7 2.7L16.2 9.6'],
  failed: ['circle:12,12,9', 'M9 9l6 6', 'M15 9l-6 6'],
  total: ['M4 7.5l8-4 8 4-8 4z', 'M4 12l8 4 8-4', 'M4 16.5l8 4 8-4'],
};

/** A decorative status icon (aria-hidden: the text next to it says it). */
export function icon(name, cls) {
  const svg = s('svg', {
    class: ['icon', cls], viewBox: '0 0 24 24', width: 16, height: 16, 'aria-hidden': 'true',
    focusable: 'false', fill: 'none', stroke: 'currentColor', 'stroke-width': 2,
    'stroke-linecap': 'round', 'stroke-linejoin': 'round',
  });
  for (const d of ICONS[name] || ICONS.pending) {
    if (d.startsWith('circle:')) {
      const [cx, cy, r] = d.slice(7).split(',');
      svg.append(s('circle', { cx, cy, r }));
    } else {
      svg.append(s('path', { d }));
    }
  }
  return svg;
}

/** "12 s ago", "5 m ago", "3 h ago", "2 d ago" (or "in 5 m"). */
export function relativeTime(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  let sec = Math.round((now - t) / 1000);
  const future = sec < 0;
  sec = Math.abs(sec);
  let text;
  if (sec < 5) return 'just now';
  if (sec < 60) text = `${sec} s`;
  else if (sec < 3600) text = `${Math.floor(sec / 60)} m`;
  else if (sec < 86400) text = `${Math.floor(sec / 3600)} h`;
  else text = `${Math.floor(sec / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

/** A <time> with the relative time as text and the exact time as tooltip. */
export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: iso }, relativeTime(iso));
}

export function bytes(n) {
  if (n === null || n === undefined) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = -1;
  do {
    v /= 1024;
    u += 1;
  } while (v >= 1024 && u < units.length - 1);
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

export function plural(n, one, many) {
  return `${n} ${n === 1 ? one : many || `${one}s`}`;
}

export function money(v) {
  const n = Number(v);
  return Number.isFinite(n) ? n.toFixed(2) : String(v);
}

/** A cell's text for any JSON value. */
export function cellText(v) {
  if (v === undefined) return '';
  if (v === null) return 'null';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}
