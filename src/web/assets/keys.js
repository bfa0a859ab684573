/**
 * The Key Manager page: this computer's key pairs, the admin password and the trusted computers' keys.
 */
import { action, api, askPassword, fail, need, serial, state } from './api.js';
import {
  address,
  badge,
  button,
  card,
  cells,
  enc,
  field,
  fill,
  h,
  hint,
  labelOf,
  note,
  p,
  say,
  sourceText,
  tableList,
  when,
} from './dom.js';
import { T } from './words.js';

// ---------------------------------------------------------------- Key Manager

export function pageKeys(main, signal) {
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
export function adminPassword() {
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

export function keyRow(key, onActivate) {
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

export function ownKeys(signal) {
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

export function remoteRow(first, onRemove) {
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

export function remoteKeys(signal) {
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
