/**
 * `npm run bench:small-files`: a photo library's worth of small files through arozdfs, beside
 * Syncthing syncing the same folder A → B in the same run when syncthing is installed.
 *
 * arozdfs: 3 `serve` processes on 127.0.0.2–4 (--no-discovery); FILES files of 1–4 MiB (a fixed seed)
 * in nested folders uploaded from alpha as one batch (2 copies), then downloaded as a folder on beta.
 * Syncthing (bench/syncthing.ts, loopback only): A shares the folder send-only, B receives it; the
 * clock runs from their start until B has every file. Each contender starts on recycled pages
 * (a scratch file written and deleted just before: `levelPages`, bench/cluster-baselines.ts).
 *
 * Printed: files/s, MB/s, the daemons' RSS over the batch (start, peak, end), and the ratios.
 * `--files 100` is the quick mode for iterating; `--cpu-prof` writes the daemons' CPU profiles and
 * prints where their time went; `--upload-only` runs only the batch upload (no per-file cost, no
 * download), for profiling it. `--lone-files N --lone-kib K` (40 and 16 by default) set the
 * per-file cost measurement: N files of K KiB as N lone upload jobs, then as one batch
 * (`--lone-files 300 --lone-kib 2048`: a host application's one job per photo, with the uploader's
 * peak RSS over them). The daemons run with the memory tuning of `npm start` (bench/tuning.ts;
 * AROZDFS_BENCH_NODE_FLAGS replaces its node flags, AROZDFS_BENCH_TUNING=default turns it off).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalCluster, type LocalNode } from '../src/cli/local-cluster.ts';
import { controlCall } from '../src/control/client.ts';
import type { JobRecord } from '../src/jobs/types.ts';
import { benchArgs, numberArg } from './args.ts';
import { levelBytes, levelPages } from './cluster-baselines.ts';
import { peakRss, resetPeak } from './cluster-probes.ts';
import { formatSummary, summarize } from './cpu-profile.ts';
import { findSyncthing, SyncthingPair } from './syncthing.ts';
import { daemonTuning } from './tuning.ts';

const MiB = 1024 * 1024;
const SEED = 20_260_520;
const { values } = benchArgs({
  options: {
    files: { type: 'string', default: '1000' },
    'min-mib': { type: 'string', default: '1' },
    'max-mib': { type: 'string', default: '4' },
    dir: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'no-syncthing': { type: 'boolean', default: false },
    'upload-only': { type: 'boolean', default: false },
    'lone-files': { type: 'string', default: '40' },
    'lone-kib': { type: 'string', default: '16' },
  },
});
const count = numberArg(values.files, 'files');
const minSize = numberArg(values['min-mib'], 'min-mib', { min: 0, fraction: true }) * MiB;
const maxSize = numberArg(values['max-mib'], 'max-mib', { min: 0, fraction: true }) * MiB;
/** The per-file cost measurement: this many files of this size as lone jobs, then as one batch. */
const loneFiles = numberArg(values['lone-files'], 'lone-files');
const loneSize = numberArg(values['lone-kib'], 'lone-kib') * 1024;
const parent = values.dir === undefined ? tmpdir() : resolve(values.dir);
const say = (text: string) => process.stderr.write(`${text}\n`);
const out = (text: string) => process.stdout.write(`${text}\n`);
const { nodeFlags, note: tuningNote } = daemonTuning();
out(tuningNote);

/** xorshift32: the same sizes and bytes on every run. */
function rng(seed: number) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** FILES files of MIN–MAX bytes in photos/<year>/<month>/; returns their total bytes. */
async function makeLibrary(root: string): Promise<number> {
  const next = rng(SEED);
  const block = Buffer.alloc(maxSize);
  for (let k = 0; k < block.length; k += 4) block.writeUInt32LE(next(), k);
  let total = 0;
  for (let k = 0; k < count; k++) {
    const dir = join(root, String(2020 + (k % 5)), String(1 + (k % 12)).padStart(2, '0'));
    await mkdir(dir, { recursive: true });
    const size = minSize + (next() % (maxSize - minSize + 1));
    // Each file differs from the others: its own first 16 bytes, and its own offset in the block.
    const start = next() % (maxSize - size + 1);
    const bytes = Buffer.from(block.subarray(start, start + size));
    bytes.writeUInt32LE(k, 0);
    bytes.writeUInt32LE(next(), 4);
    await writeFile(join(dir, `img_${String(k).padStart(5, '0')}.jpg`), bytes);
    total += size;
  }
  return total;
}

/** Submits a job and waits for it; throws unless it is done. */
async function runJob(home: string, kind: string, params: Record<string, unknown>): Promise<JobRecord> {
  const job = (await controlCall(home, 'POST', '/v1/jobs', { kind, params })) as JobRecord;
  const { job: end } = (await controlCall(home, 'GET', `/v1/jobs/wait/${job.id}`, undefined, {
    timeoutMs: 2 ** 31 - 1,
  })) as { job: JobRecord };
  if (end.state !== 'done') throw new Error(`${kind} ${end.state}: ${end.error?.message}`);
  return end;
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!entry.name.startsWith('.st')) found.push(...(await listFiles(path, base)));
    } else if (entry.isFile() && !entry.name.startsWith('.syncthing.'))
      found.push(path.slice(base.length + 1));
  }
  return found.sort();
}

async function sameTree(a: string, b: string): Promise<boolean> {
  const left = await listFiles(a);
  const right = await listFiles(b);
  if (left.join('\n') !== right.join('\n')) return false;
  for (const name of left) {
    const [x, y] = await Promise.all([readFile(join(a, name)), readFile(join(b, name))]);
    if (!createHash('sha256').update(x).digest().equals(createHash('sha256').update(y).digest()))
      return false;
  }
  return true;
}

/** RSS of the pids now, sampled every 200 ms until `stop`: start, peak, end (bytes, summed). */
async function rssOver(
  pids: number[],
  stop: AbortSignal,
): Promise<{ start: number; peak: number; end: number; anonStart: number; anonEnd: number }> {
  const sum = async (field: 'VmRSS' | 'RssAnon' = 'VmRSS') => {
    let total = 0;
    for (const pid of pids) {
      const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
      const kb = new RegExp(`${field}:\\s+(\\d+)`).exec(text)?.[1];
      total += Number(kb ?? 0) * 1024;
    }
    return total;
  };
  const start = await sum();
  const anonStart = await sum('RssAnon');
  let peak = start;
  while (!stop.aborted) {
    await new Promise((r) => setTimeout(r, 200));
    peak = Math.max(peak, await sum());
  }
  return { start, peak, end: await sum(), anonStart, anonEnd: await sum('RssAnon') };
}

/**
 * Where a process's resident memory is, from /proc/PID/smaps: glibc's [heap], other anonymous
 * mappings (V8's heap pages, thread arenas and stacks, mmap'ed buffers), shared memory (the rings'
 * SharedArrayBuffers), and file pages (the executable, libraries).
 */
async function memoryOf(pid: number): Promise<string> {
  const text = await readFile(`/proc/${pid}/smaps`, 'utf8').catch(() => '');
  const sums = { heap: 0, anon: 0, shared: 0, file: 0 };
  let kind: keyof typeof sums = 'anon';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head !== null) {
      const name = head[1] ?? '';
      kind =
        name === '[heap]'
          ? 'heap'
          : name === '' || name.startsWith('[')
            ? 'anon'
            : name.startsWith('/memfd') || name.startsWith('/dev/zero') || name.includes('SYSV')
              ? 'shared'
              : 'file';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss !== null) sums[kind] += Number(rss[1]) * 1024;
  }
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  const field = (f: string) => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024;
  return `RSS ${mib(field('VmRSS'))} (shmem ${mib(field('RssShmem'))}, threads ${/Threads:\s+(\d+)/.exec(status)?.[1]}): [heap] ${mib(sums.heap)}, other anonymous ${mib(sums.anon)}, shared ${mib(sums.shared)}, files ${mib(sums.file)}`;
}

interface Figures {
  seconds: number;
  rss: { start: number; peak: number; end: number; anonStart: number; anonEnd: number };
  /** CPU seconds (user + system) each process used over the run, from /proc/PID/stat. */
  cpu: number[];
  /** Each process's own peak RSS over the run (VmHWM), in bytes. */
  peaks: number[];
}

/** User + system CPU seconds of a process so far (0 once it is gone). */
async function cpuSeconds(pid: number): Promise<number> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may hold spaces) in parentheses: utime is the 14th field.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

async function timedWithRss(pids: number[], work: () => Promise<unknown>): Promise<Figures> {
  for (const pid of pids) await resetPeak(pid);
  const cpu0 = await Promise.all(pids.map(cpuSeconds));
  const stop = new AbortController();
  const rss = rssOver(pids, stop.signal);
  const t0 = performance.now();
  try {
    await work();
  } finally {
    stop.abort();
  }
  const seconds = (performance.now() - t0) / 1000;
  // A process added after the start (Syncthing's own, below its monitor) counts from its birth.
  const cpu1 = await Promise.all(pids.map(cpuSeconds));
  // The kernel's own peaks, in case a spike fell between two samples.
  const peaks = await Promise.all(pids.map((pid) => peakRss(pid).catch(() => 0)));
  const figures = { seconds, rss: await rss, cpu: cpu1.map((c, k) => c - (cpu0[k] ?? 0)), peaks };
  figures.rss.peak = Math.max(
    figures.rss.peak,
    peaks.reduce((a, b) => a + b, 0),
  );
  return figures;
}

interface PerFile {
  /** Milliseconds of wall time per file as lone jobs, and in one batch. */
  lone: number;
  batch: number;
  /** The uploader's peak RSS over the lone jobs, and over the batch. */
  lonePeak: number;
  batchPeak: number;
}

/**
 * The cost of a file beside its bytes: `loneFiles` files (16 KiB by default: moving their bytes
 * costs next to nothing) as that many lone `upload` jobs submitted at once (each probing the
 * cluster, journaling, borrowing a ring), then as one batch.
 */
async function perFileCost(home: string, pid: number, dir: string): Promise<PerFile> {
  await mkdir(dir, { recursive: true });
  const next = rng(SEED + 1);
  const files: Array<{ path: string; name: string }> = [];
  for (let k = 0; k < loneFiles; k++) {
    const bytes = Buffer.alloc(loneSize);
    for (let o = 0; o < bytes.length; o += 4) bytes.writeUInt32LE(next(), o);
    const path = join(dir, `t${k}.bin`);
    await writeFile(path, bytes);
    files.push({ path, name: `tiny/t${k}.bin` });
  }
  say(`  arozdfs: per-file cost, ${loneFiles} files of ${kib(loneSize)} as lone jobs, then as one batch…`);
  await resetPeak(pid);
  let t0 = performance.now();
  await Promise.all(
    files.map((f) => runJob(home, 'upload', { file: f.path, index: `${f.path}.index.json`, force: true })),
  );
  const lone = (performance.now() - t0) / loneFiles;
  const lonePeak = await peakRss(pid);
  await resetPeak(pid);
  t0 = performance.now();
  await runJob(home, 'upload-batch', { files: files.map((f) => ({ ...f, name: `tiny2/${f.name}` })) });
  const batch = (performance.now() - t0) / loneFiles;
  return { lone, batch, lonePeak, batchPeak: await peakRss(pid) };
}

const DAEMONS = ['alpha', 'beta', 'gamma'];

async function arozdfs(library: string, root: string, level: () => Promise<void>) {
  const cluster = await LocalCluster.create(DAEMONS, {
    prefix: 'arozdfs-bench-small-',
    parent,
  });
  const profiles = join(root, 'profiles');
  try {
    const [alpha, beta, gamma] = cluster.nodes as [LocalNode, LocalNode, LocalNode];
    const execArgv = [
      ...(values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${profiles}`] : []),
      ...nodeFlags,
    ];
    await cluster.start(beta, { execArgv });
    await cluster.start(gamma, { execArgv });
    await cluster.start(alpha, { execArgv, peers: [beta, gamma] });
    const pids = cluster.nodes.map((n) => n.child?.pid ?? 0);
    const overhead = values['upload-only']
      ? undefined
      : await perFileCost(alpha.home, alpha.child?.pid ?? 0, join(root, 'tiny'));
    const names = await listFiles(library);
    const files = names.map((name) => ({ path: join(library, name), name: `photos/${name}` }));
    for (const [k, pid] of pids.entries()) say(`  ${cluster.nodes[k]?.name}: ${await memoryOf(pid)}`);
    say(`  arozdfs: upload of ${count} files from alpha (one batch, 2 copies)…`);
    await level();
    const up = await timedWithRss(pids, () => runJob(alpha.home, 'upload-batch', { files, copies: 2 }));
    for (const [k, pid] of pids.entries()) say(`  ${cluster.nodes[k]?.name}: ${await memoryOf(pid)}`);
    if (values['upload-only']) return { up, down: undefined, cluster, overhead };
    // Beta lists the whole folder once the catalog has reached it.
    const ids = new Map<string, string>();
    const deadline = Date.now() + 120_000;
    while (ids.size < count && Date.now() < deadline) {
      const { files: listed } = (await controlCall(beta.home, 'POST', '/v1/files/under', {
        path: 'photos',
      }).catch(() => ({ files: [] }))) as { files: Array<{ id: string; name: string }> };
      for (const f of listed) ids.set(f.name, f.id);
      if (ids.size < count) await new Promise((r) => setTimeout(r, 250));
    }
    const back = join(root, 'down');
    say(`  arozdfs: download of the folder on beta…`);
    const entries = files.map((f) => ({
      file: ids.get(f.name) ?? '',
      out: join(back, f.name.slice('photos/'.length)),
    }));
    await level();
    const down = await timedWithRss(pids, () =>
      runJob(beta.home, 'download-batch', { files: entries, force: false, allowUntrusted: false }),
    );
    if (!(await sameTree(library, back))) throw new Error('The downloaded tree differs from the library');
    await rm(back, { recursive: true, force: true });
    return { up, down, cluster, overhead };
  } finally {
    await cluster.destroy();
    if (values['cpu-prof'] && existsSync(profiles)) {
      for (const name of await readdir(profiles)) {
        out(formatSummary(name, await summarize(join(profiles, name))));
      }
    }
  }
}

async function syncthing(
  library: string,
  root: string,
  level: () => Promise<void>,
): Promise<Figures | undefined> {
  const why = values['no-syncthing']
    ? '--no-syncthing'
    : (await findSyncthing()) === undefined
      ? 'syncthing is not installed'
      : undefined;
  if (why !== undefined) {
    say(`  Syncthing: not run (${why})`);
    return undefined;
  }
  // A shares the library itself; B's folder is new.
  const pair = await SyncthingPair.create(root, {
    folder: library,
    folderId: 'photos',
    rescanS: 3600,
    compression: 'never',
  });
  try {
    say('  Syncthing: A (send-only) → B (receive-only), until B has every file…');
    const folderB = pair.folders[1];
    await level();
    pair.start();
    // The monitors are counted from the start, the processes below them from when they are found
    // (the clock runs).
    const pids: number[] = [...pair.monitors];
    const inner = pair.processes().then((groups) => pids.push(...groups.flatMap((g) => g.slice(1))));
    const figures = await timedWithRss(pids, async () => {
      const deadline = Date.now() + 30 * 60_000;
      while (Date.now() < deadline) {
        if (pair.failed !== undefined) throw new Error(pair.failed);
        const have = await listFiles(folderB).catch(() => []);
        if (have.length >= count) return await inner;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error('Syncthing did not sync every file within 30 minutes');
    });
    if (!(await sameTree(library, folderB))) throw new Error('Syncthing: B differs from A');
    return figures;
  } finally {
    await pair.stop();
  }
}

const mb = (bytes: number, seconds: number) => (bytes / 1e6 / seconds).toFixed(1);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
const row = (what: string, f: Figures, bytes: number, names?: string[]) => {
  const cpu = f.cpu.reduce((a, b) => a + b, 0);
  const peaks = names?.map((name, k) => `${name} ${mib(f.peaks[k] ?? 0)}`).join(', ');
  return [
    `${what.padEnd(32)} ${f.seconds.toFixed(1).padStart(7)} s ${(count / f.seconds).toFixed(1).padStart(8)} files/s ${mb(bytes, f.seconds).padStart(8)} MB/s   RSS ${mib(f.rss.start)} → peak ${mib(f.rss.peak)} → ${mib(f.rss.end)} (anonymous ${mib(f.rss.anonStart)} → ${mib(f.rss.anonEnd)})`,
    `${''.padEnd(32)} CPU ${cpu.toFixed(1)} s (${f.cpu.map((c) => c.toFixed(1)).join(' + ')}), ${((1000 * cpu) / count).toFixed(1)} ms a file`,
    ...(peaks !== undefined ? [`${''.padEnd(32)} peak RSS of each daemon: ${peaks}`] : []),
  ].join('\n');
};

const root = await mkdtemp(join(parent, 'arozdfs-bench-small-files-'));
try {
  const library = join(root, 'photos');
  say(
    `Writing ${count} files of ${values['min-mib']}–${values['max-mib']} MiB (seed ${SEED}) in ${library}…`,
  );
  const bytes = await makeLibrary(library);
  say(`  ${mib(bytes)} in all`);
  // Recycled pages before each contender, as bench:cluster does (levelPages, bench/cluster-baselines.ts).
  const scratch = await levelBytes(root, bytes + 256 * MiB);
  const level = () => levelPages(root, scratch);
  const { up, down, overhead } = await arozdfs(library, root, level);
  const st = await syncthing(library, root, level);
  out(
    `${count} files, ${mib(bytes)} (${values['min-mib']}–${values['max-mib']} MiB each, seed ${SEED}); RSS summed over the daemons`,
  );
  if (overhead !== undefined) {
    out(
      `per-file cost beside the bytes (${loneFiles} files of ${kib(loneSize)}): ${overhead.lone.toFixed(0)} ms as lone jobs (${4} at once), ${overhead.batch.toFixed(0)} ms in one batch`,
    );
    out(
      `  the uploader's peak: ${mib(overhead.lonePeak)} over the lone jobs, ${mib(overhead.batchPeak)} in the batch`,
    );
  }
  out(row('arozdfs upload (2 copies, 3 nodes)', up, bytes, DAEMONS));
  if (down !== undefined) out(row('arozdfs download (another node)', down, bytes, DAEMONS));
  if (st !== undefined) {
    out(row('Syncthing A → B', st, bytes));
    out(`ratio upload/Syncthing (files/s): ${(st.seconds / up.seconds).toFixed(2)}×`);
    if (down !== undefined)
      out(`ratio download/Syncthing (files/s): ${(st.seconds / down.seconds).toFixed(2)}×`);
  } else out('Syncthing: not run');
} finally {
  await rm(root, { recursive: true, force: true });
}
