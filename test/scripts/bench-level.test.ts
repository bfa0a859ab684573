/**
 * `levelPages` (bench/cluster-baselines.ts), which `bench:cluster` and `bench:small-files` run before
 * every contender: it writes its scratch file and leaves the folder as it found it, also when the
 * byte count is not a whole number of its 1 MiB pieces; `levelBytes` sizes that file within the free
 * memory and disk. Real files in a temp folder.
 */
import { mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises';
import { freemem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { levelBytes, levelPages } from '../../bench/cluster-baselines.ts';

test('levelPages leaves the folder as it found it', async (t: TestContext) => {
  const dir = await mkdtemp(join(tmpdir(), 'arozdfs-level-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'data.bin'), 'kept');
  await levelPages(dir, 3 * 1024 * 1024 + 5);
  t.assert.deepStrictEqual(await readdir(dir), ['data.bin']);
});

test('levelPages in a folder that is gone rejects and leaves nothing', async (t: TestContext) => {
  const dir = await mkdtemp(join(tmpdir(), 'arozdfs-level-'));
  await rm(dir, { recursive: true });
  await t.assert.rejects(levelPages(join(dir, 'nested'), 1024), { code: 'ENOENT' });
  await t.assert.rejects(readdir(dir), { code: 'ENOENT' });
});

test('levelBytes asks for what is wanted, never more than half the free memory or disk', async (t: TestContext) => {
  const dir = tmpdir();
  t.assert.strictEqual(await levelBytes(dir, 1024), 1024);
  const disk = await statfs(dir);
  const most = await levelBytes(dir, Number.MAX_SAFE_INTEGER);
  t.assert.ok(most > 0, `${most}`);
  t.assert.ok(most <= freemem() / 2 + 64 * 1024 * 1024, `${most} against ${freemem()} free`);
  t.assert.ok(most <= (disk.bavail * disk.bsize) / 2 + 64 * 1024 * 1024, `${most} against the disk`);
});
