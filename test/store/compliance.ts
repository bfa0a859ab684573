/**
 * The ChunkStore compliance suite: every store implementation (DiskStore, MemoryStore, StoreSet)
 * runs these same tests through `runStoreCompliance(name, make)`. `make` returns a fresh store
 * that can hold about `limit` bytes (a StoreSet: per store) and, where it has files, a listing
 * of them so tests can show that nothing was touched.
 */
import { describe, type TestContext, test } from 'node:test';
import type { ChunkStore, PurgeOptions } from '../../src/store/index.ts';
import { PIECE_SIZE } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { putCompliance } from './compliance-put.ts';
import {
  data,
  KiB,
  MiB,
  OTHER_NODE,
  put,
  readAll,
  readInto,
  rejectsWith,
  sha256,
  UPLOADER,
} from './helpers.ts';

export interface StoreUnderTest {
  store: ChunkStore;
  /** Every file of the store, sorted; absent for stores without files. */
  files?: () => Promise<string[]>;
  /**
   * The same store as another node sees it. A local store takes the uploader from `meta`; a
   * RemoteStore acts only as the node its session proved to be, so another node needs its own.
   */
  as?: (node: string) => Promise<ChunkStore>;
  /** Empties the trash where the store itself may not (a RemoteStore: each node purges its own). */
  purgeTrash?: (options?: PurgeOptions) => Promise<number>;
}

export type MakeStore = (t: TestContext, options: { limit: number }) => Promise<StoreUnderTest>;

const HOSTILE = [
  '../../etc/passwd',
  '..',
  '',
  'chunks/../../x',
  `${newUuid().toUpperCase()}`,
  `urn:uuid:${newUuid()}`,
  `${newUuid()}\n`,
  `${newUuid()}/`,
  '6ba7b810-9dad-11d1-80b4-00c04fd430c8', // v1
];

export function runStoreCompliance(name: string, make: MakeStore): void {
  describe(`${name} (ChunkStore compliance)`, () => {
    test('put() then get(), head(), has() give back the same bytes and metadata', async (t: TestContext) => {
      const { store } = await make(t, { limit: 1 * MiB });
      const uuid = newUuid();
      const indexId = newUuid();
      const bytes = data(300 * KiB + 7);
      t.assert.strictEqual(
        await put(store, uuid, bytes, { meta: { uploader: UPLOADER, indexId, i: 3 } }),
        'created',
      );
      const info = await store.head(uuid);
      t.assert.deepStrictEqual(
        { ...info, storedAt: undefined },
        {
          uuid,
          sha256: sha256(bytes),
          size: bytes.length,
          uploader: UPLOADER,
          indexId,
          i: 3,
          storedAt: undefined,
        },
      );
      t.assert.ok(!Number.isNaN(Date.parse(info?.storedAt ?? '')), 'storedAt is a date');
      t.assert.strictEqual(await store.has(uuid), true);
      t.assert.ok((await readAll(await store.get(uuid))).equals(bytes), 'iteration gives the bytes');
      t.assert.ok((await readInto(await store.get(uuid))).equals(bytes), 'read(into) gives the bytes');
      const status = await store.status();
      t.assert.strictEqual(status.online, true);
      t.assert.strictEqual(status.chunks, 1);
      t.assert.strictEqual(status.used, bytes.length);
    });

    test('get() reads byte ranges and refuses ranges outside the chunk', async (t: TestContext) => {
      const { store } = await make(t, { limit: 1 * MiB });
      const uuid = newUuid();
      const bytes = data(100 * KiB);
      await put(store, uuid, bytes);
      const reader = await store.get(uuid, { start: 1000, end: 70 * KiB });
      t.assert.deepStrictEqual([reader.start, reader.end, reader.length], [1000, 70 * KiB, 70 * KiB - 1000]);
      t.assert.ok((await readAll(reader)).equals(bytes.subarray(1000, 70 * KiB)));
      t.assert.ok(
        (await readInto(await store.get(uuid, { start: 99 * KiB }))).equals(bytes.subarray(99 * KiB)),
      );
      t.assert.strictEqual((await readAll(await store.get(uuid, { start: bytes.length }))).length, 0);
      for (const range of [{ start: 5, end: 4 }, { end: bytes.length + 1 }, { start: -1 }, { start: 1.5 }]) {
        await rejectsWith(t, store.get(uuid, range), 'ERR_INVALID_RANGE', JSON.stringify(range));
      }
    });

    test('iteration yields pieces of at most 1 MiB', async (t: TestContext) => {
      const { store } = await make(t, { limit: 4 * MiB });
      const uuid = newUuid();
      const bytes = data(2 * MiB + 5);
      await put(store, uuid, bytes, { piece: 256 * KiB });
      const sizes: number[] = [];
      const parts: Buffer[] = [];
      for await (const piece of await store.get(uuid)) {
        sizes.push(piece.byteLength);
        parts.push(Buffer.from(piece));
      }
      t.assert.ok(Buffer.concat(parts).equals(bytes));
      t.assert.ok(
        sizes.every((n) => n > 0 && n <= PIECE_SIZE),
        `piece sizes ${sizes.join(',')}`,
      );
    });

    test('a zero-byte chunk can be stored and read', async (t: TestContext) => {
      const { store } = await make(t, { limit: 1 * MiB });
      const uuid = newUuid();
      t.assert.strictEqual(await put(store, uuid, Buffer.alloc(0)), 'created');
      t.assert.strictEqual((await readAll(await store.get(uuid))).length, 0);
    });

    test('a hostile or non-canonical UUID is refused before anything is touched', async (t: TestContext) => {
      const { store, files } = await make(t, { limit: 1 * MiB });
      const kept = newUuid();
      await put(store, kept, data(1 * KiB));
      const before = await files?.();
      const meta = { uploader: UPLOADER };
      for (const uuid of HOSTILE) {
        const label = JSON.stringify(uuid);
        await rejectsWith(
          t,
          store.beginPut(uuid, { size: 10, meta }),
          'ERR_INVALID_UUID',
          `beginPut ${label}`,
        );
        await rejectsWith(t, store.get(uuid), 'ERR_INVALID_UUID', `get ${label}`);
        await rejectsWith(t, store.head(uuid), 'ERR_INVALID_UUID', `head ${label}`);
        await rejectsWith(t, store.has(uuid), 'ERR_INVALID_UUID', `has ${label}`);
        await rejectsWith(t, store.delete(uuid, { by: UPLOADER }), 'ERR_INVALID_UUID', `delete ${label}`);
        await rejectsWith(
          t,
          store.beginPut(kept, { size: 10, meta: { uploader: uuid } }),
          'ERR_INVALID_UUID',
        );
        await rejectsWith(t, store.delete(kept, { by: uuid }), 'ERR_INVALID_UUID', `delete by ${label}`);
      }
      t.assert.deepStrictEqual(await files?.(), before);
      t.assert.strictEqual(await store.has(kept), true);
    });

    test('delete() by the uploader moves the chunk to the trash; by another node it is refused', async (t: TestContext) => {
      const under = await make(t, { limit: 1 * MiB });
      const { store } = under;
      const purgeTrash = under.purgeTrash ?? ((options?: PurgeOptions) => store.purgeTrash(options));
      const uuid = newUuid();
      const bytes = data(20 * KiB);
      await put(store, uuid, bytes);
      const other = (await under.as?.(OTHER_NODE)) ?? store;
      await rejectsWith(t, other.delete(uuid, { by: OTHER_NODE }), 'ERR_NOT_UPLOADER');
      t.assert.strictEqual(await store.has(uuid), true, 'a refused delete keeps the chunk');
      await store.delete(uuid, { by: UPLOADER });
      t.assert.strictEqual(await store.head(uuid), undefined);
      await rejectsWith(t, store.get(uuid), 'ERR_CHUNK_MISSING');
      await rejectsWith(t, store.delete(uuid, { by: UPLOADER }), 'ERR_CHUNK_MISSING');
      let status = await store.status();
      t.assert.deepStrictEqual(
        [status.chunks, status.trash.chunks, status.trash.bytes],
        [0, 1, bytes.length],
      );
      t.assert.strictEqual(status.used, bytes.length, 'trashed bytes still count');
      t.assert.strictEqual(await purgeTrash({ olderThanMs: 3_600_000 }), 0, 'not old enough');
      t.assert.strictEqual(await purgeTrash(), 1);
      status = await store.status();
      t.assert.deepStrictEqual([status.trash.chunks, status.used], [0, 0]);
      t.assert.strictEqual(await put(store, uuid, data(10)), 'created', 'a deleted UUID can be stored again');
    });

    test('get() and head() of a missing chunk: ERR_CHUNK_MISSING and undefined', async (t: TestContext) => {
      const { store } = await make(t, { limit: 1 * MiB });
      await rejectsWith(t, store.get(newUuid()), 'ERR_CHUNK_MISSING');
      t.assert.strictEqual(await store.head(newUuid()), undefined);
      t.assert.strictEqual(await store.has(newUuid()), false);
    });

    putCompliance(make);
  });
}
