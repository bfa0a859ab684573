/**
 * `npm run bench:slice [-- --size 1GiB] [--dir DIR] [--chunk-size 64MiB] [--rounds 5]
 * [--compare CHECKOUT]`: slice and merge against the pipelines they replace, measured in the same
 * run on the same disk (figures and ratios, never timed assertions).
 *
 * Makes a file of random bytes in a temp folder (not on tmpfs), then runs each command as a real
 * process in interleaved rounds (each round runs every command once, so a baseline and its rival see
 * the same load) and prints median wall times, peak RSS and ratios: `split -b 64M FILE && sync` and
 * `sha256sum FILE` against `arozdfs slice`; `cat CHUNKS > FILE && sync` against `arozdfs merge`.
 * Targets: slice and merge at most 1.2x their baseline, peak RSS under 150 MiB. Caches are not dropped
 * (that needs root and is not what users see): every command reads its input from the page cache (the
 * chunks are read once before cat, since slice writes them with O_DIRECT). Before each command a
 * scratch file of the file's size plus 256 MiB is written and deleted (`levelPages`), so whoever
 * writes through the page cache finds recycled pages, as on a machine without free page reporting
 * (docs/transfer.md, "A fair Syncthing"); `--no-level` leaves that out. `--compare` also runs
 * another checkout's slice and merge in every round (the figures before a change); the two take turns
 * going first, each after the same sync and levelling. Removes everything
 * it made.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, statfs } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFully } from '../src/chunk/copy.ts';
import type { IndexFile } from '../src/index-file/types.ts';
import { formatSize } from '../src/size.ts';
import { benchArgs, numberArg, sizeArg } from './args.ts';
import { levelBytes, levelPages } from './cluster-baselines.ts';

/** The launcher users run (it turns on the compile cache; docs/architecture.md, "Start-up"). */
const CLI = new URL('../bin/arozdfs.js', import.meta.url).pathname;
const TIME = '/usr/bin/time';
/** One SHA-256 pass over a file in Node: 2 MiB reads into one reused buffer, as slice and merge read. */
const SHA256_PASS = `
const { openSync, readSync } = require('node:fs');
const hash = require('node:crypto').createHash('sha256');
const fd = openSync(process.argv[1], 'r');
const buffer = Buffer.allocUnsafe(2 * 1024 * 1024);
for (let n; (n = readSync(fd, buffer)) > 0; ) hash.update(buffer.subarray(0, n));
console.log(hash.digest('hex'));`;
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const MiB = 1024 * 1024;

interface Measured {
  label: string;
  seconds: number;
  /** Peak resident set size in bytes, when /usr/bin/time could tell. */
  rss: number | undefined;
  /** User + system CPU seconds, when /usr/bin/time could tell. */
  cpu: number | undefined;
  stdout: string;
}

const { values } = benchArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'chunk-size': { type: 'string', default: '64MiB' },
    dir: { type: 'string' },
    rounds: { type: 'string', default: '5' },
    compare: { type: 'string' },
    'no-level': { type: 'boolean', default: false },
  },
});
const size = sizeArg(values.size, 'size');
const chunkSize = values['chunk-size'];
const chunkBytes = sizeArg(chunkSize, 'chunk-size');
const rounds = numberArg(values.rounds, 'rounds');

const LABELS = [
  'split+sync',
  'sha256sum',
  'dd direct',
  'node sha256',
  'arozdfs slice',
  'cat+sync',
  'arozdfs merge',
  'compare slice',
  'compare merge',
] as const;
/** Another checkout's launcher, run beside this one's in every round (`--compare DIR`). */
const compareCli = values.compare === undefined ? undefined : join(resolve(values.compare), 'bin/arozdfs.js');
type Label = (typeof LABELS)[number];

const parent = values.dir === undefined ? await diskTempDir() : resolve(values.dir);
const work = await mkdtemp(join(parent, 'arozdfs-bench-'));
const haveTime = existsSync(TIME);
try {
  const file = join(work, 'data.bin');
  process.stderr.write(`Making ${formatSize(size)} of random bytes in ${file} …\n`);
  await makeRandomFile(file, size);
  await run('sync', ['sync'], work);

  const results = new Map<Label, Measured[]>(LABELS.map((l) => [l, []]));
  const keep = (m: Measured) => results.get(m.label as Label)?.push(m);
  // Before every command: recycled pages for whoever writes through the page cache (split, cat),
  // as bench:cluster does (bench/cluster-baselines.ts, levelPages).
  const scratch = await levelBytes(work, size + 256 * MiB);
  const level = values['no-level'] ? async () => {} : () => levelPages(work, scratch);
  for (let round = 1; round <= rounds; round++) {
    process.stderr.write(`Round ${round}/${rounds}\n`);
    const splitDir = join(work, 'split');
    await mkdir(splitDir);
    await level();
    keep(
      await measure('split+sync', ['sh', '-c', `split -b ${chunkBytes} "$1" && sync`, 'sh', file], splitDir),
    );
    await rm(splitDir, { recursive: true });
    await run('sync', ['sync'], work);
    keep(await measure('sha256sum', ['sha256sum', file], work));
    // The two floors under slice and merge: the disk taking the file's bytes with O_DIRECT in 2 MiB
    // writes (how slice and merge write), and one SHA-256 pass in Node over the cached file.
    const ddOut = join(work, 'dd.bin');
    await level();
    keep(
      await measure(
        'dd direct',
        ['dd', `if=${file}`, `of=${ddOut}`, 'bs=2M', 'oflag=direct', 'conv=fdatasync', 'status=none'],
        work,
      ),
    );
    await rm(ddOut);
    await run('sync', ['sync'], work);
    keep(await measure('node sha256', [process.execPath, '-e', SHA256_PASS, file], work));

    const chunks = join(work, 'chunks');
    // As the merges below: this checkout's slice and the other's take turns going first. The other's
    // chunks are removed at once; this checkout's are the ones cat and both merges read.
    const slices: Array<['arozdfs slice' | 'compare slice', string, string]> = [
      ['arozdfs slice', CLI, chunks],
    ];
    if (compareCli !== undefined) slices.push(['compare slice', compareCli, join(work, 'chunks-compare')]);
    if (round % 2 === 0) slices.reverse();
    for (const [label, cli, out] of slices) {
      await run('sync', ['sync'], work);
      await level();
      keep(
        await measure(
          label,
          [process.execPath, cli, '--json', 'slice', file, '--chunk-size', chunkSize, '--out', out],
          work,
        ),
      );
      if (out !== chunks) await rm(out, { recursive: true });
    }
    const index = JSON.parse(await readFile(join(chunks, 'index.json'), 'utf8')) as IndexFile;
    const chunkPaths = index.chunks.map((c) => join(chunks, c.uuid));
    // slice wrote the chunks with O_DIRECT, so they are not in the page cache: read them once, so that
    // cat and merge (which runs second) both read them from memory.
    await run('warm-up', ['sh', '-c', 'cat "$@" > /dev/null', 'sh', ...chunkPaths], work);
    const catOut = join(work, 'cat.bin');
    await level();
    keep(
      await measure(
        'cat+sync',
        ['sh', '-c', 'out="$1"; shift; cat "$@" > "$out" && sync', 'sh', catOut, ...chunkPaths],
        work,
      ),
    );
    await rm(catOut);
    const merged = join(work, 'merged.bin');
    // This checkout's merge and the other's take turns going first, each after the same sync and
    // levelling, so neither gets the quieter disk by its place in the round.
    const merges: Array<['arozdfs merge' | 'compare merge', string]> = [['arozdfs merge', CLI]];
    if (compareCli !== undefined) merges.push(['compare merge', compareCli]);
    if (round % 2 === 0) merges.reverse();
    for (const [label, cli] of merges) {
      await run('sync', ['sync'], work);
      await level();
      const merge = await measure(
        label,
        [process.execPath, cli, '--json', 'merge', join(chunks, 'index.json'), '--out', merged],
        work,
      );
      keep(merge);
      const mergedSha = lastLine(merge.stdout)['sha256'];
      if (mergedSha !== index.file.sha256)
        throw new Error(`${label} gave SHA-256 ${String(mergedSha)}, expected ${index.file.sha256}`);
      await rm(merged);
    }
    await rm(chunks, { recursive: true });
    await run('sync', ['sync'], work);
  }

  report(results, parent);
} finally {
  await rm(work, { recursive: true, force: true });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function report(results: Map<Label, Measured[]>, where: string): void {
  const all = (label: Label) => results.get(label) ?? [];
  const seconds = (label: Label) => median(all(label).map((r) => r.seconds));
  const rssOf = (label: Label) => {
    const known = all(label).flatMap((r) => (r.rss === undefined ? [] : [r.rss]));
    return known.length === 0 ? undefined : Math.max(...known);
  };
  /** The median of the per-round ratios: each round's pair ran back to back, under the same load. */
  const roundRatio = (a: Label, b: Label) =>
    median(all(a).map((r, i) => r.seconds / (all(b)[i]?.seconds ?? Number.NaN)));
  const rows = [
    ['split+sync', `split -b ${chunkBytes} FILE && sync`],
    ['sha256sum', 'sha256sum FILE'],
    ['dd direct', 'dd FILE bs=2M oflag=direct,fdatasync'],
    ['node sha256', 'node: one SHA-256 pass over FILE'],
    ['arozdfs slice', `arozdfs slice FILE --chunk-size ${chunkSize}`],
    ['cat+sync', 'cat CHUNKS > OUT && sync'],
    ['arozdfs merge', 'arozdfs merge INDEX --out OUT'],
    ...(compareCli === undefined
      ? []
      : ([
          ['compare slice', `${values.compare}: slice`],
          ['compare merge', `${values.compare}: merge`],
        ] as const)),
  ] as const;
  const lines = [
    '',
    `bench:slice: ${formatSize(size)} file, ${Math.ceil(size / chunkBytes)} chunks, in ${where}; ` +
      `${availableParallelism()} CPUs; medians of ${rounds} interleaved rounds.`,
    '',
    `${'command'.padEnd(46)}${'median'.padStart(9)}${'MB/s'.padStart(8)}${'CPU s'.padStart(8)}${'max RSS'.padStart(12)}   each round (s)`,
  ];
  for (const [label, shown] of rows) {
    const s = seconds(label);
    const rss = rssOf(label);
    const cpu = cpuOf(label)?.toFixed(2) ?? 'n/a';
    lines.push(
      `${shown.padEnd(46)}${`${s.toFixed(2)} s`.padStart(9)}` +
        `${Math.round(size / 1e6 / s)
          .toString()
          .padStart(
            8,
          )}${cpu.padStart(8)}${(rss === undefined ? 'n/a' : `${(rss / MiB).toFixed(1)} MiB`).padStart(12)}   ` +
        all(label)
          .map((r) => r.seconds.toFixed(2))
          .join(' '),
    );
  }
  const sliceRatio = seconds('arozdfs slice') / seconds('split+sync');
  function cpuOf(label: Label): number | undefined {
    const cpus = all(label).flatMap((r) => (r.cpu === undefined ? [] : [r.cpu]));
    return cpus.length === 0 ? undefined : median(cpus);
  }
  const mergeRatio = seconds('arozdfs merge') / seconds('cat+sync');
  const peak = Math.max(rssOf('arozdfs slice') ?? 0, rssOf('arozdfs merge') ?? 0);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  lines.push(
    '',
    `slice / (split+sync): ${sliceRatio.toFixed(2)}x of the medians, ${roundRatio('arozdfs slice', 'split+sync').toFixed(2)}x median per round  (target <= 1.2x: ${verdict(sliceRatio <= 1.2)})`,
    'On a busy machine a ratio of wall times drifts towards the ratio of CPU seconds (each process gets',
    'its share of the cores); slice hashes every byte twice (chunk and whole file), merge once, split and cat',
    'only copy.',
    `slice / sha256sum:    ${(seconds('arozdfs slice') / seconds('sha256sum')).toFixed(2)}x  (slice hashes every byte twice)`,
    `merge / (cat+sync):   ${mergeRatio.toFixed(2)}x of the medians, ${roundRatio('arozdfs merge', 'cat+sync').toFixed(2)}x median per round  (target <= 1.2x: ${verdict(mergeRatio <= 1.2)})`,
    ...floors(seconds, cpuOf),
    ...(compareCli === undefined
      ? []
      : [
          `compare slice / (split+sync): ${(seconds('compare slice') / seconds('split+sync')).toFixed(2)}x, merge / (cat+sync): ${(seconds('compare merge') / seconds('cat+sync')).toFixed(2)}x`,
        ]),
    haveTime
      ? `peak RSS of arozdfs:  ${(peak / MiB).toFixed(1)} MiB  (target < 150 MiB: ${verdict(peak < 150 * MiB)})`
      : `peak RSS: n/a (${TIME} is missing; apt-get install time)`,
    '',
  );
  process.stdout.write(lines.join('\n'));
}

/**
 * About what no slice or merge can beat on this machine, against the baselines. Merge writes every
 * byte with O_DIRECT and hashes it once (on the second core): about the longer of the two. Slice
 * writes the same way and hashes every byte twice (chunk and whole file, which the index format
 * needs), so it also needs twice a pass's CPU time shared by the cores. Approximate: the pass measured
 * includes its own process start and reads (a little above the hash alone), and the floors leave out
 * slice's and merge's own start, reads and the chunk files' commits.
 */
function floors(seconds: (label: Label) => number, cpuOf: (label: Label) => number | undefined): string[] {
  const direct = seconds('dd direct');
  const pass = seconds('node sha256');
  const passCpu = cpuOf('node sha256') ?? pass;
  const sliceFloor = Math.max(direct, (2 * passCpu) / availableParallelism());
  const mergeFloor = Math.max(direct, pass);
  return [
    `floors on this machine (approximate): O_DIRECT write ${direct.toFixed(2)} s, one SHA-256 pass ${pass.toFixed(2)} s (${passCpu.toFixed(2)} CPU s)`,
    `  slice >= ${sliceFloor.toFixed(2)} s = ${(sliceFloor / seconds('split+sync')).toFixed(2)}x split+sync; merge >= ${mergeFloor.toFixed(2)} s = ${(mergeFloor / seconds('cat+sync')).toFixed(2)}x cat+sync`,
  ];
}

/** Runs a command once, timing it from spawn to exit; peak RSS from GNU time when present. */
async function measure(label: string, argv: string[], cwd: string): Promise<Measured> {
  process.stderr.write(`Running ${label} …\n`);
  const full = haveTime ? [TIME, '-f', '%M %U %S', '--', ...argv] : argv;
  const started = performance.now();
  const { stdout, stderr } = await run(label, full, cwd);
  const seconds = (performance.now() - started) / 1000;
  const [kib, user, sys] = (haveTime ? (stderr.trim().split('\n').at(-1) ?? '') : '').split(' ').map(Number);
  const known = (n: number | undefined): n is number => n !== undefined && Number.isFinite(n);
  return {
    label,
    seconds,
    rss: known(kib) ? kib * 1024 : undefined,
    cpu: known(user) && known(sys) ? user + sys : undefined,
    stdout,
  };
}

function run(label: string, argv: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise({ stdout, stderr });
      else reject(new Error(`${label} failed with exit code ${code}: ${stderr.trim()} ${stdout.trim()}`));
    });
  });
}

/** The system temp folder, unless it lives in memory (then the current folder): the disk is measured. */
async function diskTempDir(): Promise<string> {
  const candidate = tmpdir();
  const { type } = await statfs(candidate);
  return type === TMPFS_MAGIC || type === RAMFS_MAGIC ? process.cwd() : candidate;
}

async function makeRandomFile(path: string, bytes: number): Promise<void> {
  const buffer = Buffer.allocUnsafe(MiB);
  await using fh = await open(path, 'wx');
  for (let done = 0; done < bytes; ) {
    const piece = buffer.subarray(0, Math.min(MiB, bytes - done));
    randomFillSync(piece);
    await writeFully(fh, piece, done, `"${path}"`);
    done += piece.length;
  }
}

function lastLine(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
}
