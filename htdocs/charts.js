// Cost analytics: a horizontal bar chart in inline SVG (role="img", named by
// aria-label and <title>) and the same numbers in a table beside it.

import { h, s, money, $ } from './dom.js';

const ROW = 42; // px per bar: its label line, then the bar

function truncate(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

// No viewBox: the chart is as wide as its column and its text keeps its
// size; bar lengths are percentages of that width.
function chart(id, title, rows, key) {
  const max = Math.max(0, ...rows.map((r) => Number(r.total_cost_usd) || 0)) || 1;
  const height = rows.length * ROW + 2;
  const label = `${title}, US dollars: ${rows.map((r) => `${r[key]} ${money(r.total_cost_usd)}`).join('; ')}`;
  const svg = s('svg', {
    class: 'chart', id, role: 'img', 'aria-label': label, width: '100%', height, focusable: 'false',
  }, s('title', {}, label));
  rows.forEach((r, i) => {
    const y = i * ROW;
    const v = Number(r.total_cost_usd) || 0;
    const pct = v > 0 ? Math.max(0.5, (v / max) * 100) : 0;
    svg.append(
      s('text', { x: 0, y: y + 15, class: 'chart-label' }, truncate(String(r[key]), 28)),
      s('text', { x: '100%', y: y + 15, class: 'chart-value', 'text-anchor': 'end' }, `$${money(v)}`),
      s('rect', { x: 0, y: y + 22, width: '100%', height: 12, rx: 2, class: 'chart-track' }),
      s('rect', { x: 0, y: y + 22, width: `${pct.toFixed(2)}%`, height: 12, rx: 2, class: 'chart-bar' }),
    );
  });
  return svg;
}

function table(title, rows, key, keyLabel, total) {
  // a region that can take focus, so that it can be scrolled by keyboard
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': `${title} (table)`, tabindex: 0 },
    h('table', { class: 'data numbers' },
      h('caption', {}, `${title}, in US dollars`),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, keyLabel),
        h('th', { scope: 'col', class: 'num' }, 'Cost (USD)'),
        h('th', { scope: 'col', class: 'num' }, 'GPU hours'),
        h('th', { scope: 'col', class: 'num' }, 'Jobs'))),
      h('tbody', {}, rows.map((r) => h('tr', {},
        h('th', { scope: 'row' }, String(r[key])),
        h('td', { class: 'num' }, money(r.total_cost_usd)),
        h('td', { class: 'num' }, r.gpu_hours === null || r.gpu_hours === undefined ? '—' : money(r.gpu_hours)),
        h('td', { class: 'num' }, String(r.job_count ?? ''))))),
      h('tfoot', {}, h('tr', {},
        h('th', { scope: 'row' }, 'Total'),
        h('td', { class: 'num' }, money(total)),
        h('td', {}), h('td', {})))));
}

/**
 * Draws one cost breakdown into the element with id containerId:
 * data is the answer of GET ../api/analytics/cost/by-model or /by-team.
 */
export function renderCost(containerId, { title, key, keyLabel, data }) {
  const el = $(containerId);
  const rows = Array.isArray(data?.results) ? data.results : [];
  if (rows.length === 0) {
    el.replaceChildren(h('p', { class: 'muted' }, 'No costs in this date range.'));
    return;
  }
  el.replaceChildren(
    h('div', { class: 'chart-wrap' }, chart(`${containerId}-chart`, title, rows, key)),
    table(title, rows, key, keyLabel, data.total_cost_usd));
}
