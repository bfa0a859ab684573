import { type TestContext, test } from 'node:test';
import { MemoryStore } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { runStoreCompliance } from './compliance.ts';
import { data, KiB, put, readAll, rejectsWith, UPLOADER } from './helpers.ts';

runStoreCompliance('MemoryStore', async (t, { limit }) => {
  const store = new MemoryStore({ limit });
  teardown(t).defer(() => store.close());
  return { store };
});

test('MemoryStore.setOnline(false) plays an unmounted disk: offline, then back with its chunks', async (t: TestContext) => {
  const store = new MemoryStore({ limit: 64 * KiB });
  const uuid = newUuid();
  const bytes = data(KiB);
  await put(store, uuid, bytes);
  store.setOnline(false);
  const status = await store.status();
  t.assert.deepStrictEqual([status.online, status.reason, status.free], [false, 'missing-folder', 0]);
  await rejectsWith(
    t,
    store.beginPut(newUuid(), { size: 1, meta: { uploader: UPLOADER } }),
    'ERR_STORE_OFFLINE',
  );
  await rejectsWith(t, store.get(uuid), 'ERR_STORE_OFFLINE');
  store.setOnline(true);
  t.assert.ok((await readAll(await store.get(uuid))).equals(bytes));
});
