/**
 * `levelPages` (bench/cluster-baselines.ts), which `bench:cluster` and `bench:small-files` run before
 * every contender: it writes its scratch file and leaves the folder as it found it, also when the
 * byte count is not a whole number of its 1 MiB pieces. Real files in a temp folder.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { levelPages } from '../../bench/cluster-baselines.ts';

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
