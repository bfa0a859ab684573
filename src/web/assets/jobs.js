/**
 * The jobs list of the Files page.
 */
import { action, api, refreshing } from './api.js';
import { basename, button, card, cells, enc, h, hint, note, p, size, tableList } from './dom.js';
import { onEvent, watch } from './live.js';
import { T } from './words.js';

export function jobName(job) {
  if (job.kind === 'repair') {
    const r = job.result;
    if (r !== undefined) return `${r.copies} new copies, ${r.underReplicated} of ${r.chunks} chunks short`;
    return typeof job.params?.file === 'string' ? `file ${job.params.file.slice(0, 8)}` : 'all files';
  }
  if (Array.isArray(job.params?.files)) {
    // A batch: the folder its files share (or the first file), and how many.
    const names = job.params.files.map((f) => String(f.name ?? f.file ?? ''));
    const top = names[0]?.includes('/') ? `${names[0].split('/')[0]}/` : (names[0] ?? '');
    const same = names.every((n) => n.startsWith(top));
    return `${same ? top : names[0]}${names.length > 1 ? ` (${names.length} files)` : ''}`;
  }
  if (typeof job.params?.name === 'string') return job.params.name;
  if (typeof job.params?.file === 'string') return basename(job.params.file);
  if (typeof job.result?.out === 'string') return basename(job.result.out);
  return '—';
}

export const JOB_KIND = {
  upload: 'Upload',
  download: 'Download',
  repair: 'Repair',
  'upload-batch': 'Upload (folder)',
  'download-batch': 'Download (folder)',
};

/** The files of a finished batch that failed, as one line each. */
export function failedFiles(job) {
  const files = Array.isArray(job.result?.files) ? job.result.files : [];
  return files.filter((f) => f.state === 'failed').map((f) => `${f.name}: ${f.error?.message ?? 'failed'}`);
}
export const JOB_STATE = { done: 'ok', failed: 'bad', cancelled: 'muted', running: 'info', queued: 'muted' };
export const isLive = (s) => s === 'queued' || s === 'running';

export function jobRow(job, onCancel) {
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
      const failed = failedFiles(j);
      error.textContent =
        j.state === 'failed'
          ? (j.error?.message ?? 'It failed.')
          : failed.length > 0
            ? `${failed.length} file${failed.length === 1 ? '' : 's'} failed: ${failed.slice(0, 20).join('; ')}`
            : '';
      error.dataset.test = 'job-failures';
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
      const files = pr?.files !== undefined ? ` · files ${pr.filesDone ?? 0}/${pr.files}` : '';
      counts.textContent = pr ? `${percent} (${amount})${chunks}${files}` : percent;
      cancel.hidden = !isLive(j.state);
    },
  };
  return row;
}

export function jobsSection(signal, onFinished) {
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
  /** The jobs shown, by id: the list from GET /api/jobs, then each job as its events come. */
  const shown = new Map();
  let first = true;
  const show = () => {
    const jobs = [...shown.values()].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    rows.sync(jobs, (j) => j.id);
    // A job that ended since the last look (or appeared already ended) changes the files list.
    const ended = !first && jobs.some((j) => !isLive(j.state) && isLive(known.get(j.id) ?? 'queued'));
    for (const j of jobs) known.set(j.id, j.state);
    first = false;
    if (ended) onFinished();
  };
  const refresh = async () => {
    const { jobs } = await api('GET', '/api/jobs', undefined, signal);
    shown.clear();
    for (const j of jobs) shown.set(j.id, j);
    show();
  };
  onEvent(
    'job',
    (job) => {
      if (typeof job?.id !== 'string') return;
      shown.set(job.id, job);
      show();
    },
    signal,
  );
  const poller = watch(signal, 1000, [], refreshing(stale, 'the jobs', refresh));
  return { el, now: () => poller.now() };
}
