import { mkdir, readdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { DiskStore, MARKER_NAME } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { runStoreCompliance } from './compliance.ts';
import { data, KiB, listTree, OTHER_NODE, put, readAll, rejectsWith, sha256, UPLOADER } from './helpers.ts';

const NODE = newUuid();

async function newStore(t: TestContext, options: { limit?: number } = {}) {
  const dir = join(await tmpDir(t), 'store');
  const store = await DiskStore.create(dir, NODE, options);
  teardown(t).defer(() => store.close());
  return { dir, store };
}

runStoreCompliance('DiskStore', async (t, { limit }) => {
  const { dir, store } = await newStore(t, { limit });
  return { store, files: () => listTree(dir) };
});

test('DiskStore keeps a chunk at chunks/ab/cd/<uuid> with its sidecar, and a marker', async (t: TestContext) => {
  const { dir, store } = await newStore(t);
  const uuid = newUuid();
  const indexId = newUuid();
  const bytes = data(10 * KiB);
  await put(store, uuid, bytes, { meta: { uploader: UPLOADER, indexId, i: 0 } });
  const shard = join(dir, 'chunks', uuid.slice(0, 2), uuid.slice(2, 4));
  t.assert.deepStrictEqual((await readdir(shard)).sort(), [uuid, `${uuid}.json`]);
  t.assert.ok((await readFile(join(shard, uuid))).equals(bytes));
  const sidecar = JSON.parse(await readFile(join(shard, `${uuid}.json`), 'utf8'));
  t.assert.deepStrictEqual(
    { ...sidecar, storedAt: typeof sidecar.storedAt },
    {
      uuid,
      sha256: sha256(bytes),
      size: bytes.length,
      uploader: UPLOADER,
      indexId,
      i: 0,
      storedAt: 'string',
    },
  );
  const marker = JSON.parse(await readFile(join(dir, MARKER_NAME), 'utf8'));
  t.assert.deepStrictEqual([marker.version, marker.nodeUuid, marker.storeUuid], [1, NODE, store.id]);
});

test('DiskStore.open() of a folder without a marker is offline and writes nothing', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await writeFile(join(dir, 'unrelated.txt'), 'the root filesystem');
  const store = await DiskStore.open(dir, NODE);
  const status = await store.status();
  t.assert.deepStrictEqual([status.online, status.reason, status.free], [false, 'missing-marker', 0]);
  await rejectsWith(
    t,
    store.beginPut(newUuid(), { size: 1, meta: { uploader: UPLOADER } }),
    'ERR_STORE_OFFLINE',
  );
  await rejectsWith(t, store.get(newUuid()), 'ERR_STORE_OFFLINE');
  t.assert.deepStrictEqual(await readdir(dir), ['unrelated.txt']);
  const gone = await DiskStore.open(join(dir, 'not-mounted'), NODE);
  t.assert.strictEqual((await gone.status()).reason, 'missing-folder');
  await rejectsWith(
    t,
    gone.beginPut(newUuid(), { size: 1, meta: { uploader: UPLOADER } }),
    'ERR_STORE_OFFLINE',
  );
  t.assert.deepStrictEqual(await readdir(dir), ['unrelated.txt'], 'the missing folder is not created');
});

test("DiskStore.open() of another node's store is offline and never written", async (t: TestContext) => {
  const { dir, store } = await newStore(t);
  await put(store, newUuid(), data(KiB));
  const before = await listTree(dir);
  const foreign = await DiskStore.open(dir, OTHER_NODE);
  t.assert.strictEqual((await foreign.status()).reason, 'foreign-marker');
  await rejectsWith(
    t,
    foreign.beginPut(newUuid(), { size: 1, meta: { uploader: UPLOADER } }),
    'ERR_STORE_OFFLINE',
  );
  const wrongStore = await DiskStore.open(dir, NODE, { storeUuid: newUuid() });
  t.assert.strictEqual((await wrongStore.status()).reason, 'foreign-marker');
  t.assert.deepStrictEqual(await listTree(dir), before);
  await rejectsWith(
    t,
    DiskStore.create(dir, OTHER_NODE),
    'ERR_STORE_EXISTS',
    "create over another node's marker",
  );
});

test('DiskStore.create() refuses a non-empty folder and reopens its own store', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await writeFile(join(dir, 'photo.jpg'), 'x');
  await rejectsWith(t, DiskStore.create(dir, NODE), 'ERR_STORE_EXISTS');
  t.assert.deepStrictEqual(await readdir(dir), ['photo.jpg']);
  const { dir: storeDir, store } = await newStore(t);
  const again = await DiskStore.create(storeDir, NODE);
  t.assert.strictEqual(again.id, store.id, 'same marker, same store UUID');
});

test('a marker removed while running takes the store offline; restored, it comes back', async (t: TestContext) => {
  const { dir, store } = await newStore(t);
  const uuid = newUuid();
  const bytes = data(KiB);
  await put(store, uuid, bytes);
  const marker = await readFile(join(dir, MARKER_NAME));
  await rm(join(dir, MARKER_NAME));
  const status = await store.status();
  t.assert.deepStrictEqual([status.online, status.reason], [false, 'missing-marker']);
  await rejectsWith(
    t,
    store.beginPut(newUuid(), { size: 1, meta: { uploader: UPLOADER } }),
    'ERR_STORE_OFFLINE',
  );
  await rejectsWith(t, store.delete(uuid, { by: UPLOADER }), 'ERR_STORE_OFFLINE');
  await writeFile(join(dir, MARKER_NAME), marker);
  t.assert.strictEqual((await store.status()).chunks, 1);
  t.assert.ok((await readAll(await store.get(uuid))).equals(bytes));
});

test('a store folder removed while running goes offline and is never re-created', async (t: TestContext) => {
  const { dir, store } = await newStore(t);
  const uuid = newUuid();
  await put(store, uuid, data(KiB));
  const body = data(2 * KiB);
  const writer = await store.beginPut(newUuid(), { size: body.length, meta: { uploader: UPLOADER } });
  await writer.write(body.subarray(0, KiB));
  await rm(dir, { recursive: true });
  await writer.write(body.subarray(KiB));
  await rejectsWith(t, writer.finish(sha256(body)), 'ERR_STORE_OFFLINE', 'the put in progress fails');
  const status = await store.status();
  t.assert.deepStrictEqual([status.online, status.reason], [false, 'missing-folder']);
  await rejectsWith(t, put(store, newUuid(), data(KiB)), 'ERR_STORE_OFFLINE');
  await rejectsWith(t, store.get(uuid), 'ERR_STORE_OFFLINE');
  t.assert.deepStrictEqual(await listTree(dir), [], 'nothing was written where the disk was');
});

test('DiskStore.open() removes stale temp files and sidecars of unfinished puts', async (t: TestContext) => {
  const { dir, store } = await newStore(t);
  const kept = newUuid();
  await put(store, kept, data(KiB));
  const shard = join(dir, 'chunks', kept.slice(0, 2), kept.slice(2, 4));
  const unfinished = `${kept.slice(0, 4)}${newUuid().slice(4)}`;
  await writeFile(join(shard, `.${unfinished}.0123456789ab.arozdfs-tmp`), data(KiB));
  await writeFile(join(shard, `${unfinished}.json`), '{}');
  await store.close();
  const reopened = await DiskStore.open(dir, NODE);
  teardown(t).defer(() => reopened.close());
  t.assert.deepStrictEqual((await readdir(shard)).sort(), [kept, `${kept}.json`].sort());
  const status = await reopened.status();
  t.assert.deepStrictEqual([status.chunks, status.used], [1, KiB]);
});

test('get() does not follow a symbolic link planted as a chunk file', async (t: TestContext) => {
  const { dir, store } = await newStore(t);
  const uuid = newUuid();
  await put(store, uuid, data(KiB));
  const path = join(dir, 'chunks', uuid.slice(0, 2), uuid.slice(2, 4), uuid);
  await rm(path);
  await symlink('/etc/passwd', path);
  await rejectsWith(t, store.get(uuid), 'ERR_IO');
});

test('get() of a stored chunk cut short by damage reports ERR_CHUNK_SIZE', async (t: TestContext) => {
  const { dir, store } = await newStore(t);
  const uuid = newUuid();
  await put(store, uuid, data(4 * KiB));
  await truncate(join(dir, 'chunks', uuid.slice(0, 2), uuid.slice(2, 4), uuid), KiB);
  await rejectsWith(t, store.get(uuid), 'ERR_CHUNK_SIZE');
});

test('DiskStore.open() refuses a limit that is not a byte count', async (t: TestContext) => {
  const dir = await tmpDir(t);
  await mkdir(join(dir, 'x'));
  await rejectsWith(t, DiskStore.open(join(dir, 'x'), NODE, { limit: -1 }), 'ERR_INVALID_SIZE');
});
