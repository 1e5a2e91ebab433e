// Building the pages' DOM without innerHTML: every text goes in as a text
// node, so nothing from the API is ever parsed as markup.

// h('p', {class: 'x', onclick: fn}, 'text', child, [more]) -> element.
export function h(tag, attrs, ...children) {
  const svg = tag.startsWith('svg:');
  const el = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// Replaces the children of el.
export function put(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

// Moves focus to el (made focusable for that if it is not).
export function focus(el) {
  if (!el) return;
  if (!el.hasAttribute('tabindex') && !/^(A|BUTTON|INPUT|SELECT|TEXTAREA)$/.test(el.tagName))
    el.setAttribute('tabindex', '-1');
  el.focus();
}

// Says text through the page's polite live region.
export function announce(text) {
  const s = document.getElementById('status');
  if (!s) return;
  s.textContent = '';
  // A fresh text node in the next frame is read even when it repeats.
  requestAnimationFrame(() => { s.textContent = text; });
}

// A table: caption, column headers (scope=col), rows whose first cell is a
// row header (scope=row). Cells are text, nodes or {node, class}.
export function table(caption, headers, rows, opts = {}) {
  const cell = (tag, c, extra) => {
    if (c && typeof c === 'object' && !(c instanceof Node) && !Array.isArray(c))
      return h(tag, Object.assign({}, extra, { class: c.class }), c.node);
    return h(tag, extra, c);
  };
  const t = h('table', { class: opts.class || null, id: opts.id || null },
    h('caption', null, caption),
    h('thead', null, h('tr', null, headers.map((x) => cell('th', x, { scope: 'col' })))),
    h('tbody', null, rows.map((r) => h('tr', null,
      r.map((c, i) => i === 0 ? cell('th', c, { scope: 'row' }) : cell('td', c))))));
  // Wide tables scroll inside their own region (reachable by keyboard), so
  // that the page itself reflows at 320 px.
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' }, t);
}
