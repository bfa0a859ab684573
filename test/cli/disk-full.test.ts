/**
 * A disk that fills up during slice or merge: ERR_NO_SPACE and nothing partial left behind. The real
 * case is a 2 MiB tmpfs (mount needs root or CAP_SYS_ADMIN); a file-size limit (`ulimit -f`, EFBIG,
 * which arozdfs treats like a full disk) runs everywhere, so the clean-up is checked even where mount
 * is not permitted.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KiB, listTree, MiB, randomFile } from '../chunk/fixtures.ts';
import { type CliRun, runCli } from '../helpers/cli.ts';
import { teardown, tmpDir } from '../helpers/context.ts';

const exec = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

/** A 2 MiB tmpfs on a fresh folder holding one file of ours; or why there is none. */
async function smallDisk(t: TestContext): Promise<{ disk?: string; why?: string }> {
  const dir = await tmpDir(t);
  const disk = join(dir, 'small');
  await mkdir(disk);
  try {
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', disk]);
  } catch (err) {
    return { why: `mount -t tmpfs is not permitted here (${(err as Error).message.split('\n')[0]})` };
  }
  teardown(t).defer(async () => {
    await exec('umount', [disk]);
  });
  await writeFile(join(disk, 'keep.txt'), 'already here');
  return { disk };
}

function lastCode(run: CliRun): unknown {
  return run.lines().at(-1)?.['code'];
}

test('slice onto a disk that fills up is ERR_NO_SPACE and leaves no chunk, temp file or folder', async (t: TestContext) => {
  const { disk, why } = await smallDisk(t);
  if (disk === undefined) return t.skip(why);
  const source = join(disk, '..', 'a.bin');
  await randomFile(source, 3 * MiB);
  const run = await runCli([
    '--json',
    'slice',
    source,
    '--chunk-size',
    '64KiB',
    '--out',
    join(disk, 'chunks'),
  ]);
  t.assert.strictEqual(run.code, 1);
  t.assert.strictEqual(lastCode(run), 'ERR_NO_SPACE');
  t.assert.deepStrictEqual(await listTree(disk), ['keep.txt']);
});

test('merge onto a disk that fills up is ERR_NO_SPACE and leaves no partial file', async (t: TestContext) => {
  const { disk, why } = await smallDisk(t);
  if (disk === undefined) return t.skip(why);
  const source = join(disk, '..', 'a.bin');
  await randomFile(source, 3 * MiB);
  t.assert.strictEqual((await runCli(['slice', source, '--chunk-size', '64KiB'])).code, 0);
  const run = await runCli(['--json', 'merge', `${source}.chunks/index.json`, '--out', join(disk, 'a.bin')]);
  t.assert.strictEqual(run.code, 1);
  t.assert.strictEqual(lastCode(run), 'ERR_NO_SPACE');
  t.assert.deepStrictEqual(await listTree(disk), ['keep.txt']);
});

/** Runs the CLI under `ulimit -f` (512-byte blocks): a write past the limit fails with EFBIG. */
async function limited(
  limitBytes: number,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await exec(
      'sh',
      ['-c', `ulimit -f ${limitBytes / 512} && exec "$0" "$@"`, process.execPath, CLI, ...args],
      { cwd },
    );
    return { code: 0, stdout };
  } catch (err) {
    const { code, stdout } = err as { code: number; stdout: string };
    return { code, stdout };
  }
}

test('a file-size limit hit during slice or merge is ERR_NO_SPACE and leaves nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await randomFile(join(dir, 'a.bin'), MiB + 5);
  const slice = await limited(512 * KiB, ['--json', 'slice', 'a.bin', '--chunk-size', '1MiB'], dir);
  t.assert.strictEqual(slice.code, 1);
  t.assert.strictEqual(JSON.parse(slice.stdout.trim().split('\n').at(-1)!).code, 'ERR_NO_SPACE');
  t.assert.deepStrictEqual(await listTree(dir), ['a.bin']);

  t.assert.strictEqual((await runCli(['slice', 'a.bin', '--chunk-size', '256KiB'], { cwd: dir })).code, 0);
  const before = await listTree(dir);
  const merge = await limited(
    512 * KiB,
    ['--json', 'merge', 'a.bin.chunks/index.json', '--out', 'b.bin'],
    dir,
  );
  t.assert.strictEqual(merge.code, 1);
  t.assert.strictEqual(JSON.parse(merge.stdout.trim().split('\n').at(-1)!).code, 'ERR_NO_SPACE');
  t.assert.deepStrictEqual(await listTree(dir), before);
});
