import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DiskStore, MemoryStore, StoreSet } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { runProcess } from '../helpers/cli.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { runStoreCompliance } from './compliance.ts';
import { data, KiB, listTree, put, readAll, rejectsWith, UPLOADER } from './helpers.ts';

const NODE = newUuid();

runStoreCompliance('StoreSet of two DiskStores', async (t, { limit }) => {
  const root = await tmpDir(t);
  const dirs = [join(root, 'a'), join(root, 'b')];
  const stores = await Promise.all(dirs.map((dir) => DiskStore.create(dir, NODE, { limit })));
  const set = new StoreSet(stores);
  teardown(t).defer(() => set.close());
  return { store: set, files: () => listTree(...dirs) };
});

function memorySet(t: TestContext, limits: number[]) {
  const stores = limits.map((limit, k) => new MemoryStore({ id: `m${k}`, limit }));
  const set = new StoreSet(stores);
  teardown(t).defer(() => set.close());
  return { set, stores: stores as [MemoryStore, MemoryStore] };
}

test('StoreSet puts a new chunk on the online store with the most free space', async (t: TestContext) => {
  const { set, stores } = memorySet(t, [100 * KiB, 300 * KiB]);
  const first = newUuid();
  await put(set, first, data(150 * KiB));
  t.assert.deepStrictEqual([await stores[0].has(first), await stores[1].has(first)], [false, true]);
  const second = newUuid();
  await put(set, second, data(90 * KiB));
  t.assert.strictEqual(await stores[1].has(second), true, '150 KiB free beats 100 KiB');
  const third = newUuid();
  await put(set, third, data(90 * KiB));
  t.assert.strictEqual(await stores[0].has(third), true, 'now the first store has the most');
  await rejectsWith(
    t,
    set.beginPut(newUuid(), { size: 70 * KiB, meta: { uploader: UPLOADER } }),
    'ERR_NO_SPACE',
  );
  const status = await set.status();
  t.assert.deepStrictEqual([status.chunks, status.used, status.free], [3, 330 * KiB, 60 * KiB]);
});

test('StoreSet sends a put of a UUID it holds to the store holding it, not the emptiest', async (t: TestContext) => {
  const { set, stores } = memorySet(t, [100 * KiB, 100 * KiB]);
  const uuid = newUuid();
  const bytes = data(60 * KiB);
  await put(stores[0], uuid, bytes);
  t.assert.strictEqual(await put(set, uuid, bytes), 'exists');
  await rejectsWith(t, put(set, uuid, data(60 * KiB)), 'ERR_CHUNK_CONFLICT');
  t.assert.strictEqual(await stores[1].has(uuid), false);
});

test('StoreSet keeps serving from the other stores when one goes offline', async (t: TestContext) => {
  const { set, stores } = memorySet(t, [200 * KiB, 100 * KiB]);
  const onFirst = newUuid();
  const onSecond = newUuid();
  const bytes = data(50 * KiB);
  await put(stores[0], onFirst, bytes);
  await put(stores[1], onSecond, bytes);
  stores[0].setOnline(false);
  const statuses = await set.statuses();
  t.assert.deepStrictEqual(
    statuses.map((s) => [s.id, s.online]),
    [
      ['m0', false],
      ['m1', true],
    ],
  );
  await rejectsWith(t, set.get(onFirst), 'ERR_CHUNK_MISSING');
  t.assert.ok((await readAll(await set.get(onSecond))).equals(bytes));
  const fresh = newUuid();
  await put(set, fresh, data(10 * KiB));
  t.assert.strictEqual(await stores[1].has(fresh), true, 'the new chunk went to the online store');
  stores[1].setOnline(false);
  await rejectsWith(
    t,
    set.beginPut(newUuid(), { size: 1, meta: { uploader: UPLOADER } }),
    'ERR_STORE_OFFLINE',
  );
  t.assert.strictEqual((await set.status()).online, false);
  stores[0].setOnline(true);
  t.assert.ok((await readAll(await set.get(onFirst))).equals(bytes), 'back online, served again');
});

test('StoreSet serves from the other disk when a store folder is removed while running', async (t: TestContext) => {
  const root = await tmpDir(t);
  const a = await DiskStore.create(join(root, 'a'), NODE);
  const b = await DiskStore.create(join(root, 'b'), NODE);
  const set = new StoreSet([a, b]);
  teardown(t).defer(() => set.close());
  const onB = newUuid();
  const bytes = data(20 * KiB);
  await put(b, onB, bytes);
  await rm(join(root, 'a'), { recursive: true });
  const [statusA, statusB] = await set.statuses();
  t.assert.deepStrictEqual(
    [statusA?.online, statusA?.reason, statusB?.online],
    [false, 'missing-folder', true],
  );
  t.assert.ok((await readAll(await set.get(onB))).equals(bytes));
  const fresh = newUuid();
  t.assert.strictEqual(await put(set, fresh, bytes), 'created');
  t.assert.strictEqual(await b.has(fresh), true);
  t.assert.deepStrictEqual(await listTree(join(root, 'a')), [], 'the removed folder stays removed');
});

test('StoreSet.delete() checks the uploader of every copy before moving any', async (t: TestContext) => {
  const { set, stores } = memorySet(t, [100 * KiB, 100 * KiB]);
  const uuid = newUuid();
  const bytes = data(KiB);
  await put(stores[0], uuid, bytes);
  await put(stores[1], uuid, bytes, { meta: { uploader: newUuid() } });
  await rejectsWith(t, set.delete(uuid, { by: UPLOADER }), 'ERR_NOT_UPLOADER');
  t.assert.deepStrictEqual([await stores[0].has(uuid), await stores[1].has(uuid)], [true, true]);
});

test('StoreSet: concurrent puts of one UUID whose first placement fails all settle, and the UUID is free again', async (t: TestContext) => {
  // Before the fix the waiters spun on microtasks for ever (no timer runs again), so the race runs
  // in its own process, which this test kills at its deadline.
  const script = fileURLToPath(new URL('./store-set-race.ts', import.meta.url));
  const run = await runProcess(process.execPath, [script], { timeoutMs: 30_000 });
  t.assert.deepStrictEqual([run.code, run.signal], [0, null], `the race did not end in 30 s: ${run.stderr}`);
  const byName = new Map(run.lines().map((line) => [line['name'], line]));
  const three = (code: string) => [code, code, code];
  t.assert.deepStrictEqual(byName.get('no-space'), {
    name: 'no-space',
    outcomes: three('ERR_NO_SPACE'),
    reservedAfter: 0,
  });
  t.assert.deepStrictEqual(byName.get('no-space-20')?.['outcomes'], Array(20).fill('ERR_NO_SPACE'));
  t.assert.deepStrictEqual(byName.get('conflict'), {
    name: 'conflict',
    outcomes: three('ERR_CHUNK_CONFLICT'),
    reservedAfter: 0,
  });
  t.assert.deepStrictEqual(byName.get('offline'), {
    name: 'offline',
    outcomes: three('ERR_STORE_OFFLINE'),
    reservedAfter: 0,
  });
  t.assert.deepStrictEqual(
    byName.get('cancelled'),
    {
      name: 'cancelled',
      outcomes: ['ERR_INTERRUPTED', 'writer', 'writer'],
      reservedPerStore: [0, 200],
      reservedAfter: 0,
    },
    'the two others placed afresh, on one store',
  );
});
