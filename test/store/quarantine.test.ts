/**
 * A disk store's scrub walk and quarantine: chunk UUIDs listed in ascending order from any UUID on,
 * across shards; a quarantined copy is neither served nor counted as held, its bytes still count as
 * used (also after the store is opened again), and a copy whose record changed is not moved.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DiskStore } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { data, KiB, put, rejectsWith, sha256, UPLOADER } from './helpers.ts';

const NODE = newUuid();

test('chunksAfter lists stored UUIDs in ascending order from any UUID on, in batches', async (t: TestContext) => {
  const dir = join(await tmpDir(t), 'store');
  const store = await DiskStore.create(dir, NODE);
  teardown(t).defer(() => store.close());
  const uuids: string[] = [];
  for (let k = 0; k < 12; k++) {
    const uuid = newUuid();
    await put(store, uuid, data(KiB + k), { meta: { uploader: UPLOADER } });
    uuids.push(uuid);
  }
  uuids.sort();
  t.assert.deepStrictEqual(await store.chunksAfter('', 100), uuids);
  const walked: string[] = [];
  for (let after = ''; ; ) {
    const batch = await store.chunksAfter(after, 5);
    if (batch.length === 0) break;
    walked.push(...batch);
    after = batch.at(-1)!;
  }
  t.assert.deepStrictEqual(walked, uuids);
  t.assert.deepStrictEqual(await store.chunksAfter(uuids[6]!, 100), uuids.slice(7));
  t.assert.deepStrictEqual(await store.chunksAfter('~', 100), []);
});

test('a quarantined copy is not served nor held, still uses its bytes, and is counted again after a reopen', async (t: TestContext) => {
  const dir = join(await tmpDir(t), 'store');
  const store = await DiskStore.create(dir, NODE);
  const uuid = newUuid();
  const bytes = data(20 * KiB);
  await put(store, uuid, bytes, { meta: { uploader: UPLOADER } });
  const before = await store.status();
  t.assert.strictEqual(await store.quarantine(uuid, 'ab'.repeat(32)), false); // another record: kept
  t.assert.strictEqual(await store.quarantine(uuid, sha256(bytes)), true);
  t.assert.strictEqual(await store.head(uuid), undefined);
  await rejectsWith(t, store.get(uuid), 'ERR_CHUNK_MISSING');
  await access(join(dir, 'quarantine', uuid));
  await access(join(dir, 'quarantine', `${uuid}.json`));
  const after = await store.status();
  t.assert.strictEqual(after.chunks, before.chunks - 1);
  t.assert.strictEqual(after.used, before.used);
  t.assert.deepStrictEqual(after.quarantine, { chunks: 1, bytes: bytes.length });
  t.assert.strictEqual(await store.quarantine(uuid, sha256(bytes)), false); // already gone
  await store.close();
  const again = await DiskStore.open(dir, NODE);
  teardown(t).defer(() => again.close());
  const reopened = await again.status();
  t.assert.deepStrictEqual(reopened.quarantine, { chunks: 1, bytes: bytes.length });
  t.assert.strictEqual(reopened.used, before.used);
  // The UUID is free again: a good copy may come back.
  await put(again, uuid, bytes, { meta: { uploader: UPLOADER } });
  t.assert.strictEqual((await again.head(uuid))?.sha256, sha256(bytes));
});
