/**
 * DOM helpers and formatting. Every element is built with DOM calls; every string from the daemon is set as text, never parsed as markup.
 */

/**
 * Builds an element. Props (optional): class, test (data-test), on<event> handlers, other keys as
 * attributes. Children: nodes as they are, anything else as a text node; null/false are skipped.
 * Data from the daemon is passed only after an explicit props object (`h('code', {}, uuid)`), so a
 * value can never be taken for props.
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  const isProps =
    props !== null && typeof props === 'object' && !(props instanceof Node) && !Array.isArray(props);
  for (const [key, value] of Object.entries(isProps ? props : {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'test') el.dataset.test = value;
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, isProps ? children : [props, ...children]);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children (same rules as h). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export const p = (cls, text, test) => h('p', { class: cls, test }, text);
export const hint = (text) => h('span', { class: 'hint block' }, text);
export const fact = (name, value) => [h('dt', {}, name), h('dd', {}, value)];
export const facts = (...pairs) => h('dl', { class: 'facts' }, pairs);
export const badge = (kind, text, test) => h('span', { class: `badge ${kind}`, test }, text);
export const card = (title, ...children) => h('section', { class: 'card' }, h('h2', title), children);
export const cells = (n) => Array.from({ length: n }, () => h('td'));
export const hidden = (el) => {
  el.hidden = true;
  return el;
};

export function field(label, input, help) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, help && hint(help));
}

export function button(text, test, onclick, cls) {
  return h(
    'button',
    {
      type: onclick === 'submit' ? 'submit' : 'button',
      test,
      class: cls,
      onclick: onclick === 'submit' ? undefined : onclick,
    },
    text,
  );
}

/** A status line (role="status") for good news and stale-data warnings; hidden while empty. */
export function note(kind = '') {
  return hidden(h('p', { class: `note ${kind}`, role: 'status' }));
}

export function say(el, text, kind) {
  el.textContent = text;
  if (kind !== undefined) el.className = `note ${kind}`;
  el.hidden = text === '';
}

export function table(headers, tbody) {
  const head = h(
    'thead',
    h(
      'tr',
      headers.map((t) => h('th', { scope: 'col' }, t)),
    ),
  );
  return h('div', { class: 'table-wrap' }, h('table', head, tbody));
}

export function setBusy(el, busy, text) {
  if (busy) {
    el.dataset.label = el.textContent;
    el.textContent = text;
  } else if (el.dataset.label !== undefined) {
    el.textContent = el.dataset.label;
  }
  el.disabled = busy;
  el.setAttribute('aria-busy', String(busy));
}

/**
 * A list whose rows are kept by key between refreshes, so a button does not vanish under the pointer
 * every second. makeRow(item) returns { el, update(item) }; row.item is the latest item.
 */
export function keyed(container, makeRow) {
  const rows = new Map();
  return {
    sync(items, keyOf) {
      const seen = new Set();
      let previous = null;
      for (const item of items) {
        const key = keyOf(item);
        seen.add(key);
        let row = rows.get(key);
        if (row === undefined) {
          row = makeRow(item);
          rows.set(key, row);
        }
        row.item = item;
        row.update(item);
        const expected = previous === null ? container.firstChild : previous.nextSibling;
        if (expected !== row.el) container.insertBefore(row.el, expected);
        previous = row.el;
      }
      for (const [key, row] of rows) {
        if (seen.has(key)) continue;
        row.el.remove();
        rows.delete(key);
      }
    },
    redraw(key) {
      const row = rows.get(key);
      if (row !== undefined) row.update(row.item);
    },
  };
}

/** A table of keyed rows (see keyed) that shows `emptyText` instead of itself while it has none. */
export function tableList(headers, emptyText, makeRow) {
  const tbody = h('tbody');
  const wrap = table(headers, tbody);
  const empty = hidden(p('muted', emptyText));
  // Each cell names its column: below 600 px the rows are stacked cards and the names show (content.css).
  const rows = keyed(tbody, (item) => {
    const row = makeRow(item);
    headers.forEach((name, i) => {
      const cell = row.el.children[i];
      if (cell !== undefined) cell.dataset.label = name;
    });
    return row;
  });
  return {
    el: [wrap, empty],
    empty,
    redraw: rows.redraw,
    sync(items, keyOf) {
      rows.sync(items, keyOf);
      wrap.hidden = items.length === 0;
      empty.hidden = items.length > 0;
    },
  };
}

// ---------------------------------------------------------------- formatting

export const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Binary units with up to one decimal, as the CLI writes them (src/size.ts formatSize): 5.2 MiB. */
export function size(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || Number.isInteger(value) ? value : value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

export function when(value) {
  return toDate(value)?.toLocaleString() ?? '—';
}

export function ago(value) {
  const date = toDate(value);
  if (date === null) return 'never';
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

export function address(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value !== 'object' || !('host' in value)) return String(value);
  return String(value.host).includes(':') ? `[${value.host}]:${value.port}` : `${value.host}:${value.port}`;
}

/** How an address is known, in words. */
export const SOURCES = {
  live: 'connected now',
  verified: 'checked by a secure connection',
  record: 'announced by that computer',
  static: 'set by hand in the settings',
  mdns: 'seen on the local network',
  inbound: 'it connected to this computer',
};

export const sourceText = (source) => (source ? (SOURCES[source] ?? String(source)) : '');
export const labelOf = (peer) =>
  String(peer.label || peer.name || String(peer.nodeUuid ?? '').slice(0, 8) || 'unnamed');
export const basename = (path) => String(path).split(/[\\/]/).pop() ?? '';
export const enc = encodeURIComponent;
