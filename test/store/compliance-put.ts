/**
 * The put half of the ChunkStore compliance suite (see compliance.ts): existing UUIDs, bodies that
 * break their declaration, reservations, concurrent puts of one UUID, abort and close.
 */
import { type TestContext, test } from 'node:test';
import type { ChunkWriter } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import type { MakeStore } from './compliance.ts';
import {
  data,
  filesOnly,
  KiB,
  MiB,
  OTHER_NODE,
  put,
  readAll,
  rejectsWith,
  sha256,
  UPLOADER,
} from './helpers.ts';

export function putCompliance(make: MakeStore): void {
  test('put() of an existing UUID with the same bytes answers "exists" and keeps the chunk', async (t: TestContext) => {
    const under = await make(t, { limit: 1 * MiB });
    const { store } = under;
    const uuid = newUuid();
    const bytes = data(200 * KiB);
    await put(store, uuid, bytes);
    const before = await store.head(uuid);
    const other = (await under.as?.(OTHER_NODE)) ?? store;
    t.assert.strictEqual(await put(other, uuid, bytes, { meta: { uploader: OTHER_NODE } }), 'exists');
    t.assert.deepStrictEqual(await store.head(uuid), before, 'the first put stays, uploader included');
    const status = await store.status();
    t.assert.strictEqual(status.chunks, 1);
    t.assert.strictEqual(status.used, bytes.length);
  });

  test('put() of an existing UUID with other bytes is ERR_CHUNK_CONFLICT and never replaces', async (t: TestContext) => {
    const { store } = await make(t, { limit: 1 * MiB });
    const uuid = newUuid();
    const bytes = data(200 * KiB);
    await put(store, uuid, bytes);
    await rejectsWith(t, put(store, uuid, data(bytes.length)), 'ERR_CHUNK_CONFLICT', 'same size');
    await rejectsWith(
      t,
      store.beginPut(uuid, { size: bytes.length + 1, meta: { uploader: UPLOADER } }),
      'ERR_CHUNK_CONFLICT',
      'another size is refused before any byte',
    );
    t.assert.ok((await readAll(await store.get(uuid))).equals(bytes));
  });

  test('a body shorter, longer or with another hash than declared is refused and not kept', async (t: TestContext) => {
    const { store, files } = await make(t, { limit: 1 * MiB });
    const before = filesOnly(await files?.());
    const bytes = data(50 * KiB);
    const short = newUuid();
    const w1 = await store.beginPut(short, { size: bytes.length + 1, meta: { uploader: UPLOADER } });
    await w1.write(bytes);
    await rejectsWith(t, w1.finish(sha256(bytes)), 'ERR_CHUNK_SIZE', 'short');
    const long = newUuid();
    const w2 = await store.beginPut(long, { size: bytes.length - 1, meta: { uploader: UPLOADER } });
    await rejectsWith(t, w2.write(bytes), 'ERR_CHUNK_SIZE', 'long: refused as the bytes arrive');
    await rejectsWith(t, w2.finish(sha256(bytes)), 'ERR_CHUNK_SIZE', 'finish after a refused write');
    const wrong = newUuid();
    await rejectsWith(t, put(store, wrong, bytes, { sha: sha256(data(10)) }), 'ERR_CHUNK_HASH', 'other hash');
    await rejectsWith(t, put(store, newUuid(), bytes, { sha: 'NOT-A-HASH' }), 'ERR_CHUNK_HASH', 'bad hash');
    for (const uuid of [short, long, wrong]) t.assert.strictEqual(await store.has(uuid), false, uuid);
    const status = await store.status();
    t.assert.deepStrictEqual([status.chunks, status.used, status.reserved], [0, 0, 0]);
    t.assert.deepStrictEqual(filesOnly(await files?.()), before, 'no temp file is left');
  });

  test('beginPut() refuses a size that is not a chunk size', async (t: TestContext) => {
    const { store } = await make(t, { limit: 1 * MiB });
    for (const size of [-1, 1.5, 2 ** 32, Number.NaN]) {
      await rejectsWith(
        t,
        store.beginPut(newUuid(), { size, meta: { uploader: UPLOADER } }),
        'ERR_INVALID_SIZE',
      );
    }
  });

  test('space is reserved at beginPut(): a full store says ERR_NO_SPACE before any byte', async (t: TestContext) => {
    const { store } = await make(t, { limit: 1 * MiB });
    const initial = (await store.status()).free;
    await rejectsWith(
      t,
      store.beginPut(newUuid(), { size: initial + 1, meta: { uploader: UPLOADER } }),
      'ERR_NO_SPACE',
    );
    const writers: ChunkWriter[] = [];
    let refused = false;
    for (let k = 0; k < 20 && !refused; k++) {
      try {
        writers.push(await store.beginPut(newUuid(), { size: 400 * KiB, meta: { uploader: UPLOADER } }));
      } catch (err) {
        t.assert.strictEqual((err as { code?: string }).code, 'ERR_NO_SPACE');
        refused = true;
      }
    }
    t.assert.ok(
      refused && writers.length > 0,
      `refused after ${writers.length} reservations, no byte written`,
    );
    t.assert.strictEqual((await store.status()).reserved, writers.length * 400 * KiB);
    await writers.pop()?.abort();
    const again = await store.beginPut(newUuid(), { size: 400 * KiB, meta: { uploader: UPLOADER } });
    await again.abort();
    for (const w of writers) await w.abort();
    t.assert.strictEqual((await store.status()).free, initial, 'aborted puts release their space');
  });

  test('concurrent puts of one UUID with the same bytes: one "created", one "exists"', async (t: TestContext) => {
    const { store } = await make(t, { limit: 1 * MiB });
    const uuid = newUuid();
    const bytes = data(100 * KiB);
    const meta = { uploader: UPLOADER };
    const [a, b] = await Promise.all([1, 2].map(() => store.beginPut(uuid, { size: bytes.length, meta })));
    for (let offset = 0; offset < bytes.length; offset += 10 * KiB) {
      await Promise.all([a, b].map((w) => w?.write(bytes.subarray(offset, offset + 10 * KiB))));
    }
    const results = await Promise.all([a, b].map((w) => w?.finish(sha256(bytes))));
    t.assert.deepStrictEqual(results.sort(), ['created', 'exists']);
    t.assert.ok((await readAll(await store.get(uuid))).equals(bytes));
    t.assert.strictEqual((await store.status()).used, bytes.length);
  });

  test('concurrent puts of one UUID with other bytes: one wins whole, the other is a conflict', async (t: TestContext) => {
    const { store, files } = await make(t, { limit: 1 * MiB });
    const uuid = newUuid();
    const bodies = [data(100 * KiB), data(100 * KiB)];
    const meta = { uploader: UPLOADER };
    const writers = await Promise.all(bodies.map((b) => store.beginPut(uuid, { size: b.length, meta })));
    for (let offset = 0; offset < 100 * KiB; offset += 10 * KiB) {
      await Promise.all(
        writers.map((w, k) => w.write((bodies[k] as Buffer).subarray(offset, offset + 10 * KiB))),
      );
    }
    const settled = await Promise.allSettled(writers.map((w, k) => w.finish(sha256(bodies[k] as Buffer))));
    const won = settled.findIndex((s) => s.status === 'fulfilled');
    const lost = settled.find((s) => s.status === 'rejected');
    t.assert.ok(won >= 0 && lost !== undefined, 'exactly one wins');
    t.assert.strictEqual((lost?.reason as { code?: string } | undefined)?.code, 'ERR_CHUNK_CONFLICT');
    t.assert.ok((await readAll(await store.get(uuid))).equals(bodies[won] as Buffer), 'the winner, whole');
    const temps = (await files?.())?.filter((f) => f.endsWith('.arozdfs-tmp')) ?? [];
    t.assert.deepStrictEqual(temps, []);
  });

  test('abort() and the signal remove everything written; the writer stays settled', async (t: TestContext) => {
    const { store, files } = await make(t, { limit: 1 * MiB });
    const before = filesOnly(await files?.());
    const initial = (await store.status()).free;
    const uuid = newUuid();
    const bytes = data(100 * KiB);
    const w = await store.beginPut(uuid, { size: bytes.length, meta: { uploader: UPLOADER } });
    await w.write(bytes.subarray(0, 50 * KiB));
    await w.abort();
    await w.abort();
    await rejectsWith(t, w.write(bytes.subarray(50 * KiB)), 'ERR_INTERRUPTED');
    await rejectsWith(t, w.finish(sha256(bytes)), 'ERR_INTERRUPTED');
    const controller = new AbortController();
    const w2 = await store.beginPut(uuid, {
      size: bytes.length,
      meta: { uploader: UPLOADER },
      signal: controller.signal,
    });
    await w2.write(bytes.subarray(0, 50 * KiB));
    controller.abort();
    // The refusal comes once the cleanup is over: nothing is left reserved at that moment.
    await rejectsWith(t, w2.write(bytes.subarray(50 * KiB)), 'ERR_INTERRUPTED');
    t.assert.strictEqual((await store.status()).free, initial);
    t.assert.strictEqual(await store.has(uuid), false);
    t.assert.deepStrictEqual(filesOnly(await files?.()), before, 'no temp file is left');
    t.assert.strictEqual(await put(store, uuid, bytes), 'created', 'the UUID is still free');
  });

  test('finish() is idempotent and abort() after it keeps the chunk', async (t: TestContext) => {
    const { store } = await make(t, { limit: 1 * MiB });
    const uuid = newUuid();
    const bytes = data(10 * KiB);
    const w = await store.beginPut(uuid, { size: bytes.length, meta: { uploader: UPLOADER } });
    await w.write(bytes);
    t.assert.strictEqual(await w.finish(sha256(bytes)), 'created');
    t.assert.strictEqual(await w.finish(sha256(bytes)), 'created');
    await w.abort();
    await rejectsWith(t, w.write(bytes), 'ERR_INTERNAL', 'a write after finish is a bug of the caller');
    t.assert.ok((await readAll(await store.get(uuid))).equals(bytes));
  });

  test('close() aborts puts in progress and takes the store offline', async (t: TestContext) => {
    const { store, files } = await make(t, { limit: 1 * MiB });
    const before = filesOnly(await files?.());
    const w = await store.beginPut(newUuid(), { size: 10 * KiB, meta: { uploader: UPLOADER } });
    await w.write(data(KiB));
    await store.close();
    await rejectsWith(t, w.finish(sha256(data(1))), 'ERR_INTERRUPTED');
    t.assert.strictEqual((await store.status()).online, false);
    await rejectsWith(
      t,
      store.beginPut(newUuid(), { size: 1, meta: { uploader: UPLOADER } }),
      'ERR_STORE_OFFLINE',
    );
    t.assert.deepStrictEqual(filesOnly(await files?.()), before);
  });
}
