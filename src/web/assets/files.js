/**
 * The Files page: upload, the cluster's files with their health and download.
 */
import { action, api, askPassword, clearError, fail, quiet, serial, showError } from './api.js';
import {
  badge,
  button,
  card,
  cells,
  enc,
  fill,
  h,
  hint,
  labelOf,
  note,
  p,
  say,
  size,
  tableList,
  when,
} from './dom.js';
import { folderView } from './folders.js';
import { jobsSection } from './jobs.js';
import { onEvent } from './live.js';
import { uploadForm } from './upload.js';
import { T } from './words.js';

// ---------------------------------------------------------------- Files

export function pageFiles(main, signal) {
  const files = filesSection(signal);
  const jobs = jobsSection(signal, files.load);
  main.append(h('h1', 'Files'), uploadForm(jobs.now, files.folder), files.el, jobs.el);
  files.load();
}

export const HEALTH = {
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
export function checkQueue(signal, onChange) {
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
          at: new Date(),
          manual: asked.delete(id),
        });
      } catch (err) {
        if (signal.aborted) break;
        results.set(id, { state: 'error', message: quiet(err) ? '' : err.message, manual: asked.delete(id) });
      }
      onChange(id);
    }
    running = false;
  };
  const asked = new Set();
  /** `manual`: a person pressed Check (the result is also said in words). */
  const add = (id, manual = false) => {
    if (manual) asked.add(id);
    if (waiting.includes(id) || results.get(id)?.state === 'checking') return;
    waiting.push(id);
    results.set(id, { state: 'waiting' });
    onChange(id);
    pump();
  };
  return { results, add };
}

export function healthView(result) {
  if (result === undefined || result.state === 'waiting')
    return [badge('muted', 'waiting to check…', 'file-health')];
  if (result.state === 'checking') return [badge('muted', 'checking…', 'file-health')];
  if (result.state === 'error') return [badge('bad', 'check failed', 'file-health'), hint(result.message)];
  const { health, trusted, summary } = result.report;
  const [kind, words] = HEALTH[health] ?? ['muted', ''];
  const el = badge(kind, health, 'file-health');
  el.dataset.health = health;
  const counts = summary ? ` (${summary.healthy} of ${summary.chunks} pieces fully copied)` : '';
  const at = result.at instanceof Date ? result.at.toLocaleTimeString() : '';
  return [
    el,
    hint(`${words}${counts}`),
    at && h('span', { class: 'hint block', test: 'file-checked' }, `checked at ${at}`),
    trusted === false && h('span', { class: 'hint block bad-text' }, T.untrustedIndex),
  ];
}

export function fileRow(file, queue, downloads, onDownload, onForget, onDelete) {
  const td = cells(8);
  td[1].className = 'nowrap';
  const health = h('div');
  const check = button('Check', 'file-check', () => queue.add(row.item.id, true), 'small');
  // One click: the node streams the file from the cluster as its pieces arrive, each one checked.
  const download = h('a', { class: 'button primary', test: 'file-download' }, 'Download');
  download.addEventListener('click', () => onDownload(row.item));
  const forget = button('Remove the saved copy', 'file-forget', () => onForget(row.item, forget), 'small');
  const remove = button('Delete', 'file-delete', () => onDelete(row.item, remove), 'small danger');
  const status = h('span', { class: 'hint block', test: 'file-download-status', role: 'status' });
  td[6].append(health, check);
  td[7].append(h('div', { class: 'row tight' }, download, forget, remove), status);
  const row = {
    el: h('tr', { test: 'file-row', 'data-id': file.id }, td),
    update(f) {
      td[0].textContent = f.name.slice(f.name.lastIndexOf('/') + 1);
      td[0].title = f.name;
      td[1].textContent = size(f.size);
      td[2].textContent = f.mine ? 'this computer' : labelOf({ label: f.uploaderName, nodeUuid: f.uploader });
      td[3].textContent = when(f.createdAt);
      td[4].textContent = String(f.copies);
      td[5].textContent = (f.nodes ?? []).map(labelOf).join(', ') || '—';
      remove.hidden = f.mine !== true;
      const result = queue.results.get(f.id);
      fill(health, healthView(result));
      const busy = result?.state === 'checking' || result?.state === 'waiting';
      check.disabled = busy;
      check.textContent = busy ? 'Checking…' : 'Check';
      // A copy saved on this node by an earlier version's download job.
      forget.hidden = !f.downloaded;
      download.setAttribute('href', `/api/files/${enc(f.id)}/content`);
      download.setAttribute('download', f.name.slice(f.name.lastIndexOf('/') + 1));
      const d = downloads.get(f.id);
      status.textContent = d?.text ?? '';
      status.className = `hint block ${d?.kind === 'bad' ? 'bad-text' : ''}`;
    },
  };
  return row;
}

export function filesSection(signal) {
  const headers = ['Name', 'Size', 'Uploaded by', 'Uploaded', 'Copies', 'Stored on', 'Health', 'Actions'];
  const rows = tableList(headers, 'No file is in the cluster yet.', (f) =>
    fileRow(
      f,
      queue,
      downloads,
      (item) => started(item),
      (item, btn) => action(el, btn, 'Removing…', () => forget(item))(),
      (item, btn) => action(el, btn, 'Deleting…', () => remove(item))(),
    ),
  );
  const said = note('ok');
  const folders = folderView(signal, (path) => open(path), said);
  const el = card('Files in the cluster', p('hint', T.health), folders.el, rows.el, said);
  /** The folder shown ('' the top), kept in the page's address (#/files?path=…). */
  let current = new URLSearchParams(location.hash.split('?')[1] ?? '').get('path') ?? '';
  const open = (path) => {
    current = path;
    history.replaceState(null, '', path === '' ? '#/files' : `#/files?path=${enc(path)}`);
    load();
  };
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
  const queue = checkQueue(signal, (id) => {
    rows.redraw(id);
    const result = queue.results.get(id);
    const name = names.has(id) ? `“${names.get(id)}”` : 'The file';
    if (result?.manual && result.state === 'done') say(said, `${name} was checked: ${result.report.health}.`);
    if (result?.manual && result.state === 'error')
      showError(el, `${name} could not be checked: ${result.message}`);
  });
  /** What this browser's downloads did, by file id (from the event stream). */
  const downloads = new Map();
  const names = new Map();
  const started = (file) => {
    clearError();
    say(said, '');
    downloads.set(file.id, { kind: 'ok', text: 'Downloading to this browser…' });
    rows.redraw(file.id);
  };
  onEvent(
    'download',
    (d) => {
      const name = names.get(d.id) ?? d.name;
      if (d.state === 'started') downloads.set(d.id, { kind: 'ok', text: 'Downloading to this browser…' });
      if (d.state === 'done') {
        downloads.set(d.id, { kind: 'ok', text: 'Downloaded; every piece was checked.' });
        say(said, `“${name}” was downloaded to this browser; every piece was checked.`);
      }
      if (d.state === 'failed') {
        const why = d.error?.message ?? 'it stopped';
        downloads.set(d.id, { kind: 'bad', text: `Download failed: ${why}` });
        showError(el, `The download of “${name}” failed, and the browser marks it failed: ${why}`);
      }
      rows.redraw(d.id);
    },
    signal,
  );
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
      let listing;
      for (;;) {
        try {
          listing = await api('GET', `/api/folder?path=${enc(current)}`, undefined, signal);
          break;
        } catch (err) {
          // The folder was emptied (deleted here or elsewhere): show the one above it.
          if (err?.code !== 'ERR_NOT_FOUND' || current === '') throw err;
          current = current.includes('/') ? current.slice(0, current.lastIndexOf('/')) : '';
          history.replaceState(null, '', current === '' ? '#/files' : `#/files?path=${enc(current)}`);
        }
      }
      const { files } = listing;
      folders.show(listing);
      rows.sync(files, (f) => f.id);
      rows.empty.hidden = files.length > 0 || listing.folders.length > 0;
      for (const f of files) {
        names.set(f.id, f.name);
        if (!queue.results.has(f.id)) queue.add(f.id);
      }
    } catch (err) {
      if (!signal.aborted) fail(el, err);
    }
  });
  // The catalog changed (here, or a file another node announced): the list again.
  onEvent('files', () => load(), signal);
  return { el, load, folder: () => current };
}
