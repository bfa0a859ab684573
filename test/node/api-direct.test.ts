/**
 * A receiving node writes a put's bytes past the page cache (O_DIRECT) where the store's file system
 * allows: the node API gathers the body into pooled page-aligned 1 MiB buffers (PiecePool) and the
 * disk store writes whole aligned pieces of them direct (src/store/disk-put.ts). Real nodes, real
 * files; the chunk that arrives is the chunk that was sent, on ext4 and on a tmpfs alike.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { isPageAligned } from '../../src/chunk/aligned.ts';
import { PiecePool } from '../../src/node/api-put.ts';
import { chunkPath } from '../../src/store/disk-layout.ts';
import { DiskStore } from '../../src/store/disk-store.ts';
import type { ChunkStore } from '../../src/store/types.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { directIoWorks, residentBytes } from '../helpers/direct-io.ts';
import { testBytes } from '../helpers/random.ts';
import { put, readAll, sha256 } from '../store/helpers.ts';
import { type ApiNode, type Member, member, remoteStore, startNode } from './api-testnet.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
/** A chunk of whole 4 KiB pages (its last piece too), and one whose last piece is 4097 bytes. */
const SIZES = [3 * MiB + 8 * KiB, 2 * MiB + 4097];

test('the piece pool hands out page-aligned 1 MiB buffers, then ordinary ones, and keeps only its own', (t: TestContext) => {
  const pool = new PiecePool(3);
  const taken = [pool.take(), pool.take(), pool.take()];
  t.assert.ok(taken.every((b) => b.length === MiB && isPageAligned(b)));
  const extra = pool.take();
  t.assert.strictEqual(extra.length, MiB);
  t.assert.ok(!isPageAligned(extra), 'beyond the block: an ordinary buffer');
  pool.give(extra);
  pool.give(taken[1]!);
  t.assert.strictEqual(pool.take(), taken[1], 'the ordinary one was not kept');
  t.assert.ok(!isPageAligned(pool.take()));
});

test('the piece pool lets its block go once every buffer is back and none was taken for its idle time', async (t: TestContext) => {
  const pool = new PiecePool(2, 200);
  const until = async (done: () => boolean) => {
    const deadline = Date.now() + 20_000;
    while (!done() && Date.now() < deadline) await delay(10);
    return done();
  };
  const [a, b] = [pool.take(), pool.take()];
  pool.give(a!);
  // One buffer is still out (a write in flight): the block stays past the idle time.
  const start = Date.now();
  await until(() => Date.now() - start > 600);
  t.assert.ok(pool.holding, 'kept while a buffer is out');
  pool.give(b!);
  t.assert.ok(await until(() => !pool.holding), 'let go once all came back');
  const next = pool.take();
  t.assert.ok(isPageAligned(next) && next !== a && next !== b, 'a new block after that');
});

/** Node `a` (a member only) and node `b` serving the node API over `makeStore` (default: a DiskStore). */
async function pair(
  t: TestContext,
  makeStore?: (nodeUuid: string) => Promise<ChunkStore>,
): Promise<{ a: Member; b: ApiNode }> {
  const a = await member(0);
  const b = await member(1);
  const store = await makeStore?.(b.uuid);
  const node = await startNode(t, b, [a, b], { host: '127.0.0.3', ...(store ? { store } : {}) });
  return { a, b: node };
}

/** Puts each size from `a` to `b` and checks the chunk file, its sidecar and a read over the wire. */
async function putAndCheck(t: TestContext, a: Member, b: ApiNode, root: string, cached: boolean) {
  const aToB = await remoteStore(t, a, b);
  for (const size of SIZES) {
    const uuid = newUuid();
    const bytes = testBytes(size);
    t.assert.strictEqual(await put(aToB, uuid, bytes, { meta: { uploader: a.uuid } }), 'created');
    const path = chunkPath(root, uuid);
    if (!cached) {
      // Written direct: nothing of the file in the page cache but a tail that is not whole pages.
      const tail = size % 4096 === 0 ? 0 : Math.ceil((size % MiB) / 4096) * 4096;
      const resident = await residentBytes(path);
      if (resident !== undefined)
        t.assert.ok(resident <= tail, `${resident} bytes of ${size} in the page cache`);
    }
    t.assert.strictEqual((await stat(path)).size, size);
    t.assert.ok((await readFile(path)).equals(bytes), `chunk of ${size} bytes on disk`);
    t.assert.strictEqual((await b.store.head(uuid))?.sha256, sha256(bytes));
    t.assert.ok((await readAll(await aToB.get(uuid))).equals(bytes), `chunk of ${size} bytes over the wire`);
  }
}

test('a put through the node API is written past the page cache and arrives byte for byte', async (t: TestContext) => {
  const { a, b } = await pair(t);
  const root = b.storeDir!;
  await putAndCheck(t, a, b, root, !(await directIoWorks(root)));
});

test('a store on a tmpfs (/dev/shm) takes puts through the node API', async (t: TestContext) => {
  let dir: string;
  try {
    dir = await mkdtemp('/dev/shm/arozdfs-test-');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return t.skip('no /dev/shm here');
  }
  teardown(t).defer(() => rm(dir, { recursive: true, force: true }));
  const { a, b } = await pair(t, async (nodeUuid) => {
    const store = await DiskStore.create(join(dir, 'store'), nodeUuid);
    teardown(t).defer(() => store.close());
    return store;
  });
  await putAndCheck(t, a, b, join(dir, 'store'), true);
});
