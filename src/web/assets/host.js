/**
 * The Host setup page: this computer's pairing string, pasting another one's, and the paired list.
 */
import { action, api, askPassword, fail, need, refreshing } from './api.js';
import {
  button,
  card,
  fact,
  facts,
  field,
  fill,
  h,
  hidden,
  hint,
  keyed,
  labelOf,
  note,
  p,
  say,
} from './dom.js';
import { watch } from './live.js';
import { T } from './words.js';

// ---------------------------------------------------------------- Host setup

export function pageHost(main, signal) {
  const info = card('This computer', p('muted', 'Loading…'));
  const peers = pairedList();
  const box = pairBox(() => poller.now());
  const hints = hintsList(box.paste);
  // Two loops: the paired list probes every peer (seconds when one is down); hints are instant.
  const poller = watch(signal, 3000, ['cluster'], peers.refresh);
  watch(signal, 3000, ['hints', 'cluster'], hints.refresh);
  main.append(h('h1', 'Host setup'), p('lead', T.hostLead), info, hints.el, box.el, peers.el);
  api('GET', '/api/host', undefined, signal).then(
    (host) => fill(info, ...hostInfo(host)),
    (err) => fail(info, err),
  );
}

/**
 * A block of text shown whole (wrapped anywhere, never cut or scrolled), selected whole by one click,
 * with a Copy button; when the clipboard is refused the text is selected for Ctrl+C.
 */
export function copyable(text, testArea, testButton) {
  const block = h('p', { class: 'whole', test: testArea, tabindex: 0 }, text);
  const said = h('span', { class: 'hint', role: 'status' });
  const selectAll = () => {
    const range = document.createRange();
    range.selectNodeContents(block);
    const selection = window.getSelection();
    selection?.removeAllRanges();
    selection?.addRange(range);
  };
  block.addEventListener('focus', selectAll);
  const copy = button('Copy', testButton, async () => {
    try {
      await navigator.clipboard.writeText(text);
      said.textContent = 'Copied.';
    } catch {
      block.focus();
      selectAll();
      said.textContent = 'The text is selected: press Ctrl+C (⌘C on a Mac) to copy it.';
    }
  });
  return [block, h('div', { class: 'row' }, copy, said)];
}

export function hostInfo(host) {
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
    copyable(host.pairing, 'own-pairing', 'copy-pairing'),
    h(
      'details',
      h('summary', 'Public key (PEM format)'),
      p('hint', T.pem),
      copyable(host.pem, 'own-pem', 'copy-pem'),
    ),
  ];
}

export function pairBox(onTrusted) {
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
  return { el: card('Pair with another computer', form, preview, done), paste };
}

export function showPreview(preview, answer, onTrust) {
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

export const PAIRING_STATUS = {
  both: ['ok', () => 'Paired both ways ✓'],
  waiting: ['info', () => 'Waiting for the other computer…'],
  'one-way': ['warn', (name) => `One way so far — paste this computer’s pairing string on ${name} too`],
  unknown: ['muted', () => 'Not reachable right now (can’t tell if it trusts this computer)'],
  mismatch: ['bad', () => 'KEY MISMATCH — it shows a different key than the one trusted for it'],
};

export function pairedRow(first) {
  const [name, id, status, detail] = [
    h('strong'),
    h('code', { class: 'small' }),
    h('span', { test: 'peer-status' }),
    hint(''),
  ];
  const where = hint('');
  const input = h('input', {
    type: 'text',
    test: 'peer-address-input',
    placeholder: '192.168.1.20:7420',
    autocomplete: 'off',
    spellcheck: 'false',
    inputmode: 'url',
  });
  const save = button('Save address', 'peer-address-save', 'submit', 'small');
  const said = note('ok');
  const form = h(
    'form',
    { class: 'row address-form' },
    h('label', { class: 'grow' }, h('span', { class: 'hint block' }, T.peerAddress), input),
    save,
  );
  const more = h('details', { class: 'address' }, h('summary', 'Address'), where, form, said);
  const el = h(
    'li',
    { test: 'peer-row', 'data-uuid': first.nodeUuid },
    h('div', {}, name, ' ', id),
    status,
    detail,
    more,
  );
  const setAddress = async () => {
    say(said, '');
    const value = input.value.trim();
    const answer = await api('PUT', `/api/peers/${encodeURIComponent(row.item.nodeUuid)}/address`, {
      address: value === '' ? null : value,
    });
    say(
      said,
      answer.address === null ? 'The address was removed.' : `Saved: ${answer.address}. Trying it now.`,
    );
  };
  form.addEventListener('submit', action(form, save, 'Saving…', setAddress));
  const row = {
    el,
    update(peer) {
      const [kind, text] = PAIRING_STATUS[peer.pairing] ?? PAIRING_STATUS.unknown;
      name.textContent = labelOf(peer);
      id.textContent = peer.nodeUuid;
      status.className = `badge ${kind}`;
      status.textContent = text(labelOf(peer));
      status.dataset.pairing = peer.pairing;
      // The technical reason helps only when the state itself does not say what to do.
      const unclear = peer.pairing === 'unknown' || peer.pairing === 'mismatch';
      detail.textContent =
        peer.pairing === 'waiting' ? T.waiting(labelOf(peer)) : unclear ? (peer.detail ?? '') : '';
      where.textContent = peer.staticAddress
        ? `Address given here: ${peer.staticAddress}`
        : peer.address
          ? `Found at ${peer.address}. If it cannot be found, give its address:`
          : 'No address is known. Give it if discovery cannot find it (another network, Wi-Fi isolation, Docker):';
      where.dataset.test = 'peer-address-current';
      if (document.activeElement !== input && input.value === '') input.value = peer.staticAddress ?? '';
    },
  };
  return row;
}

/** Computers that paired with this one (a refused handshake) and untrusted ones seen on the network. */
export function hintsList(paste) {
  const list = h('ul', { class: 'peers' });
  const seen = h('ul', { class: 'peers' });
  const seenBox = hidden(
    h('div', {}, h('h3', 'Seen on the network, not trusted'), p('hint', T.seenHint), seen),
  );
  const el = hidden(card('Computers that want to pair', list, seenBox));
  el.dataset.test = 'pairing-hints';
  const pasteHere = () => {
    paste.scrollIntoView({ block: 'center' });
    paste.focus();
  };
  const hintRow = (hnt) => {
    const name = hnt.name || 'A computer';
    return h(
      'li',
      { test: 'pairing-hint', 'data-uuid': hnt.nodeUuid },
      h(
        'p',
        {},
        h('strong', {}, name),
        ' (',
        h('code', { class: 'small' }, hnt.fingerprint),
        ') has paired with this computer. To pair back, paste its pairing string here.',
      ),
      hint(`Computer ID ${hnt.nodeUuid}, from ${hnt.address}. Compare the fingerprint with its own screen.`),
      h('div', { class: 'row' }, button('Paste its pairing string', 'hint-paste', pasteHere, 'small')),
    );
  };
  const seenRow = (n) =>
    h(
      'li',
      { test: 'seen-untrusted', 'data-uuid': n.nodeUuid },
      h('strong', {}, n.name || '(no name)'),
      ' ',
      h('code', { class: 'small' }, n.fingerprintShort),
      hint(`at ${n.address}`),
    );
  const refresh = async (signal) => {
    // Only a help: when it cannot be read now, the list stays as it was (the next event retries).
    const answer = await api('GET', '/api/pairing/hints', undefined, signal).catch(() => null);
    if (answer === null) return;
    const { handshakes, discovered } = answer;
    fill(list, handshakes.map(hintRow));
    fill(seen, discovered.map(seenRow));
    list.hidden = handshakes.length === 0;
    seenBox.hidden = discovered.length === 0;
    el.hidden = handshakes.length === 0 && discovered.length === 0;
  };
  return { el, refresh };
}

export function pairedList() {
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
