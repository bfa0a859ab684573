/**
 * `npm run bench:slice [-- --size 1GiB] [--dir DIR] [--chunk-size 64MiB]`: slice and merge against
 * the pipelines they replace, measured in the same run on the same disk (DESIGN.md §11: figures and
 * ratios, never timed assertions).
 *
 * Makes a file of random bytes in a temp folder (not on tmpfs), then runs each command once as a real
 * process and prints wall time and peak RSS: `split -b 64M FILE && sync` and `sha256sum FILE` against
 * `arozdfs slice`; `cat CHUNKS > FILE && sync` against `arozdfs merge`. Targets: slice and merge at
 * most 1.2x their baseline, peak RSS under 150 MiB. Caches are not dropped (that needs root and is not
 * what users see): every command reads its input from the page cache (the chunks are read once before
 * cat, since slice writes them with O_DIRECT). Removes everything it made.
 */
import { spawn } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, statfs } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { writeFully } from '../src/chunk/copy.ts';
import type { IndexFile } from '../src/index-file/types.ts';
import { formatSize, parseSize } from '../src/size.ts';

const CLI = new URL('../src/cli.ts', import.meta.url).pathname;
const TIME = '/usr/bin/time';
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;
const MiB = 1024 * 1024;

interface Measured {
  label: string;
  seconds: number;
  /** Peak resident set size in bytes, when /usr/bin/time could tell. */
  rss: number | undefined;
  stdout: string;
}

const { values } = parseArgs({
  options: {
    size: { type: 'string', default: '1GiB' },
    'chunk-size': { type: 'string', default: '64MiB' },
    dir: { type: 'string' },
  },
});
const size = parseSize(values.size, 'file size');
const chunkSize = values['chunk-size'];
const chunkBytes = parseSize(chunkSize, 'chunk size');

const parent = values.dir === undefined ? await diskTempDir() : resolve(values.dir);
const work = await mkdtemp(join(parent, 'arozdfs-bench-'));
const haveTime = existsSync(TIME);
try {
  const file = join(work, 'data.bin');
  process.stderr.write(`Making ${formatSize(size)} of random bytes in ${file} …\n`);
  await makeRandomFile(file, size);
  await run('sync', ['sync'], work);

  const results: Measured[] = [];
  const splitDir = join(work, 'split');
  await mkdir(splitDir);
  results.push(
    await measure('split+sync', ['sh', '-c', `split -b ${chunkBytes} "$1" && sync`, 'sh', file], splitDir),
  );
  await rm(splitDir, { recursive: true });
  await run('sync', ['sync'], work);
  results.push(await measure('sha256sum', ['sha256sum', file], work));

  const chunks = join(work, 'chunks');
  const slice = await measure(
    'arozdfs slice',
    [process.execPath, CLI, '--json', 'slice', file, '--chunk-size', chunkSize, '--out', chunks],
    work,
  );
  results.push(slice);
  const index = JSON.parse(await readFile(join(chunks, 'index.json'), 'utf8')) as IndexFile;
  const chunkPaths = index.chunks.map((c) => join(chunks, c.uuid));
  // slice wrote the chunks with O_DIRECT, so they are not in the page cache: read them once, so that
  // cat and merge (which runs second) both read them from memory.
  await run('warm-up', ['sh', '-c', 'cat "$@" > /dev/null', 'sh', ...chunkPaths], work);
  const catOut = join(work, 'cat.bin');
  results.push(
    await measure(
      'cat+sync',
      ['sh', '-c', 'out="$1"; shift; cat "$@" > "$out" && sync', 'sh', catOut, ...chunkPaths],
      work,
    ),
  );
  await rm(catOut);
  await run('sync', ['sync'], work);
  const merged = join(work, 'merged.bin');
  const merge = await measure(
    'arozdfs merge',
    [process.execPath, CLI, '--json', 'merge', join(chunks, 'index.json'), '--out', merged],
    work,
  );
  results.push(merge);
  const mergedSha = lastLine(merge.stdout)['sha256'];
  if (mergedSha !== index.file.sha256)
    throw new Error(`merge gave SHA-256 ${String(mergedSha)}, expected ${index.file.sha256}`);

  report(results, parent);
} finally {
  await rm(work, { recursive: true, force: true });
}

function report(results: Measured[], where: string): void {
  const by = (label: string) => results.find((r) => r.label === label)!;
  const ratio = (a: string, b: string) => by(a).seconds / by(b).seconds;
  const rows = [
    ['split+sync', `split -b ${chunkBytes} FILE && sync`],
    ['sha256sum', 'sha256sum FILE'],
    ['arozdfs slice', `arozdfs slice FILE --chunk-size ${chunkSize}`],
    ['cat+sync', 'cat CHUNKS > OUT && sync'],
    ['arozdfs merge', 'arozdfs merge INDEX --out OUT'],
  ] as const;
  const lines = [
    '',
    `bench:slice: ${formatSize(size)} file, ${Math.ceil(size / chunkBytes)} chunks, in ${where}; ` +
      `${availableParallelism()} CPUs; one run each; a shared, noisy machine: expect ±30–50 %.`,
    '',
    `${'command'.padEnd(46)}${'time'.padStart(9)}${'MB/s'.padStart(8)}${'peak RSS'.padStart(12)}`,
  ];
  for (const [label, shown] of rows) {
    const r = by(label);
    const rss = r.rss === undefined ? 'n/a' : `${(r.rss / MiB).toFixed(1)} MiB`;
    lines.push(
      `${shown.padEnd(46)}${`${r.seconds.toFixed(2)} s`.padStart(9)}` +
        `${Math.round(size / 1e6 / r.seconds)
          .toString()
          .padStart(8)}${rss.padStart(12)}`,
    );
  }
  const sliceRatio = ratio('arozdfs slice', 'split+sync');
  const mergeRatio = ratio('arozdfs merge', 'cat+sync');
  const peak = Math.max(by('arozdfs slice').rss ?? 0, by('arozdfs merge').rss ?? 0);
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  lines.push(
    '',
    `slice / (split+sync): ${sliceRatio.toFixed(2)}x  (target <= 1.2x: ${verdict(sliceRatio <= 1.2)})`,
    `slice / sha256sum:    ${ratio('arozdfs slice', 'sha256sum').toFixed(2)}x  (slice hashes every byte twice)`,
    `merge / (cat+sync):   ${mergeRatio.toFixed(2)}x  (target <= 1.2x: ${verdict(mergeRatio <= 1.2)})`,
    haveTime
      ? `peak RSS of arozdfs:  ${(peak / MiB).toFixed(1)} MiB  (target < 150 MiB: ${verdict(peak < 150 * MiB)})`
      : `peak RSS: n/a (${TIME} is missing; apt-get install time)`,
    '',
  );
  process.stdout.write(lines.join('\n'));
}

/** Runs a command once, timing it from spawn to exit; peak RSS from GNU time when present. */
async function measure(label: string, argv: string[], cwd: string): Promise<Measured> {
  process.stderr.write(`Running ${label} …\n`);
  const full = haveTime ? [TIME, '-f', '%M', '--', ...argv] : argv;
  const started = performance.now();
  const { stdout, stderr } = await run(label, full, cwd);
  const seconds = (performance.now() - started) / 1000;
  const kib = haveTime ? Number(stderr.trim().split('\n').at(-1)) : Number.NaN;
  return { label, seconds, rss: Number.isFinite(kib) ? kib * 1024 : undefined, stdout };
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
