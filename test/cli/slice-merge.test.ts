import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isUuid } from '../../src/uuid.ts';
import { KiB, listTree, MiB, randomFile, sha256 } from '../chunk/fixtures.ts';
import { CLI, type CliRun, runCli, runProcess } from '../helpers/cli.ts';
import { tmpDir } from '../helpers/context.ts';

function errorCode(run: { stdout: string; lines(): Array<Record<string, unknown>> }): unknown {
  return run.lines().at(-1)?.['code'];
}

test('slice then merge on the command line gives a byte-identical file', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const data = await randomFile(join(dir, 'big.bin'), MiB + 3);
  const slice = await runCli(['slice', 'big.bin', '--chunk-size', '64KiB'], { cwd: dir });
  t.assert.strictEqual(slice.code, 0, slice.stderr);
  t.assert.match(slice.stdout, /17 chunks of 64 KiB/);
  const merge = await runCli(['merge', 'big.bin.chunks/index.json', '--out', 'copy.bin'], { cwd: dir });
  t.assert.strictEqual(merge.code, 0, merge.stderr);
  t.assert.ok((await readFile(join(dir, 'copy.bin'))).equals(data));
  const open = await runCli(['open', 'big.bin.chunks/index.json', '--out', 'copy2.bin'], { cwd: dir });
  t.assert.strictEqual(open.code, 0, 'open is an alias of merge');
  t.assert.ok((await readFile(join(dir, 'copy2.bin'))).equals(data));
});

test('the bin launcher (what "npx arozdfs" runs) slices and merges too', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const data = await randomFile(join(dir, 'big.bin'), 100 * KiB);
  const bin = fileURLToPath(new URL('../../bin/arozdfs.js', import.meta.url));
  const run = (args: string[]) => promisify(execFile)(process.execPath, [bin, ...args], { cwd: dir });
  const sliced = await run(['--json', 'slice', 'big.bin', '--chunk-size', '64KiB']);
  t.assert.strictEqual(JSON.parse(sliced.stdout.trim().split('\n').at(-1)!).chunks, 2);
  await run(['merge', 'big.bin.chunks/index.json', '--out', 'copy.bin']);
  t.assert.ok((await readFile(join(dir, 'copy.bin'))).equals(data));
});

test('slice --json prints progress lines and one result line', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const data = await randomFile(join(dir, 'a.bin'), 300 * KiB);
  const run = await runCli([
    '--json',
    'slice',
    join(dir, 'a.bin'),
    '--chunk-size',
    '100KiB',
    '--out',
    join(dir, 'o'),
  ]);
  t.assert.strictEqual(run.code, 0, run.stderr);
  const lines = run.lines();
  const result = lines.at(-1)!;
  const progress = lines.slice(0, -1);
  t.assert.ok(progress.length >= 1);
  for (const line of progress) {
    t.assert.strictEqual(line['type'], 'progress');
    t.assert.strictEqual(line['phase'], 'slice');
    t.assert.strictEqual(line['total'], data.length);
    t.assert.strictEqual(line['chunks'], 3);
  }
  t.assert.strictEqual(progress.at(-1)?.['done'], data.length);
  t.assert.deepStrictEqual(Object.keys(result).sort(), [
    'chunkSize',
    'chunks',
    'command',
    'dir',
    'id',
    'index',
    'name',
    'seconds',
    'sha256',
    'size',
    'type',
  ]);
  t.assert.strictEqual(result['type'], 'result');
  t.assert.strictEqual(result['command'], 'slice');
  t.assert.strictEqual(result['index'], join(dir, 'o', 'index.json'));
  t.assert.strictEqual(result['dir'], join(dir, 'o'));
  t.assert.ok(isUuid(result['id']));
  t.assert.strictEqual(result['name'], 'a.bin');
  t.assert.strictEqual(result['size'], data.length);
  t.assert.strictEqual(result['sha256'], sha256(data));
  t.assert.strictEqual(result['chunkSize'], 100 * KiB);
  t.assert.strictEqual(result['chunks'], 3);
  t.assert.strictEqual(typeof result['seconds'], 'number');

  const merge = await runCli(['--json', 'merge', join(dir, 'o', 'index.json'), '--out', join(dir, 'c.bin')]);
  t.assert.strictEqual(merge.code, 0, merge.stderr);
  const merged = merge.lines().at(-1)!;
  t.assert.strictEqual(merged['type'], 'result');
  t.assert.strictEqual(merged['command'], 'merge');
  t.assert.strictEqual(merged['out'], join(dir, 'c.bin'));
  t.assert.strictEqual(merged['chunksDir'], join(dir, 'o'));
  t.assert.strictEqual(merged['sha256'], sha256(data));
  t.assert.strictEqual(merged['size'], data.length);
  t.assert.strictEqual(merged['chunks'], 3);
  t.assert.ok(
    merge
      .lines()
      .slice(0, -1)
      .every((l) => l['type'] === 'progress' && l['phase'] === 'merge'),
  );
});

test('slice of an empty file succeeds with zero chunks', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await writeFile(join(dir, 'empty'), '');
  const run = await runCli(['--json', 'slice', join(dir, 'empty')]);
  t.assert.strictEqual(run.code, 0, run.stdout);
  t.assert.strictEqual(run.lines().at(-1)?.['chunks'], 0);
  const merge = await runCli([
    '--json',
    'merge',
    join(dir, 'empty.chunks', 'index.json'),
    '--out',
    join(dir, 'e2'),
  ]);
  t.assert.strictEqual(merge.code, 0, merge.stdout);
  t.assert.strictEqual((await stat(join(dir, 'e2'))).size, 0);
});

for (const size of [
  '0',
  '-1',
  '-64M',
  'abc',
  '1.5M',
  '4095',
  '1K',
  '4GiB',
  '4294967296',
  '64 MiB',
  '',
  '64MB2',
  '5G',
]) {
  test(`slice --chunk-size ${JSON.stringify(size)} is ERR_INVALID_SIZE (a usage error: exit 2) and writes nothing`, async (t: TestContext) => {
    const dir = await tmpDir(t);
    await randomFile(join(dir, 'a.bin'), 10 * KiB);
    const run = await runCli(['--json', 'slice', 'a.bin', `--chunk-size=${size}`], { cwd: dir });
    t.assert.strictEqual(run.code, 2);
    t.assert.strictEqual(errorCode(run), 'ERR_INVALID_SIZE');
    t.assert.deepStrictEqual(await listTree(dir), ['a.bin']);
  });
}

test('slice of a missing file or a folder names the problem by its code', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const missing = await runCli(['--json', 'slice', join(dir, 'nope')]);
  t.assert.strictEqual(missing.code, 1);
  t.assert.strictEqual(errorCode(missing), 'ERR_FILE_NOT_FOUND');
  await mkdir(join(dir, 'folder'));
  const folder = await runCli(['--json', 'slice', join(dir, 'folder')]);
  t.assert.strictEqual(errorCode(folder), 'ERR_NOT_A_FILE');
  t.assert.deepStrictEqual(await listTree(dir), ['folder/']);
});

/**
 * Root reads any file, so "unreadable" needs a process without the capabilities that bypass file
 * permissions: as root, the CLI runs under `setpriv` without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
 * (still root, so it reaches a checkout in a folder other users cannot enter, e.g. /root or a 0700
 * temporary folder — running it as another user would not).
 */
const asRoot = process.getuid?.() === 0;
const noSetpriv =
  asRoot && spawnSync('setpriv', ['--version']).status !== 0
    ? 'as root, needs setpriv (util-linux) to drop the capabilities that bypass file permissions'
    : false;

test('slice of an unreadable file is ERR_PERMISSION_DENIED (as root: without CAP_DAC_OVERRIDE)', {
  skip: noSetpriv,
}, async (t: TestContext) => {
  const dir = await tmpDir(t);
  const file = join(dir, 'secret.bin');
  await randomFile(file, 10 * KiB);
  await chmod(file, 0o000);
  const args = ['--json', 'slice', file];
  const run = asRoot ? await runWithoutDacOverride(args) : await runCli(args);
  t.assert.strictEqual(run.code, 1, run.stderr);
  t.assert.strictEqual(JSON.parse(run.stdout.trim().split('\n').at(-1)!).code, 'ERR_PERMISSION_DENIED');
  t.assert.deepStrictEqual(await listTree(dir), ['secret.bin']);
});

test('slice refuses an output folder that already holds an index (ERR_OUTPUT_EXISTS)', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await randomFile(join(dir, 'a.bin'), 10 * KiB);
  t.assert.strictEqual((await runCli(['slice', 'a.bin'], { cwd: dir })).code, 0);
  const before = await listTree(dir);
  const again = await runCli(['--json', 'slice', 'a.bin'], { cwd: dir });
  t.assert.strictEqual(errorCode(again), 'ERR_OUTPUT_EXISTS');
  t.assert.deepStrictEqual(await listTree(dir), before);
});

test('merge writes to the name from the index in the current folder, never over an existing file', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const data = await randomFile(join(dir, 'a.bin'), 10 * KiB);
  t.assert.strictEqual((await runCli(['slice', 'a.bin', '--chunk-size', '4KiB'], { cwd: dir })).code, 0);
  const index = join(dir, 'a.bin.chunks', 'index.json');
  const here = await runCli(['--json', 'merge', index], { cwd: dir });
  t.assert.strictEqual(errorCode(here), 'ERR_OUTPUT_EXISTS', 'a.bin is already in this folder');
  const elsewhere = join(dir, 'restore');
  await mkdir(elsewhere);
  const run = await runCli(['--json', 'merge', index], { cwd: elsewhere });
  t.assert.strictEqual(run.code, 0, run.stdout);
  t.assert.ok((await readFile(join(elsewhere, 'a.bin'))).equals(data));
  await writeFile(join(dir, 'a.bin'), 'changed');
  const forced = await runCli(['--json', 'merge', index, '--force'], { cwd: dir });
  t.assert.strictEqual(forced.code, 0, forced.stdout);
  t.assert.ok((await readFile(join(dir, 'a.bin'))).equals(data));
});

test('merge of a corrupted chunk is one JSON error line with ERR_CHUNK_HASH, exit 1', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await randomFile(join(dir, 'a.bin'), 20 * KiB);
  const sliced = await runCli(['--json', 'slice', 'a.bin', '--chunk-size', '4KiB'], { cwd: dir });
  const index = JSON.parse(await readFile(join(dir, 'a.bin.chunks', 'index.json'), 'utf8'));
  t.assert.strictEqual(sliced.code, 0);
  const victim = join(dir, 'a.bin.chunks', index.chunks[2].uuid);
  const bytes = await readFile(victim);
  bytes[0] = bytes[0]! ^ 1;
  await writeFile(victim, bytes);
  const run = await runCli(['--json', 'merge', 'a.bin.chunks/index.json', '--out', 'b.bin'], { cwd: dir });
  t.assert.strictEqual(run.code, 1);
  const last = run.lines().at(-1)!;
  t.assert.strictEqual(last['type'], 'error');
  t.assert.strictEqual(last['code'], 'ERR_CHUNK_HASH');
  t.assert.ok(!(await listTree(dir)).some((n) => n === 'b.bin' || n.endsWith('.arozdfs-tmp')));
});

/** Runs the CLI as root without the capabilities that let root read any file. */
function runWithoutDacOverride(args: string[]): Promise<CliRun> {
  const drop = '-dac_override,-dac_read_search';
  return runProcess('setpriv', [
    `--inh-caps=${drop}`,
    `--bounding-set=${drop}`,
    process.execPath,
    CLI,
    ...args,
  ]);
}

test('SIGINT during slice exits 130 with ERR_INTERRUPTED and leaves nothing behind', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await randomFile(join(dir, 'a.bin'), 4 * MiB);
  // 1024 chunks, each made durable on its own: the run is still going when the first progress line comes.
  const child = spawn(process.execPath, [CLI, '--json', 'slice', 'a.bin', '--chunk-size', '4KiB'], {
    cwd: dir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    if (stdout === '') child.kill('SIGINT');
    stdout += d;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  t.assert.strictEqual(code, 130);
  t.assert.strictEqual(JSON.parse(stdout.trim().split('\n').at(-1)!).code, 'ERR_INTERRUPTED');
  t.assert.deepStrictEqual(await listTree(dir), ['a.bin']);
});
