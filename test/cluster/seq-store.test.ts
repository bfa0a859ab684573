import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { SeqStore } from '../../src/cluster/seq-store.ts';
import { isArozError } from '../../src/errors.ts';
import { tmpDir } from '../helpers/context.ts';
import { T0 } from './helpers.ts';

test('SeqStore.next() survives a restart: a new store on the same file continues above the last seq', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'address-seq.json');
  const first = new SeqStore(path, { now: () => T0 });
  t.assert.strictEqual(await first.current(), undefined);
  const a = await first.next();
  const b = await first.next();
  t.assert.ok(b > a);
  const restarted = new SeqStore(path, { now: () => T0 });
  t.assert.strictEqual(await restarted.current(), b);
  t.assert.ok((await restarted.next()) > b);
  t.assert.strictEqual((await stat(path)).mode & 0o777, 0o600);
});

test('SeqStore.next() strictly increases even when the clock goes backwards', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'address-seq.json');
  let now = T0;
  const store = new SeqStore(path, { now: () => now });
  const a = await store.next();
  now = T0 - 3_600_000;
  const b = await store.next();
  const c = await new SeqStore(path, { now: () => 1 }).next();
  t.assert.ok(a >= T0, 'seq starts at the clock');
  t.assert.ok(b > a && c > b);
});

test('SeqStore.next() hands out distinct, increasing numbers to concurrent callers', async (t: TestContext) => {
  const path = join(await tmpDir(t), 'address-seq.json');
  const store = new SeqStore(path, { now: () => T0 });
  const seqs = await Promise.all(Array.from({ length: 20 }, () => store.next()));
  for (let i = 1; i < seqs.length; i++) t.assert.ok((seqs[i] ?? 0) > (seqs[i - 1] ?? 0));
  const saved = JSON.parse(await readFile(path, 'utf8')) as { seq: number };
  t.assert.strictEqual(saved.seq, seqs.at(-1));
});

test('SeqStore refuses a damaged seq file (ERR_HOME_INVALID) instead of guessing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  for (const [name, text] of [
    ['garbage', 'not json'],
    ['zero', '{"version":1,"seq":0}'],
    ['string', '{"version":1,"seq":"12"}'],
    ['huge', `{"pad":"${'x'.repeat(2000)}","seq":1}`],
  ] as const) {
    const path = join(dir, `${name}.json`);
    await writeFile(path, text);
    await t.assert.rejects(
      new SeqStore(path).next(),
      (err: unknown) => isArozError(err, 'ERR_HOME_INVALID'),
      name,
    );
  }
});
