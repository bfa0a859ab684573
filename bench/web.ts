import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { initHome } from '../src/home/init.ts';
import { pairHomes } from '../src/home/pair.ts';
import type { JobRecord } from '../src/jobs/types.ts';
import { Daemon } from '../src/node/daemon.ts';
import { formatSize } from '../src/size.ts';
import { WebClient } from '../test/helpers/web.ts';
import { benchArgs, numberArg, sizeArg } from './args.ts';
import { writeRandomFile } from './random-file.ts';

const MiB = 1024 * 1024;
const TMPFS_MAGIC = 0x01021994;
const POLL_MS = 100;
const { values } = benchArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    rounds: { type: 'string', default: '3' },
    dir: { type: 'string' },
  },
});
const size = sizeArg(values.size, 'size');
const rounds = numberArg(values.rounds, 'rounds');
const parent = values.dir === undefined ? tmpdir() : resolve(values.dir);
const say = (text: string) => process.stderr.write(`${text}\n`);
const out = (text: string) => process.stdout.write(`${text}\n`);
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const mbps = (seconds: number) => size / 1e6 / seconds;
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** This process's peak RSS over the whole run, in bytes (the phases reset the kernel's figure). */
let runPeak = 0;
const maxRss = () => process.resourceUsage().maxRSS * 1024;

/**
 * Seconds `work` takes, and this process's RSS when it started and its peak RSS during it (bytes).
 * The peak starts from the RSS at the start, which holds what earlier phases left resident.
 */
async function phase(work: () => Promise<void>): Promise<{ seconds: number; rss: number; rss0: number }> {
  runPeak = Math.max(runPeak, maxRss());
  await writeFile('/proc/self/clear_refs', '5'); // VmHWM (and so maxRSS) starts again from RSS now
  const rss0 = process.memoryUsage.rss();
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const rss = maxRss();
  runPeak = Math.max(runPeak, rss);
  return { seconds, rss, rss0 };
}

/**
 * The baseline of staging: a stream pipeline copy of the file, then datasync. (The data is synced
 * through a second descriptor: a FileHandle's write stream with autoClose: false keeps a reference
 * that makes FileHandle.close() wait forever; fdatasync flushes the file, whichever descriptor.)
 */
async function copyFile(from: string, to: string): Promise<void> {
  await pipeline(
    createReadStream(from, { highWaterMark: MiB }),
    createWriteStream(to, { flags: 'wx', mode: 0o600, highWaterMark: MiB }),
  );
  const fh = await open(to, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

/** Polls GET /api/jobs until job `id` has finished; throws unless it is done. */
async function pollJob(client: WebClient, id: string): Promise<void> {
  for (;;) {
    const answer = await client.get('/api/jobs');
    if (answer.status !== 200) throw new Error(`GET /api/jobs answered ${answer.status}`);
    const job = (answer.json.jobs as JobRecord[]).find((j) => j.id === id);
    if (job === undefined) throw new Error(`job ${id} is not listed`);
    if (job.state === 'done') return;
    if (job.state !== 'queued' && job.state !== 'running')
      throw new Error(`upload job ${job.state}: ${job.error?.message}`);
    await sleep(POLL_MS);
  }
}

/** Waits (up to 10 s) until the staging folder is empty: the daemon removes it when the job ends. */
async function stagingLeft(dir: string): Promise<string[]> {
  let left: string[] = [];
  for (let k = 0; k < 100; k++) {
    left = await readdir(dir).catch(() => []);
    if (left.length === 0) break;
    await sleep(POLL_MS);
  }
  return left;
}

interface Round {
  copy: number;
  stage: number;
  e2e: number;
  job: number;
  rss: { copy: number; put: number; job: number };
  rss0: { copy: number; put: number; job: number };
}

const work = await mkdtemp(join(parent, 'arozdfs-bench-web-'));
const daemons: Daemon[] = [];
let cleaning: Promise<void> | undefined;
const cleanup = () => {
  cleaning ??= (async () => {
    for (const d of daemons.reverse()) await d.close(1_000).catch(() => {});
    await rm(work, { recursive: true, force: true });
  })();
  return cleaning;
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    say(`${signal}: stopping the daemons and removing the temporary folder…`);
    process.once(signal, () => process.exit(130)); // a second one does not wait
    cleanup().finally(() => process.exit(130));
  });
}

try {
  if ((await statfs(work)).type === TMPFS_MAGIC) say(`warning: ${work} is on a tmpfs`);
  const homes = [join(work, 'alpha'), join(work, 'beta')];
  for (const home of homes) await initHome(home, { name: home.endsWith('alpha') ? 'alpha' : 'beta' });
  await pairHomes(homes);
  const alpha = await Daemon.start({
    home: homes[0]!,
    listen: '127.0.0.2:0',
    discovery: false,
    web: { address: '127.0.0.2:0' },
  });
  daemons.push(alpha);
  const beta = await Daemon.start({ home: homes[1]!, listen: '127.0.0.3:0', discovery: false });
  daemons.push(beta);
  alpha.addPeerAddress(beta.nodeUuid, { host: '127.0.0.3', port: beta.server.address().port });
  beta.addPeerAddress(alpha.nodeUuid, { host: '127.0.0.2', port: alpha.server.address().port });
  const client = WebClient.of(alpha);
  await client.setup(alpha);

  const file = join(work, 'data.bin');
  say(`writing ${formatSize(size)} of random bytes to ${file}…`);
  await writeRandomFile(file, size);
  out(
    `bench:web — ${formatSize(size)}, ${rounds} round(s), in ${work}\n` +
      `  one process (pid ${process.pid}) holds the HTTP client that plays the browser, daemon alpha ` +
      `(web UI ${alpha.web?.url()}, cluster 127.0.0.2, the uploader) and daemon beta (cluster 127.0.0.3, ` +
      `the receiving node): one event loop for all three; 2 copies (alpha's own store + beta over ` +
      `mTLS), shift 1, default chunk size; peak RSS is of that one process`,
  );
  const staging = alpha.home.paths.uploads;
  const results: Round[] = [];
  for (let r = 1; r <= rounds; r++) {
    say(`round ${r}: baseline copy…`);
    const copy = await phase(() => copyFile(file, join(work, 'copy.bin')));
    await rm(join(work, 'copy.bin'));

    say(`round ${r}: PUT /api/upload…`);
    let stage = 0;
    const put = await phase(async () => {
      const started = performance.now();
      const answer = await client.request('PUT', `/api/upload?name=data-${r}.bin&copies=2&shift=1`, {
        raw: createReadStream(file, { highWaterMark: MiB }),
        headers: { 'content-length': String(size) },
      });
      stage = (performance.now() - started) / 1000;
      if (answer.status !== 202) throw new Error(`PUT answered ${answer.status}: ${answer.body.toString()}`);
      await pollJob(client, (answer.json.job as JobRecord).id);
    });
    const left = await stagingLeft(staging);
    if (left.length > 0) say(`  note: the staging folder still holds ${left.join(', ')}`);

    say(`round ${r}: upload job for the file on disk…`);
    const job = await phase(async () => {
      const record = await alpha.jobs.submit('upload', { file, copies: 2, shift: 1 });
      const end = await alpha.jobs.wait(record.id);
      if (end.state !== 'done') throw new Error(`upload job ${end.state}: ${end.error?.message}`);
    });
    const row = {
      copy: copy.seconds,
      stage,
      e2e: put.seconds,
      job: job.seconds,
      rss: { copy: copy.rss, put: put.rss, job: job.rss },
      rss0: { copy: copy.rss0, put: put.rss0, job: job.rss0 },
    };
    results.push(row);
    out(
      `round ${r}: staging ${mbps(row.stage).toFixed(0)} MB/s vs copy ${mbps(row.copy).toFixed(0)} MB/s ` +
        `(${(row.copy / row.stage).toFixed(2)}); end to end ${mbps(row.e2e).toFixed(0)} MB/s vs job on ` +
        `the file ${mbps(row.job).toFixed(0)} MB/s (${(row.job / row.e2e).toFixed(2)}); job after ` +
        `staging ${(row.e2e - row.stage).toFixed(2)} s vs ${row.job.toFixed(2)} s; peak RSS [at start] ` +
        `copy ${mib(row.rss.copy)} [${mib(row.rss0.copy)}], PUT→done ${mib(row.rss.put)} ` +
        `[${mib(row.rss0.put)}], job ${mib(row.rss.job)} [${mib(row.rss0.job)}]`,
    );
  }
  const m = (f: (x: Round) => number) => median(results.map(f));
  out(`median of ${rounds} round(s) (ratios: median of the per-round ratios):`);
  out(
    `  staging      ${mbps(m((x) => x.stage))
      .toFixed(0)
      .padStart(5)} MB/s   baseline copy + datasync ` +
      `${mbps(m((x) => x.copy))
        .toFixed(0)
        .padStart(5)} MB/s   ratio ${m((x) => x.copy / x.stage).toFixed(2)}`,
  );
  out(
    `  end to end   ${mbps(m((x) => x.e2e))
      .toFixed(0)
      .padStart(5)} MB/s   upload job on the file   ` +
      `${mbps(m((x) => x.job))
        .toFixed(0)
        .padStart(5)} MB/s   ratio ${m((x) => x.job / x.e2e).toFixed(2)}`,
  );
  out(
    `  peak RSS (whole process: client + alpha + beta): copy ${mib(m((x) => x.rss.copy))}, ` +
      `PUT→done ${mib(m((x) => x.rss.put))}, job ${mib(m((x) => x.rss.job))}; over the whole run ` +
      `${mib(Math.max(runPeak, maxRss()))}`,
  );
} finally {
  await cleanup();
}
