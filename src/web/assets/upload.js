/**
 * The Files page's upload form: one file (staged as it is sent), several files or a folder (the
 * directory picker, or dropped), stored in the folder shown; redundancy (copies, or erasure coding
 * K+M fitting the number of computers) and encryption. A folder is sent file by file into one batch,
 * then committed as one upload-batch job (docs/web.md "Folder uploads").
 */
import { ApiError, action, api, need, sendBody, sendFile } from './api.js';
import { button, enc, field, h, hidden, note, p, say, size } from './dom.js';
import { T } from './words.js';

/** At most this many files per folder upload (the node refuses more: ERR_TOO_LARGE). */
export const MAX_BATCH_FILES = 10000;
/** Files sent at once within a folder upload. */
const PARALLEL = 3;
/** Erasure codings offered, when the cluster has at least K+M computers. */
export const EC_CHOICES = ['2+1', '3+1', '2+2', '4+1', '3+2', '4+2', '6+2', '6+3'];

/** Why the catalog would refuse `name` (docs/catalog.md "Folders"), or '' when it is fine. */
export function nameProblem(name) {
  const bytes = (s) => new TextEncoder().encode(s).length;
  const parts = name.split('/');
  if (bytes(name) > 4096) return 'is longer than 4096 bytes';
  if (parts.length > 64) return 'is more than 64 folders deep';
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..') return 'has an empty, "." or ".." part';
    if (bytes(part) > 255) return 'has a part longer than 255 bytes';
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
    if (/[\\\u0000-\u001f\u007f]/.test(part)) return 'holds a "\\" or a control character';
  }
  return '';
}

/** Every file under the dropped entries, with its path relative to what was dropped. */
async function walk(entries, limit) {
  const out = [];
  const visit = async (entry, prefix) => {
    if (out.length > limit) return;
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      out.push({ file, path: `${prefix}${entry.name}` });
      return;
    }
    if (!entry.isDirectory) return;
    const reader = entry.createReader();
    for (;;) {
      const some = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
      if (some.length === 0) break;
      for (const child of some) await visit(child, `${prefix}${entry.name}/`);
    }
  };
  for (const entry of entries) await visit(entry, '');
  return out;
}

/**
 * Sends `picked` ({ file, name }) as one folder upload: a batch sized for them, each file into it
 * (PARALLEL at once), then the commit that starts one upload-batch job. Names the node refuses are
 * reported and the rest go on; anything else (a cut connection, Stop) cancels the whole batch.
 */
async function sendBatch(picked, options, onProgress, stop) {
  const bytes = picked.reduce((n, f) => n + f.file.size, 0);
  const { batch } = await api('POST', '/api/batches', { files: picked.length, bytes });
  const sending = new Set();
  let stopped = false;
  stop.abort = () => {
    stopped = true;
    for (const s of sending) s.abort?.();
  };
  const refused = [];
  const moving = new Map();
  let [doneBytes, doneFiles, next] = [0, 0, 0];
  const tell = () => {
    let b = doneBytes;
    for (const n of moving.values()) b += n;
    onProgress({ files: doneFiles, totalFiles: picked.length, bytes: b, totalBytes: bytes });
  };
  const worker = async () => {
    while (next < picked.length && !stopped) {
      const i = next++;
      const { file, name } = picked[i];
      const one = {};
      sending.add(one);
      try {
        await sendBody(
          `/api/batches/${enc(batch)}/files?name=${enc(name)}`,
          file,
          (sent) => {
            moving.set(i, sent);
            tell();
          },
          one,
        );
      } catch (err) {
        if (err?.code !== 'ERR_BAD_REQUEST') throw err;
        refused.push({ name, message: err.message });
      } finally {
        sending.delete(one);
        moving.delete(i);
      }
      doneBytes += file.size;
      doneFiles++;
      tell();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(PARALLEL, picked.length) }, worker));
    if (stopped) throw new ApiError('ERR_ABORTED', 'The upload was stopped.', 0);
    need(refused.length < picked.length, 'No file of the folder could be sent.');
    const { job } = await api('POST', `/api/batches/${enc(batch)}/commit`, options);
    return { job, refused };
  } catch (err) {
    stop.abort();
    await api('DELETE', `/api/batches/${enc(batch)}`).catch(() => undefined);
    throw err;
  }
}

/** The redundancy choice: copies (with their number) or an erasure coding that fits the cluster. */
function redundancyField() {
  const kind = h('select', { test: 'upload-redundancy' }, h('option', { value: 'copies' }, 'Copies'));
  const copies = h('input', { type: 'number', test: 'upload-copies', min: 1, step: 1, value: 2 });
  kind.addEventListener('change', () => {
    copies.disabled = kind.value !== 'copies';
  });
  /** Offers the erasure codings whose K+M computers the cluster has. */
  const fit = (computers) => {
    for (const ec of EC_CHOICES) {
      const [k, m] = ec.split('+').map(Number);
      if (k + m > computers || kind.querySelector(`option[value="${ec}"]`)) continue;
      kind.append(h('option', { value: ec }, `Erasure coding ${ec} (survives losing ${m})`));
    }
  };
  const read = () => {
    if (kind.value !== 'copies') return { ec: kind.value };
    const n = Number(copies.value);
    need(Number.isInteger(n) && n >= 1, 'Copies must be a whole number, 1 or more.');
    return { copies: n };
  };
  return { el: [field('Redundancy', kind, T.redundancy), field('Copies', copies, T.copies)], fit, read };
}

export function uploadForm(onStarted, folderOf) {
  const file = h('input', { type: 'file', test: 'upload-file', multiple: true });
  const dir = h('input', { type: 'file', test: 'upload-folder', webkitdirectory: true, multiple: true });
  const drop = h('div', { class: 'drop', test: 'upload-drop' }, 'Or drop files or a folder here.');
  const chosenLine = p('hint', '', 'upload-chosen');
  const redundancy = redundancyField();
  const shift = h('input', { type: 'number', test: 'upload-shift', min: 1, step: 1, value: 1 });
  const encrypt = h('input', { type: 'checkbox', test: 'upload-encrypt' });
  const send = button('Upload', 'upload-start', 'submit', 'primary');
  const sending = {};
  const stop = hidden(button('Stop sending', 'upload-stop', () => sending.abort?.()));
  const bar = h('progress', {
    test: 'upload-progress',
    max: 100,
    value: 0,
    id: 'upload-progress',
    'aria-labelledby': 'upload-progress-label',
  });
  const label = h(
    'label',
    { id: 'upload-progress-label', for: 'upload-progress', test: 'upload-progress-label' },
    'Sent to this computer',
  );
  const percent = h('span', { class: 'percent', test: 'upload-percent' }, '0 %');
  const progress = hidden(h('div', { class: 'progress-row' }, label, bar, percent));
  const said = note();
  const failures = hidden(h('ul', { class: 'failures', test: 'upload-failures' }));
  /** What will be sent: { file, path } with the path relative to the folder shown. */
  let chosen = [];
  const show = () => {
    const bytes = chosen.reduce((n, c) => n + c.file.size, 0);
    const where = folderOf() === '' ? 'the top folder' : `“${folderOf()}”`;
    chosenLine.textContent =
      chosen.length === 0
        ? ''
        : `${chosen.length} file${chosen.length === 1 ? '' : 's'} (${size(bytes)}) chosen, to go into ${where}.`;
  };
  file.addEventListener('change', () => {
    chosen = [...(file.files ?? [])].map((f) => ({ file: f, path: f.name }));
    dir.value = '';
    show();
  });
  dir.addEventListener('change', () => {
    chosen = [...(dir.files ?? [])].map((f) => ({ file: f, path: f.webkitRelativePath || f.name }));
    file.value = '';
    show();
  });
  drop.addEventListener('dragover', (event) => {
    event.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', async (event) => {
    event.preventDefault();
    drop.classList.remove('over');
    // The entries must be taken before the first await: the drop's data is gone after it.
    const entries = [...(event.dataTransfer?.items ?? [])]
      .map((item) => item.webkitGetAsEntry?.())
      .filter((e) => e !== null && e !== undefined);
    // Without entries (a browser without them, or files made by a script): the files as they are.
    const flat = [...(event.dataTransfer?.files ?? [])].map((f) => ({ file: f, path: f.name }));
    chosen = entries.length > 0 ? await walk(entries, MAX_BATCH_FILES) : flat;
    file.value = '';
    dir.value = '';
    show();
  });
  const form = h(
    'form',
    { class: 'card stack' },
    h('h2', 'Upload files or a folder'),
    p('hint', T.upload),
    h('div', { class: 'row align-top' }, field('Files', file), field('A folder', dir)),
    drop,
    chosenLine,
    h('div', { class: 'row align-top' }, redundancy.el, field('Shift', shift, T.shift)),
    h('label', { class: 'check' }, encrypt, ' Encrypt ', h('span', { class: 'hint' }, T.encrypt)),
    h('div', { class: 'row' }, send, stop),
    progress,
    said,
    failures,
  );
  api('GET', '/api/cluster')
    .then((c) => redundancy.fit(1 + (c?.nodes?.length ?? 0)))
    .catch(() => undefined);

  const run = async () => {
    need(chosen.length > 0, 'Choose files or a folder first.');
    need(
      chosen.length <= MAX_BATCH_FILES,
      `At most ${MAX_BATCH_FILES} files at once: send the folder in parts.`,
    );
    const s = Number(shift.value);
    need(Number.isInteger(s) && s >= 1, 'Shift must be a whole number, 1 or more.');
    const options = { ...redundancy.read(), shift: s, encrypt: encrypt.checked };
    const prefix = folderOf() === '' ? '' : `${folderOf()}/`;
    const picked = chosen.map((c) => ({ file: c.file, name: `${prefix}${c.path}` }));
    const bad = picked.filter((c) => nameProblem(c.name) !== '');
    const good = picked.filter((c) => nameProblem(c.name) === '');
    failures.replaceChildren(
      ...bad.map((c) => h('li', {}, `${c.name}: not sent, the name ${nameProblem(c.name)}`)),
    );
    need(good.length > 0, 'No file chosen has a name the cluster can store.');
    progress.hidden = false;
    bar.value = 0;
    percent.textContent = '0 %';
    say(said, '');
    stop.hidden = false;
    let started;
    try {
      if (good.length === 1 && prefix === '' && !good[0].name.includes('/')) {
        label.textContent = 'Sent to this computer';
        const f = good[0].file;
        started = await sendFile(
          f,
          options,
          (sent, total) => {
            bar.value = total > 0 ? Math.floor((sent / total) * 100) : 100;
            percent.textContent = `${bar.value} %`;
          },
          sending,
        );
      } else {
        started = await sendBatch(
          good,
          options,
          (pr) => {
            bar.value = pr.totalBytes > 0 ? Math.floor((pr.bytes / pr.totalBytes) * 100) : 100;
            percent.textContent = `${bar.value} %`;
            label.textContent = `Sent to this computer: ${pr.files} of ${pr.totalFiles} files, ${size(pr.bytes)} of ${size(pr.totalBytes)}`;
          },
          sending,
        );
        for (const r of started.refused) failures.append(h('li', {}, `${r.name}: ${r.message}`));
      }
    } catch (err) {
      progress.hidden = true;
      throw err;
    } finally {
      stop.hidden = true;
      sending.abort = undefined;
      failures.hidden = failures.childElementCount === 0;
    }
    bar.value = 100;
    percent.textContent = '100 %';
    const what = good.length === 1 ? `“${good[0].name}”` : `${good.length} files`;
    say(said, `Upload job started for ${what}. Follow it under Jobs below.`, 'ok');
    if (started?.job === undefined) throw new Error('The node did not start a job.');
    chosen = [];
    file.value = '';
    dir.value = '';
    show();
    onStarted();
  };
  form.addEventListener('submit', action(form, send, 'Sending…', run));
  return form;
}
