import { open, readdir, readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { downloadFile, FileDownloadJournal } from '../../src/transfer/index.ts';
import { tmpDir } from '../helpers/context.ts';
import { CHUNK, uploaded } from './helpers.ts';

async function interrupted(t: TestContext, after: number) {
  const setup = await uploaded(t, 3, 20 * CHUNK + 300);
  const journal = new FileDownloadJournal(join(await tmpDir(t), 'download.jsonl'));
  t.after(() => journal.close());
  const controller = new AbortController();
  const run = downloadFile(
    setup.index,
    setup.options({
      journal,
      parallel: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.chunksDone >= after) controller.abort();
      },
    }),
  );
  await t.assert.rejects(run, (err: unknown) => isArozError(err, 'ERR_INTERRUPTED'));
  const state = await journal.load();
  t.assert.ok(state !== undefined);
  return { ...setup, journal, state };
}

test('a resumed download fetches only the missing chunks, re-checking those it kept', async (t: TestContext) => {
  const { cluster, index, bytes, dir, options, journal, state } = await interrupted(t, 8);
  t.assert.deepStrictEqual(await readdir(dir), [basename(state.plan.tempPath)], 'the partial file is kept');
  t.assert.ok(state.done.length >= 8 && state.done.length < index.chunks.length);
  // A journaled chunk damaged in the partial file is not trusted: it is fetched again.
  const damaged = index.chunks[state.done[0]!]!;
  const fh = await open(state.plan.tempPath, 'r+');
  await fh.write(Buffer.from('damage'), 0, 6, damaged.offset + 10);
  await fh.close();
  for (const store of cluster.stores.values()) store.gets = 0;

  const result = await downloadFile(index, options({ journal }));
  const missing = index.chunks.length - state.done.length + 1;
  t.assert.strictEqual(result.fetched, missing);
  const gets = [...cluster.stores.values()].reduce((sum, store) => sum + store.gets, 0);
  t.assert.strictEqual(gets, missing, 'one get per chunk that was not already there');
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
  t.assert.deepStrictEqual(await readdir(dir), ['out.mkv']);
});

test('a resumed download whose partial file is gone starts over', async (t: TestContext) => {
  const { index, bytes, options, journal, state } = await interrupted(t, 3);
  await journal.close();
  await rm(state.plan.tempPath);
  const result = await downloadFile(index, options({ journal }));
  t.assert.strictEqual(result.fetched, index.chunks.length);
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
});

test('FileDownloadJournal.remove() gives a download up: its partial file and journal are removed', async (t: TestContext) => {
  const { dir, journal } = await interrupted(t, 2);
  await journal.remove();
  t.assert.deepStrictEqual(await readdir(dir), []);
  t.assert.strictEqual(await journal.load(), undefined);
});
