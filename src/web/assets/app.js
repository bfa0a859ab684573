/**
 * The arozdfs web UI (docs/web.md): one page, hash routing (#/host, #/keys, #/cluster, #/files).
 * It never builds markup from strings: every element comes from DOM calls and every string (node
 * names, labels, file names, error messages) is set as text. Polling loops never overlap and stop when
 * the page changes. No dependencies, no build step.
 */

// ---------------------------------------------------------------- words shown to people

const T = {
  setupIntro: 'Choose the admin password for this page. It protects who may pair computers and change keys.',
  setupToken:
    'arozdfs printed this one-time token in the window where it was started. It proves you run this computer.',
  forgot: (file) =>
    `Forgot it? Stop arozdfs, delete the file ${file ?? 'ADDC/web-admin.json in its home folder'} and start it again: it prints a new setup token.`,
  hostLead:
    'Computers share files only after they are paired: each one is given the other one’s pairing string.',
  fingerprint:
    'The fingerprint is a short summary of this computer’s key. People read it aloud or compare it by eye, to be sure they pair with the right computer.',
  pairing:
    'A pairing string is this computer’s ID card. Copy it and paste it on the other computer’s Host setup page.',
  pem: 'The same key in a standard text format, for tools that want it. It is safe to share.',
  paste: 'Open Host setup on the other computer, copy its pairing string, and paste it here.',
  compare:
    'Compare these characters with the fingerprint shown on the other computer’s own screen (its Host setup page). If they differ, do not continue.',
  same: 'This computer is already trusted, with this same key. Nothing to do.',
  otherKey:
    'Warning: this computer already trusts a DIFFERENT key for this computer ID. Either the other computer made a new key pair, or someone is pretending to be it. Continue only if you know its key was changed.',
  paired:
    'Pairing has two directions: each computer must trust the other. This list shows how far each one got.',
  keysLead:
    'Keys are how computers recognise each other. You do not need to understand them: this page makes new ones and decides which computers to trust.',
  ownKeys:
    'A key pair is how this computer proves who it is. Only the active one is used; the others are spares.',
  activateWarning: 'Every paired computer will have to pair with this computer again.',
  activated:
    'The new key pair is active. Go to Host setup, copy the new pairing string and pair again with every other computer.',
  generated: 'A new key pair was made. It is not used until you make it active.',
  remoteKeys:
    'The keys of the other computers this one trusts. Removing one stops it talking to this computer at once.',
  clusterLead: 'The computers this one knows about. This page updates itself every 3 seconds.',
  seen: 'Computers running arozdfs that announce themselves on this network. Seeing one does not mean trusting it.',
  discoveryOff: 'Discovery is off: this computer does not look for others on the network.',
  upload: 'The file is cut into pieces, and each piece is stored on several computers of the cluster.',
  copies: 'How many computers keep each piece. 2 means the file survives losing one.',
  shift: 'How far along the list of computers the next copy goes. Leave it at 1 if unsure.',
  health: 'Health tells whether every piece of a file still has its copies on the other computers.',
  jobs: 'Uploads and downloads run in the background. You can leave this page; they go on.',
  untrustedIndex: 'Warning: its index is not signed by a computer this one trusts.',
  adminPassword:
    'The password of this page. Changing it logs out every other browser that is logged in here.',
};

// ---------------------------------------------------------------- DOM helpers

/**
 * Builds an element. Props (optional): class, test (data-test), on<event> handlers, other keys as
 * attributes. Children: nodes as they are, anything else as a text node; null/false are skipped.
 * Data from the daemon is passed only after an explicit props object (`h('code', {}, uuid)`), so a
 * value can never be taken for props.
 */
function h(tag, props, ...children) {
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

function append(el, children) {
  for (const child of children.flat(Number.POSITIVE_INFINITY)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children (same rules as h). */
function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const p = (cls, text, test) => h('p', { class: cls, test }, text);
const hint = (text) => h('span', { class: 'hint block' }, text);
const fact = (name, value) => [h('dt', {}, name), h('dd', {}, value)];
const facts = (...pairs) => h('dl', { class: 'facts' }, pairs);
const badge = (kind, text, test) => h('span', { class: `badge ${kind}`, test }, text);
const card = (title, ...children) => h('section', { class: 'card' }, h('h2', title), children);
const cells = (n) => Array.from({ length: n }, () => h('td'));
const hidden = (el) => {
  el.hidden = true;
  return el;
};

function field(label, input, help) {
  return h('label', { class: 'field' }, h('span', { class: 'label' }, label), input, help && hint(help));
}

function button(text, test, onclick, cls) {
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
function note(kind = '') {
  return hidden(h('p', { class: `note ${kind}`, role: 'status' }));
}

function say(el, text, kind) {
  el.textContent = text;
  if (kind !== undefined) el.className = `note ${kind}`;
  el.hidden = text === '';
}

function table(headers, tbody) {
  const head = h(
    'thead',
    h(
      'tr',
      headers.map((t) => h('th', { scope: 'col' }, t)),
    ),
  );
  return h('div', { class: 'table-wrap' }, h('table', head, tbody));
}

function setBusy(el, busy, text) {
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
function keyed(container, makeRow) {
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
function tableList(headers, emptyText, makeRow) {
  const tbody = h('tbody');
  const wrap = table(headers, tbody);
  const empty = hidden(p('muted', emptyText));
  const rows = keyed(tbody, makeRow);
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

const SIZE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** Binary units with up to one decimal, as the CLI writes them (src/size.ts formatSize): 5.2 MiB. */
function size(bytes) {
  if (typeof bytes !== 'number' || !Number.isFinite(bytes)) return '—';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || Number.isInteger(value) ? value : value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

function when(value) {
  return toDate(value)?.toLocaleString() ?? '—';
}

function ago(value) {
  const date = toDate(value);
  if (date === null) return 'never';
  const s = Math.max(0, Math.round((Date.now() - date.getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} days ago`;
}

function address(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value !== 'object' || !('host' in value)) return String(value);
  return String(value.host).includes(':') ? `[${value.host}]:${value.port}` : `${value.host}:${value.port}`;
}

/** How an address is known, in words. */
const SOURCES = {
  live: 'connected now',
  verified: 'checked by a secure connection',
  record: 'announced by that computer',
  static: 'set by hand in the settings',
  mdns: 'seen on the local network',
  inbound: 'it connected to this computer',
};

const sourceText = (source) => (source ? (SOURCES[source] ?? String(source)) : '');
const labelOf = (peer) =>
  String(peer.label || peer.name || String(peer.nodeUuid ?? '').slice(0, 8) || 'unnamed');
const basename = (path) => String(path).split(/[\\/]/).pop() ?? '';
const enc = encodeURIComponent;

// ---------------------------------------------------------------- talking to the daemon

const state = { csrf: null, node: null, passwordFile: null, root: null, main: null, page: null };

class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** Turns an answer into its JSON, or throws an ApiError carrying the daemon's message. */
function readAnswer(status, retryAfter, text) {
  let data = null;
  try {
    data = text === '' ? null : JSON.parse(text);
  } catch {
    data = null;
  }
  if (status >= 200 && status < 300) return data;
  const error = data?.error ?? {};
  const code = typeof error.code === 'string' ? error.code : `HTTP_${status}`;
  let message = typeof error.message === 'string' ? error.message : `The node answered HTTP ${status}.`;
  const wait = Number.parseInt(retryAfter ?? '', 10);
  if (code === 'ERR_WEB_RATE_LIMITED' && Number.isFinite(wait)) {
    message = `Too many wrong tries. Wait ${wait} seconds, then try again.`;
  }
  if (status === 401 && code === 'ERR_WEB_LOGIN_REQUIRED') sessionEnded();
  throw new ApiError(code, message, status);
}

async function api(method, path, body, signal) {
  const headers = {};
  if (method !== 'GET') headers['X-CSRF-Token'] = state.csrf ?? '';
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const init = { method, headers, signal, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) init.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError('ERR_NETWORK', 'Cannot reach this arozdfs node. Is "arozdfs serve" still running?', 0);
  }
  return readAnswer(response.status, response.headers.get('Retry-After'), await response.text());
}

/**
 * Streams a File as the request body (never read into memory), reporting bytes sent. `stop.abort`
 * is set to a function that stops sending (the node then drops what it staged).
 */
function sendFile(file, copies, shift, onProgress, stop) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    stop.abort = () => xhr.abort();
    xhr.open('PUT', `/api/upload?name=${enc(file.name)}&shift=${shift}&copies=${copies}`);
    xhr.setRequestHeader('X-CSRF-Token', state.csrf ?? '');
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onload = () => {
      try {
        resolve(readAnswer(xhr.status, xhr.getResponseHeader('Retry-After'), xhr.responseText));
      } catch (err) {
        reject(err);
      }
    };
    xhr.onerror = () =>
      reject(new ApiError('ERR_NETWORK', 'The upload stopped: the connection was lost.', 0));
    xhr.onabort = () => reject(new ApiError('ERR_ABORTED', 'The upload was stopped.', 0));
    xhr.send(file);
  });
}

// ---------------------------------------------------------------- errors and actions

/** One error line (role="alert"), moved next to whatever the person just did. */
const errorLine = hidden(h('p', { class: 'error', role: 'alert', test: 'error' }));

function showError(near, message) {
  near.append(errorLine);
  errorLine.textContent = message;
  errorLine.hidden = false;
}

function clearError() {
  errorLine.textContent = '';
  errorLine.hidden = true;
}

/** Failures handled elsewhere: a page that was left, a login that ended (back to the login screen). */
const quiet = (err) => err?.name === 'AbortError' || err?.code === 'ERR_WEB_LOGIN_REQUIRED';

function fail(near, err) {
  if (!quiet(err)) showError(near, err instanceof Error ? err.message : String(err));
}

/** Throws a message for the error line when a condition does not hold (input checks). */
function need(ok, message) {
  if (!ok) throw new Error(message);
}

/**
 * An event handler that clears the error line, shows `busyText` on `busyEl` while fn runs, and
 * shows any failure next to `near`.
 */
function action(near, busyEl, busyText, fn) {
  return async (event) => {
    event?.preventDefault();
    clearError();
    if (busyEl) setBusy(busyEl, true, busyText);
    try {
      await fn();
    } catch (err) {
      fail(near, err);
    } finally {
      if (busyEl) setBusy(busyEl, false);
    }
  };
}

/** Wraps a loader so runs never overlap; a call during a run asks for one more run after it. */
function serial(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running !== null) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        await fn();
      } while (again);
    })();
    try {
      await running;
    } finally {
      running = null;
    }
  };
  return run;
}

// ---------------------------------------------------------------- polling

function pause(ms, signal) {
  let wake = () => {};
  const done = new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', finish);
      resolve();
    };
    const timer = setTimeout(finish, ms);
    signal.addEventListener('abort', finish);
    wake = finish;
  });
  return { done, wake };
}

/**
 * Runs fn(signal) every `everyMs` (start to start) until signal aborts; a run never overlaps the
 * previous one. now() asks for a run as soon as the current one (if any) ends.
 */
function poll(signal, everyMs, fn) {
  let sleeping = null;
  let again = false;
  const loop = async () => {
    while (!signal.aborted) {
      again = false;
      const started = Date.now();
      try {
        await fn(signal);
      } catch (err) {
        if (!signal.aborted && !quiet(err)) console.error(err);
      }
      if (signal.aborted || again) continue;
      sleeping = pause(Math.max(250, everyMs - (Date.now() - started)), signal);
      await sleeping.done;
      sleeping = null;
    }
  };
  loop();
  return {
    now() {
      if (sleeping !== null) sleeping.wake();
      else again = true;
    },
  };
}

/** A poll body that shows failures in `stale` (a status line) instead of the error line. */
function refreshing(stale, what, fn) {
  return async (signal) => {
    try {
      await fn(signal);
      say(stale, '');
    } catch (err) {
      if (!signal.aborted && !quiet(err)) say(stale, `Could not refresh ${what}: ${err.message}`);
    }
  };
}

// ---------------------------------------------------------------- password re-entry

/**
 * A modal dialog asking for the admin password, then running run(password). A wrong password keeps
 * the dialog open with the error; other failures close it and reject. Cancel resolves undefined.
 */
function askPassword({ title, why, warning, okLabel = 'OK', danger = false, run }) {
  return new Promise((resolve, reject) => {
    const input = h('input', { type: 'password', test: 'reauth-password', autocomplete: 'current-password' });
    const ok = button(okLabel, 'reauth-ok', 'submit', danger ? 'danger' : 'primary');
    const cancel = button('Cancel', 'reauth-cancel', () => finish(resolve, undefined));
    const form = h(
      'form',
      { class: 'stack' },
      h('h2', title),
      warning && p('note bad', warning),
      p('', why),
      field('Admin password', input),
      h('div', { class: 'row end' }, cancel, ok),
    );
    const dialog = h('dialog', { class: 'reauth', 'aria-label': title }, form);
    let settled = false;
    const finish = (fn, value) => {
      if (settled) return;
      settled = true;
      if (dialog.open) dialog.close();
      dialog.remove();
      fn(value);
    };
    dialog.addEventListener('close', () => finish(resolve, undefined));
    // While the request runs, Escape must not hide its outcome.
    dialog.addEventListener('cancel', (event) => ok.disabled && event.preventDefault());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearError();
      if (input.value === '') return showError(form, 'Enter the admin password.');
      setBusy(ok, true, 'Working…');
      cancel.disabled = true;
      try {
        finish(resolve, await run(input.value));
      } catch (err) {
        if (err?.code !== 'ERR_WEB_PASSWORD') return finish(reject, err);
        setBusy(ok, false);
        cancel.disabled = false;
        showError(form, err.message);
        input.select();
      }
    });
    state.root.append(dialog);
    dialog.showModal();
    input.focus();
  });
}

// ---------------------------------------------------------------- screens

function leavePage() {
  state.page?.abort();
  state.page = null;
  clearError();
}

function sessionEnded() {
  if (state.main !== null) showLogin('Your login has ended. Enter the password again.');
}

async function start() {
  state.root = document.getElementById('app');
  window.addEventListener('hashchange', () => state.main?.isConnected && route());
  try {
    const session = await api('GET', '/api/session');
    state.node = session.node;
    state.csrf = session.csrf;
    state.passwordFile = session.passwordFile ?? null;
    if (!session.passwordSet) showSetup();
    else if (!session.loggedIn) showLogin();
    else showApp();
  } catch (err) {
    const box = h('main', { class: 'narrow' }, h('h1', 'arozdfs'));
    fill(state.root, box);
    fail(box, err);
  }
}

/** The setup and login screens: one form in the middle of the page. */
function showForm(form, focus) {
  leavePage();
  state.main = null;
  fill(state.root, h('main', { class: 'narrow' }, form));
  focus.focus();
}

const nodeName = () => state.node?.name ?? 'this computer';

function showSetup() {
  const token = h('input', { type: 'text', test: 'setup-token', autocomplete: 'off', spellcheck: 'false' });
  const password = h('input', { type: 'password', test: 'setup-password', autocomplete: 'new-password' });
  const repeat = h('input', { type: 'password', test: 'setup-repeat', autocomplete: 'new-password' });
  const submit = button('Set the password', 'setup-submit', 'submit', 'primary');
  const form = h(
    'form',
    { class: 'card stack' },
    h('h1', `Welcome to arozdfs on ${nodeName()}`),
    p('', T.setupIntro),
    field('Setup token (printed by arozdfs serve)', token, T.setupToken),
    field('New password', password, 'At least 10 characters.'),
    field('Repeat password', repeat),
    h('div', { class: 'row' }, submit),
  );
  const run = async () => {
    need(token.value.trim() !== '', 'Type the setup token that arozdfs serve printed.');
    need(password.value.length >= 10, 'The password needs at least 10 characters.');
    need(password.value === repeat.value, 'The two passwords are not the same.');
    try {
      const answer = await api('POST', '/api/setup', { token: token.value.trim(), password: password.value });
      state.csrf = answer.csrf;
      showApp();
    } catch (err) {
      if (err?.code !== 'ERR_WEB_PASSWORD_SET') throw err;
      showLogin('A password is already set. Log in with it.');
    }
  };
  form.addEventListener('submit', action(form, submit, 'Saving…', run));
  showForm(form, token);
}

function showLogin(message) {
  const password = h('input', { type: 'password', test: 'login-password', autocomplete: 'current-password' });
  const submit = button('Log in', 'login-submit', 'submit', 'primary');
  const note = message ? p('note warn', message, 'login-note') : null;
  const form = h(
    'form',
    { class: 'card stack' },
    h('h1', `arozdfs on ${nodeName()}`),
    note,
    field('Admin password', password),
    h('div', { class: 'row' }, submit),
    p('hint', T.forgot(state.passwordFile), 'login-forgot'),
  );
  const run = async () => {
    // One message at a time: once the person tries, the note ("You are logged out.") gives way to
    // whatever this attempt says.
    note?.remove();
    need(password.value !== '', 'Enter the admin password.');
    try {
      state.csrf = (await api('POST', '/api/login', { password: password.value })).csrf;
    } catch (err) {
      password.select();
      throw err;
    }
    showApp();
  };
  form.addEventListener('submit', action(form, submit, 'Checking…', run));
  showForm(form, password);
}

const PAGES = [
  { id: 'host', title: 'Host setup', render: pageHost },
  { id: 'keys', title: 'Key Manager', render: pageKeys },
  { id: 'cluster', title: 'Cluster', render: pageCluster },
  { id: 'files', title: 'Files', render: pageFiles },
];

function showApp() {
  leavePage();
  const links = PAGES.map((pg) =>
    h('a', { href: `#/${pg.id}`, test: `nav-${pg.id}`, 'data-page': pg.id }, pg.title),
  );
  const logout = button('Log out', 'logout', async () => {
    try {
      await api('POST', '/api/logout');
    } catch (err) {
      if (!quiet(err)) console.error(err);
    }
    state.csrf = null;
    showLogin('You are logged out.');
  });
  const brand = h(
    'div',
    { class: 'brand' },
    h('span', { class: 'app' }, 'arozdfs'),
    h('span', { class: 'node-name' }, nodeName()),
  );
  state.main = h('main', { id: 'page' });
  fill(
    state.root,
    h('header', { class: 'top' }, brand, h('nav', { 'aria-label': 'Pages' }, links, logout)),
    state.main,
  );
  route();
}

function route() {
  const id = location.hash.replace(/^#\/?/, '');
  const page = PAGES.find((pg) => pg.id === id);
  if (page === undefined) {
    history.replaceState(null, '', '#/host');
    return route();
  }
  leavePage();
  for (const link of document.querySelectorAll('nav a[data-page]')) {
    if (link.dataset.page === id) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  state.page = new AbortController();
  fill(state.main);
  document.title = `${page.title} — arozdfs`;
  page.render(state.main, state.page.signal);
}

// ---------------------------------------------------------------- Host setup

function pageHost(main, signal) {
  const info = card('This computer', p('muted', 'Loading…'));
  const peers = pairedList();
  const poller = poll(signal, 3000, peers.refresh);
  main.append(
    h('h1', 'Host setup'),
    p('lead', T.hostLead),
    info,
    pairBox(() => poller.now()),
    peers.el,
  );
  api('GET', '/api/host', undefined, signal).then(
    (host) => fill(info, ...hostInfo(host)),
    (err) => fail(info, err),
  );
}

function copyable(text, rows, testArea, testButton) {
  const area = h('textarea', { readonly: true, rows, class: 'mono', test: testArea, spellcheck: 'false' });
  area.value = text;
  const said = h('span', { class: 'hint', role: 'status' });
  const copy = button('Copy', testButton, async () => {
    try {
      await navigator.clipboard.writeText(area.value);
      said.textContent = 'Copied.';
    } catch {
      area.focus();
      area.select();
      said.textContent = 'The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.';
    }
  });
  return [area, h('div', { class: 'row' }, copy, said)];
}

function hostInfo(host) {
  return [
    h('h2', 'This computer'),
    facts(
      fact('Name', host.name),
      fact('Computer ID', h('code', {}, host.nodeUuid)),
      fact('Key size', `${host.bits} bits`),
    ),
    h('h3', 'Fingerprint'),
    p('hint', T.fingerprint),
    p('fingerprint', host.fingerprintGrouped, 'own-fingerprint'),
    h('h3', 'Pairing string'),
    p('hint', T.pairing),
    copyable(host.pairing, 4, 'own-pairing', 'copy-pairing'),
    h(
      'details',
      h('summary', 'Public key (PEM format)'),
      p('hint', T.pem),
      copyable(host.pem, 8, 'own-pem', 'copy-pem'),
    ),
  ];
}

function pairBox(onTrusted) {
  const paste = h('textarea', {
    rows: 4,
    class: 'mono',
    test: 'paste-pairing',
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'Paste the other computer’s pairing string here',
  });
  const check = button('Check', 'check-pairing', 'submit');
  const preview = hidden(h('div', { class: 'preview', test: 'pairing-preview' }));
  const done = note('ok');
  const form = h(
    'form',
    { class: 'stack' },
    field('Their pairing string', paste, T.paste),
    h('div', { class: 'row' }, check),
  );
  const closePreview = () => {
    preview.hidden = true;
    fill(preview);
  };
  paste.addEventListener('input', closePreview);
  const trust = async (pairing, answer) => {
    const name = answer.label || 'this computer';
    const trusted = await askPassword({
      title: `Trust “${name}”?`,
      why: `Enter the admin password to trust “${name}”.`,
      warning:
        answer.trusted === 'other-key' ? 'This replaces the key this computer trusted for it.' : undefined,
      okLabel: 'Trust',
      danger: answer.trusted === 'other-key',
      run: (password) => api('POST', '/api/peers', { pairing, password }),
    });
    if (trusted === undefined) return;
    paste.value = '';
    closePreview();
    const label = trusted.label || name;
    say(
      done,
      trusted.added === false
        ? `“${label}” was already trusted.`
        : `“${label}” is now trusted. If it does not trust this computer yet, paste this computer’s pairing string on ${label}’s Host setup page too: “Paired computers” below shows when both sides are done.`,
    );
    onTrusted();
  };
  const run = async () => {
    say(done, '');
    const pairing = paste.value.trim();
    need(pairing !== '', 'Paste the other computer’s pairing string first.');
    const answer = await api('POST', '/api/pairing/preview', { pairing });
    showPreview(
      preview,
      answer,
      action(preview, null, '', () => trust(pairing, answer)),
    );
  };
  form.addEventListener('submit', action(form, check, 'Checking…', run));
  return card('Pair with another computer', form, preview, done);
}

function showPreview(preview, answer, onTrust) {
  const other = answer.trusted === 'other-key';
  const trust = button(
    other ? 'Trust this new key' : 'Trust this computer',
    'trust-peer',
    onTrust,
    other ? 'danger' : 'primary',
  );
  fill(
    preview,
    h('h3', 'Is this the right computer?'),
    facts(
      fact('Name', h('span', { test: 'preview-label' }, answer.label || 'unnamed computer')),
      fact('Computer ID', h('code', {}, answer.nodeUuid)),
      fact('Key size', `${answer.bits} bits`),
    ),
    p('fingerprint', answer.fingerprintGrouped, 'preview-fingerprint'),
    p('instruction', T.compare),
    answer.trusted === 'same' && p('note ok', T.same),
    other && p('note bad', T.otherKey),
    answer.trusted !== 'same' && h('div', { class: 'row' }, trust),
  );
  preview.dataset.trusted = answer.trusted;
  preview.hidden = false;
}

const PAIRING_STATUS = {
  both: ['ok', () => 'Paired both ways ✓'],
  'one-way': ['warn', (name) => `One way so far — paste this computer’s pairing string on ${name} too`],
  unknown: ['muted', () => 'Not reachable right now (can’t tell if it trusts this computer)'],
  mismatch: ['bad', () => 'KEY MISMATCH — it shows a different key than the one trusted for it'],
};

function pairedRow(first) {
  const [name, id, status, detail] = [
    h('strong'),
    h('code', { class: 'small' }),
    h('span', { test: 'peer-status' }),
    hint(''),
  ];
  const el = h(
    'li',
    { test: 'peer-row', 'data-uuid': first.nodeUuid },
    h('div', {}, name, ' ', id),
    status,
    detail,
  );
  const update = (peer) => {
    const [kind, text] = PAIRING_STATUS[peer.pairing] ?? PAIRING_STATUS.unknown;
    name.textContent = labelOf(peer);
    id.textContent = peer.nodeUuid;
    status.className = `badge ${kind}`;
    status.textContent = text(labelOf(peer));
    status.dataset.pairing = peer.pairing;
    // The technical reason helps only when the state itself does not say what to do.
    const unclear = peer.pairing === 'unknown' || peer.pairing === 'mismatch';
    detail.textContent = unclear ? (peer.detail ?? '') : '';
  };
  return { el, update };
}

function pairedList() {
  const list = h('ul', { class: 'peers' });
  const empty = hidden(p('muted', 'No computer is paired with this one yet.'));
  const stale = note('warn');
  const rows = keyed(list, pairedRow);
  const refresh = refreshing(stale, 'this list', async (signal) => {
    const { peers } = await api('GET', '/api/peers', undefined, signal);
    empty.hidden = peers.length > 0;
    rows.sync(peers, (peer) => peer.nodeUuid);
  });
  return { el: card('Paired computers', p('hint', T.paired), stale, empty, list), refresh };
}

// ---------------------------------------------------------------- Key Manager

function pageKeys(main, signal) {
  main.append(
    h('nav', { class: 'breadcrumb', 'aria-label': 'Breadcrumb' }, 'System Settings › Cluster › Key Manager'),
    h('h1', 'Key Manager'),
    p('lead', T.keysLead),
    ownKeys(signal),
    remoteKeys(signal),
    adminPassword(),
  );
}

/** Changing the admin password: the current one, then the new one twice. Other sessions end. */
function adminPassword() {
  const current = h('input', {
    type: 'password',
    test: 'password-current',
    autocomplete: 'current-password',
  });
  const fresh = h('input', { type: 'password', test: 'password-new', autocomplete: 'new-password' });
  const repeat = h('input', { type: 'password', test: 'password-repeat', autocomplete: 'new-password' });
  const submit = button('Change the password', 'password-change', 'submit');
  const said = note('ok');
  const form = h(
    'form',
    { class: 'card stack' },
    h('h2', 'Admin password'),
    p('hint', T.adminPassword),
    field('Current password', current),
    field('New password', fresh, 'At least 10 characters.'),
    field('Repeat the new password', repeat),
    h('div', { class: 'row' }, submit),
    said,
  );
  const run = async () => {
    say(said, '');
    need(fresh.value.length >= 10, 'The new password needs at least 10 characters.');
    need(fresh.value === repeat.value, 'The two new passwords are not the same.');
    const answer = await api('POST', '/api/password', { password: current.value, newPassword: fresh.value });
    state.csrf = answer.csrf;
    for (const input of [current, fresh, repeat]) input.value = '';
    say(said, 'The password was changed. Everyone else logged in to this page was logged out.');
  };
  form.addEventListener('submit', action(form, submit, 'Saving…', run));
  return form;
}

function keyRow(key, onActivate) {
  const td = cells(5);
  td[1].className = 'nowrap';
  td[2].className = 'fp';
  const el = h('tr', { test: 'key-row', 'data-uuid': key.keyUuid }, td);
  const activate = button('Make active', 'activate-key', () => onActivate(row.item, activate));
  const row = {
    el,
    update(k) {
      fill(td[0], h('code', {}, k.keyUuid));
      td[1].textContent = `${k.bits} bits`;
      td[2].textContent = k.fingerprintGrouped;
      td[3].textContent = when(k.createdAt);
      if (k.active) fill(td[4], badge('ok', 'Active', 'key-active'));
      else if (k.hasPrivateKey === false) fill(td[4], h('span', { class: 'muted' }, 'Public part only'));
      else fill(td[4], activate);
    },
  };
  return row;
}

function ownKeys(signal) {
  const headers = ['Key ID', 'Size', 'Fingerprint', 'Created', 'Status'];
  const rows = tableList(headers, 'No key pair yet.', (k) =>
    keyRow(k, (item, el) => action(box, el, 'Working…', () => activate(item))()),
  );
  const said = note('ok');
  const bits = h(
    'select',
    { test: 'generate-bits' },
    h('option', { value: '3072' }, '3072 bits (recommended)'),
    h('option', { value: '4096' }, '4096 bits (stronger, slower)'),
  );
  const generate = button('Generate a new key pair', 'generate-key', 'submit');
  const form = h('form', { class: 'row bottom' }, field('Size', bits), generate);
  const box = card('This computer’s key pairs', p('hint', T.ownKeys), rows.el, form, said);
  const load = serial(async () => {
    const { keys } = await api('GET', '/api/keys', undefined, signal);
    rows.sync(keys, (k) => k.keyUuid);
  });
  const activate = async (key) => {
    say(said, '');
    const answer = await askPassword({
      title: 'Make this key pair active?',
      warning: T.activateWarning,
      why: 'Enter the admin password to switch this computer to this key pair.',
      okLabel: 'Make active',
      danger: true,
      run: (password) => api('POST', '/api/keys/activate', { keyUuid: key.keyUuid, password }),
    });
    if (answer === undefined) return;
    say(said, answer.changed === false ? 'That key pair was already active.' : T.activated);
    await load();
  };
  const run = async () => {
    say(said, '');
    await api('POST', '/api/keys', { bits: Number(bits.value) });
    say(said, T.generated);
    await load();
  };
  form.addEventListener('submit', action(form, generate, 'Working… (this takes a few seconds)', run));
  load().catch((err) => fail(box, err));
  return box;
}

function remoteRow(first, onRemove) {
  const td = cells(5);
  td[1].className = 'fp';
  const remove = button('Remove', 'remove-peer', () => onRemove(row.item, remove), 'danger');
  td[4].append(remove);
  const row = {
    el: h('tr', { test: 'peer-row', 'data-uuid': first.nodeUuid }, td),
    update(peer) {
      fill(td[0], h('strong', {}, labelOf(peer)), h('br'), h('code', { class: 'small' }, peer.nodeUuid));
      td[1].textContent = peer.fingerprintGrouped ?? peer.fingerprint;
      td[2].textContent = when(peer.addedAt);
      fill(td[3], address(peer.address), peer.source && hint(sourceText(peer.source)));
    },
  };
  return row;
}

function remoteKeys(signal) {
  const headers = ['Computer', 'Fingerprint', 'Added', 'Last verified address', 'Actions'];
  const rows = tableList(headers, 'This computer trusts no other computer yet.', (peer) =>
    remoteRow(peer, (item, el) => action(box, el, 'Removing…', () => remove(item))()),
  );
  const said = note('ok');
  const box = card('Trusted computers (remote keys)', p('hint', T.remoteKeys), rows.el, said);
  const load = serial(async () => {
    const { peers } = await api('GET', '/api/peers', undefined, signal);
    rows.sync(peers, (peer) => peer.nodeUuid);
  });
  const remove = async (peer) => {
    say(said, '');
    const name = labelOf(peer);
    const answer = await askPassword({
      title: `Remove “${name}”?`,
      warning: `${name} will stop being able to talk to this computer, starting now. To use it again you must pair again.`,
      why: `Enter the admin password to remove “${name}”.`,
      okLabel: 'Remove',
      danger: true,
      run: (password) => api('DELETE', `/api/peers/${enc(peer.nodeUuid)}`, { password }),
    });
    if (answer === undefined) return;
    say(said, `“${answer.label || name}” was removed. It can no longer talk to this computer.`);
    await load();
  };
  load().catch((err) => fail(box, err));
  return box;
}

// ---------------------------------------------------------------- Cluster

function pageCluster(main, signal) {
  const self = card('This computer', p('muted', 'Loading…'));
  const nodeHeaders = ['Computer', 'State', 'Address', 'Last seen', 'Free space'];
  const nodes = tableList(nodeHeaders, 'No trusted computers yet: pair one on Host setup.', clusterRow);
  const seen = tableList(['Name', 'Address', 'Seen', 'Trust'], '', seenRow);
  const stale = note('warn');
  main.append(
    h('h1', 'Cluster'),
    p('lead', T.clusterLead),
    stale,
    self,
    card('Trusted computers', nodes.el),
    card('Seen on the network', p('hint', T.seen), seen.el),
  );
  const refresh = async () => {
    const cluster = await api('GET', '/api/cluster', undefined, signal);
    fill(self, ...selfInfo(cluster.self));
    nodes.sync(cluster.nodes, (n) => n.nodeUuid);
    const discovery = cluster.discovery ?? { enabled: false, nodes: [] };
    seen.empty.textContent = discovery.enabled ? 'No computer has announced itself yet.' : T.discoveryOff;
    seen.sync(discovery.enabled ? discovery.nodes : [], (n) => `${n.nodeUuid} ${address(n.address)}`);
  };
  poll(signal, 3000, refreshing(stale, 'this page', refresh));
}

function storesText(stores) {
  if (!Array.isArray(stores) || stores.length === 0) return ['No storage folder.'];
  return stores.map((s, i) =>
    s.online === false
      ? `Store ${i + 1}: offline`
      : `Store ${i + 1}: ${size(s.free)} free of ${size(s.capacity)}`,
  );
}

function selfInfo(self) {
  const trash = self.trash;
  return [
    h('h2', 'This computer'),
    facts(
      fact('Name', self.name),
      fact('Computer ID', h('code', {}, self.nodeUuid)),
      fact('Listening at', address(self.listen)),
      fact(
        'Storage',
        h(
          'ul',
          { class: 'plain' },
          storesText(self.stores).map((t) => h('li', t)),
        ),
      ),
      fact('Trash', [
        h('span', { test: 'self-trash' }, trashText(trash)),
        trash &&
          hint(
            `Deleted pieces are kept ${graceText(trash.graceSeconds)}, then removed for good. Last emptied: ${ago(trash.purgedAt)}.`,
          ),
      ]),
      fact('Scrub', [
        h('span', { test: 'self-scrub' }, scrubText(self.scrub)),
        self.scrub &&
          hint(
            `This computer re-reads its pieces in the background; a damaged one is set aside. Last full pass: ${ago(self.scrub.lastPassAt)}.`,
          ),
      ]),
    ),
  ];
}

/** What a node's scrub found: `{corrupt, quarantined: {chunks, bytes}, state}`, else a dash. */
function scrubText(scrub) {
  if (scrub === null || typeof scrub !== 'object' || typeof scrub.corrupt !== 'number') return '—';
  if (scrub.state === 'off') return 'off';
  const q = scrub.quarantined ?? { chunks: 0, bytes: 0 };
  if (scrub.corrupt === 0 && q.chunks === 0)
    return scrub.state === 'paused' ? 'no damage found (paused)' : 'no damage found';
  return `${scrub.corrupt} damaged piece${scrub.corrupt === 1 ? '' : 's'} found; ${q.chunks} set aside (${size(q.bytes)})`;
}

/** What a trash holds: `{chunks, bytes}` from the node, else a dash. */
function trashText(trash) {
  if (trash === null || typeof trash !== 'object' || typeof trash.chunks !== 'number') return '—';
  if (trash.chunks === 0) return 'empty';
  return `${size(trash.bytes)} in ${trash.chunks} deleted piece${trash.chunks === 1 ? '' : 's'}`;
}

function graceText(seconds) {
  if (typeof seconds !== 'number') return 'for a while';
  if (seconds % 86400 === 0 && seconds > 0) return `${seconds / 86400} day${seconds === 86400 ? '' : 's'}`;
  if (seconds % 3600 === 0 && seconds > 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0 && seconds > 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

const NODE_STATE = { online: ['ok', 'online'], offline: ['bad', 'offline'], unknown: ['muted', 'unknown'] };

function clusterRow(node) {
  const td = cells(5);
  const update = (n) => {
    const name = labelOf(n);
    const alias = n.name && n.name !== name && h('span', { class: 'hint' }, ` (calls itself ${n.name})`);
    fill(td[0], h('strong', {}, name), alias, h('br'), h('code', { class: 'small' }, n.nodeUuid));
    const [kind, text] = NODE_STATE[n.state] ?? NODE_STATE.unknown;
    const error = n.error && hint(typeof n.error === 'string' ? n.error : n.error.message);
    fill(td[1], badge(kind, text, 'node-state'), error);
    fill(td[2], address(n.address), n.source && hint(sourceText(n.source)));
    td[3].textContent = ago(n.lastSeen);
    const count = Array.isArray(n.stores) ? n.stores.length : 0;
    const free =
      typeof n.free === 'number' ? `${size(n.free)}${count > 1 ? ` on ${count} stores` : ''}` : '—';
    const trash = n.trash && n.trash.chunks > 0 && hint(`trash: ${trashText(n.trash)}`);
    const scrub = n.scrub && h('span', { class: 'hint', test: 'node-scrub' }, `scrub: ${scrubText(n.scrub)}`);
    fill(td[4], free, trash, scrub);
  };
  return { el: h('tr', { test: 'cluster-node', 'data-uuid': node.nodeUuid }, td), update };
}

const SEEN_TRUST = {
  trusted: ['ok', 'trusted'],
  untrusted: ['muted', 'not trusted — pair on Host setup to use it'],
  mismatch: [
    'bad',
    'KEY MISMATCH — it shows a different key than the one trusted for it. It may be an impostor.',
  ],
  self: ['muted', 'this computer'],
  duplicate: ['warn', 'duplicate — another computer announces the same ID'],
};

function seenRow(node) {
  const td = cells(4);
  const update = (n) => {
    fill(td[0], h('strong', {}, n.name || '(no name)'), h('br'), h('code', { class: 'small' }, n.nodeUuid));
    td[1].textContent = address(n.address);
    td[2].textContent = ago(n.seenAt);
    const [kind, text] = SEEN_TRUST[n.trust] ?? ['muted', String(n.trust)];
    fill(td[3], badge(kind, text, 'seen-trust'));
  };
  return { el: h('tr', { test: 'seen-node', 'data-uuid': node.nodeUuid }, td), update };
}

// ---------------------------------------------------------------- Files

function pageFiles(main, signal) {
  let jobsNow = () => {};
  const files = filesSection(signal, () => jobsNow());
  const jobs = jobsSection(signal, files.load);
  jobsNow = jobs.now;
  main.append(h('h1', 'Files'), uploadForm(jobs.now), files.el, jobs.el);
  files.load();
}

function uploadForm(onStarted) {
  const file = h('input', { type: 'file', test: 'upload-file' });
  const copies = h('input', { type: 'number', test: 'upload-copies', min: 1, step: 1, value: 2 });
  const shift = h('input', { type: 'number', test: 'upload-shift', min: 1, step: 1, value: 1 });
  const send = button('Upload', 'upload-start', 'submit', 'primary');
  const sending = {};
  const stop = hidden(button('Stop sending', 'upload-stop', () => sending.abort?.()));
  const progress = hidden(h('progress', { test: 'upload-progress', max: 100, value: 0 }));
  const said = note();
  const form = h(
    'form',
    { class: 'card stack' },
    h('h2', 'Upload a file'),
    p('hint', T.upload),
    field('File', file),
    h('div', { class: 'row align-top' }, field('Copies', copies, T.copies), field('Shift', shift, T.shift)),
    h('div', { class: 'row' }, send, stop),
    progress,
    said,
  );
  const run = async () => {
    const chosen = file.files?.[0];
    const [n, s] = [Number(copies.value), Number(shift.value)];
    need(chosen !== undefined, 'Choose a file first.');
    need(Number.isInteger(n) && n >= 1, 'Copies must be a whole number, 1 or more.');
    need(Number.isInteger(s) && s >= 1, 'Shift must be a whole number, 1 or more.');
    progress.hidden = false;
    progress.value = 0;
    say(said, 'Sending to this node: 0 %', '');
    stop.hidden = false;
    try {
      await sendFile(
        chosen,
        n,
        s,
        (sent, total) => {
          progress.value = total > 0 ? Math.floor((sent / total) * 100) : 100;
          say(said, `Sending to this node: ${progress.value} %`);
        },
        sending,
      );
    } catch (err) {
      progress.hidden = true;
      say(said, '');
      throw err;
    } finally {
      stop.hidden = true;
      sending.abort = undefined;
    }
    progress.value = 100;
    say(said, `Upload job started for “${chosen.name}”. Follow it under Jobs below.`, 'ok');
    file.value = '';
    onStarted();
  };
  form.addEventListener('submit', action(form, send, 'Sending…', run));
  return form;
}

const HEALTH = {
  healthy: ['ok', 'every piece has all its copies'],
  degraded: ['warn', 'some copies are missing; the file can still be read'],
  mismatch: [
    'bad',
    'the copies are intact and alike, but this file’s index disagrees with them: the index was changed',
  ],
  unknown: [
    'warn',
    'some pieces were not found on the computers that answered; others could not be asked now',
  ],
  lost: ['bad', 'some pieces have no copy left'],
};

/** Runs health checks one at a time, in the order asked. */
function checkQueue(signal, onChange) {
  const results = new Map();
  const waiting = [];
  let running = false;
  const pump = async () => {
    if (running) return;
    running = true;
    while (waiting.length > 0 && !signal.aborted) {
      const id = waiting.shift();
      results.set(id, { state: 'checking' });
      onChange(id);
      try {
        results.set(id, {
          state: 'done',
          report: await api('POST', `/api/files/${enc(id)}/check`, undefined, signal),
        });
      } catch (err) {
        if (signal.aborted) break;
        results.set(id, { state: 'error', message: quiet(err) ? '' : err.message });
      }
      onChange(id);
    }
    running = false;
  };
  const add = (id) => {
    if (waiting.includes(id) || results.get(id)?.state === 'checking') return;
    waiting.push(id);
    results.set(id, { state: 'waiting' });
    onChange(id);
    pump();
  };
  return { results, add };
}

function healthView(result) {
  if (result === undefined || result.state === 'waiting')
    return [badge('muted', 'waiting to check…', 'file-health')];
  if (result.state === 'checking') return [badge('muted', 'checking…', 'file-health')];
  if (result.state === 'error') return [badge('bad', 'check failed', 'file-health'), hint(result.message)];
  const { health, trusted, summary } = result.report;
  const [kind, words] = HEALTH[health] ?? ['muted', ''];
  const el = badge(kind, health, 'file-health');
  el.dataset.health = health;
  const counts = summary ? ` (${summary.healthy} of ${summary.chunks} pieces fully copied)` : '';
  return [
    el,
    hint(`${words}${counts}`),
    trusted === false && h('span', { class: 'hint block bad-text' }, T.untrustedIndex),
  ];
}

function fileRow(file, queue, onDownload, onForget, onDelete) {
  const td = cells(8);
  td[1].className = 'nowrap';
  const health = h('div');
  const check = button('Check', 'file-check', () => queue.add(row.item.id), 'small');
  const download = button('Download', 'file-download', () => onDownload(row.item, download));
  const save = h('a', { class: 'button', test: 'file-save' }, 'Save');
  const forget = button('Remove the saved copy', 'file-forget', () => onForget(row.item, forget), 'small');
  const remove = button('Delete', 'file-delete', () => onDelete(row.item, remove), 'small danger');
  td[6].append(health, check);
  td[7].append(h('div', { class: 'row tight' }, download, save, forget, remove));
  const row = {
    el: h('tr', { test: 'file-row', 'data-id': file.id }, td),
    update(f) {
      td[0].textContent = f.name;
      td[1].textContent = size(f.size);
      td[2].textContent = f.mine ? 'this computer' : labelOf({ label: f.uploaderName, nodeUuid: f.uploader });
      td[3].textContent = when(f.createdAt);
      td[4].textContent = String(f.copies);
      td[5].textContent = (f.nodes ?? []).map(labelOf).join(', ') || '—';
      remove.hidden = f.mine !== true;
      const result = queue.results.get(f.id);
      fill(health, healthView(result));
      check.disabled = result?.state === 'checking' || result?.state === 'waiting';
      save.hidden = !f.downloaded;
      forget.hidden = !f.downloaded;
      save.setAttribute('href', `/api/files/${enc(f.id)}/content`);
      save.setAttribute('download', f.name);
    },
  };
  return row;
}

function filesSection(signal, onJob) {
  const headers = ['Name', 'Size', 'Uploaded by', 'Uploaded', 'Copies', 'Stored on', 'Health', 'Actions'];
  const rows = tableList(headers, 'No file is in the cluster yet.', (f) =>
    fileRow(
      f,
      queue,
      (item, btn) => action(el, btn, 'Starting…', () => download(item))(),
      (item, btn) => action(el, btn, 'Removing…', () => forget(item))(),
      (item, btn) => action(el, btn, 'Deleting…', () => remove(item))(),
    ),
  );
  const said = note('ok');
  const el = card('Files in the cluster', p('hint', T.health), rows.el, said);
  const remove = async (file) => {
    say(said, '');
    const done = await askPassword({
      title: `Delete “${file.name}”?`,
      why: `Enter the admin password to delete “${file.name}” on every computer.`,
      warning:
        'Every computer moves its copies of this file to its trash; the file cannot be downloaded any more.',
      okLabel: 'Delete',
      danger: true,
      run: (password) => api('DELETE', `/api/files/${enc(file.id)}`, { password }),
    });
    if (done === undefined) return;
    say(said, `“${file.name}” was deleted. Its copies go to each computer’s trash.`);
    await load();
  };
  const queue = checkQueue(signal, (id) => rows.redraw(id));
  const download = async (file) => {
    say(said, '');
    await api('POST', `/api/files/${enc(file.id)}/download`);
    say(
      said,
      `Fetching “${file.name}” from the other computers. When it is done, a Save button appears next to it.`,
    );
    onJob();
  };
  const forget = async (file) => {
    await api('DELETE', `/api/files/${enc(file.id)}/content`);
    say(
      said,
      `The copy of “${file.name}” saved on this computer was removed. The file stays in the cluster.`,
    );
    await load();
  };
  const load = serial(async () => {
    try {
      const { files } = await api('GET', '/api/files', undefined, signal);
      rows.sync(files, (f) => f.id);
      for (const f of files) if (!queue.results.has(f.id)) queue.add(f.id);
    } catch (err) {
      if (!signal.aborted) fail(el, err);
    }
  });
  return { el, load };
}

function jobName(job) {
  if (job.kind === 'repair') {
    const r = job.result;
    if (r !== undefined) return `${r.copies} new copies, ${r.underReplicated} of ${r.chunks} chunks short`;
    return typeof job.params?.file === 'string' ? `file ${job.params.file.slice(0, 8)}` : 'all files';
  }
  if (typeof job.params?.name === 'string') return job.params.name;
  if (typeof job.params?.file === 'string') return basename(job.params.file);
  if (typeof job.result?.out === 'string') return basename(job.result.out);
  return '—';
}

const JOB_KIND = { upload: 'Upload', download: 'Download', repair: 'Repair' };
const JOB_STATE = { done: 'ok', failed: 'bad', cancelled: 'muted', running: 'info', queued: 'muted' };
const isLive = (s) => s === 'queued' || s === 'running';

function jobRow(job, onCancel) {
  const td = cells(5);
  const [stateBadge, error] = [h('span', { test: 'job-state' }), h('span', { class: 'hint block bad-text' })];
  const [bar, counts] = [h('progress', { max: 1, value: 0 }), hint('')];
  const cancel = button('Cancel', 'job-cancel', () => onCancel(row.item, cancel), 'small');
  td[2].append(stateBadge, error);
  td[3].append(bar, counts);
  td[4].append(cancel);
  const row = {
    el: h('tr', { test: 'job-row', 'data-id': job.id }, td),
    update(j) {
      td[0].textContent = JOB_KIND[j.kind] ?? j.kind;
      td[1].textContent = jobName(j);
      stateBadge.className = `badge ${JOB_STATE[j.state] ?? 'muted'}`;
      stateBadge.textContent = j.state;
      stateBadge.dataset.state = j.state;
      error.textContent = j.state === 'failed' ? (j.error?.message ?? 'It failed.') : '';
      const pr = j.progress;
      const total = pr && pr.total > 0 ? pr.total : 1;
      bar.max = total;
      bar.value = j.state === 'done' ? total : Math.min(pr?.done ?? 0, total);
      const percent = `${Math.floor((bar.value / total) * 100)} %`;
      const chunks = pr?.chunks !== undefined ? ` · chunks ${pr.chunksDone ?? 0}/${pr.chunks}` : '';
      // A repair counts chunks looked at, not bytes.
      const amount =
        j.kind === 'repair'
          ? `${pr?.done} of ${pr?.total} chunks`
          : `${size(pr?.done)} of ${size(pr?.total)}`;
      counts.textContent = pr ? `${percent} (${amount})${chunks}` : percent;
      cancel.hidden = !isLive(j.state);
    },
  };
  return row;
}

function jobsSection(signal, onFinished) {
  const rows = tableList(['Job', 'File', 'State', 'Progress', 'Actions'], 'No jobs yet.', (j) =>
    jobRow(j, (item, btn) => action(el, btn, 'Cancelling…', () => cancel(item))()),
  );
  const stale = note('warn');
  const el = card('Jobs', p('hint', T.jobs), stale, rows.el);
  const cancel = async (job) => {
    await api('POST', `/api/jobs/${enc(job.id)}/cancel`);
    poller.now();
  };
  const known = new Map();
  let first = true;
  const refresh = async () => {
    const { jobs } = await api('GET', '/api/jobs', undefined, signal);
    rows.sync(jobs, (j) => j.id);
    // A job that ended since the last look (or appeared already ended) changes the files list.
    const ended = !first && jobs.some((j) => !isLive(j.state) && isLive(known.get(j.id) ?? 'queued'));
    for (const j of jobs) known.set(j.id, j.state);
    first = false;
    if (ended) onFinished();
  };
  const poller = poll(signal, 1000, refreshing(stale, 'the jobs', refresh));
  return { el, now: () => poller.now() };
}

start();
