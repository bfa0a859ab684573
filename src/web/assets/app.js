/**
 * The arozdfs web UI (docs/web.md): one page, hash routing (#/host, #/keys, #/cluster, #/files), plain
 * ES modules with no dependencies and no build step. It never builds markup from strings: every element
 * comes from DOM calls and every string is set as text. Pages follow changes through the event stream
 * (live.js) and poll only while it is down.
 */
import { action, api, clearError, fail, need, quiet, state } from './api.js';
import { pageCluster } from './cluster.js';
import { button, field, fill, h, p } from './dom.js';
import { pageFiles } from './files.js';
import { pageHost } from './host.js';
import { pageKeys } from './keys.js';
import { connectEvents, disconnectEvents } from './live.js';
import { T } from './words.js';

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
  state.onSessionEnded = sessionEnded;
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
  disconnectEvents();
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
  connectEvents();
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
  const id = location.hash.replace(/^#\/?/, '').split('?')[0];
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

start();
