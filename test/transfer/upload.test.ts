import { open } from 'node:fs/promises';
import { type TestContext, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { isArozError } from '../../src/errors.ts';
import { encodeIndex, type IndexFile } from '../../src/index-file/index.ts';
import { verifyIndex } from '../../src/keys/index.ts';
import { fallbacks, spreadLists, target, targets } from '../../src/placement/index.ts';
import { chunkPath } from '../../src/store/disk-layout.ts';
import type { DiskStore } from '../../src/store/index.ts';
import { type RingLender, RingPool, type TransferNotice, uploadFile } from '../../src/transfer/index.ts';
import { directIoWorks, residentBytes } from '../helpers/direct-io.ts';
import { CHUNK, KiB, on, randomFile, sha256, type TestCluster, testCluster } from './helpers.ts';

/** Every holder of every chunk really holds it, with the bytes of the file at that offset. */
async function assertStored(t: TestContext, cluster: TestCluster, index: IndexFile, bytes: Buffer) {
  for (const chunk of index.chunks) {
    const holders = chunk.holders!.map((h) => h.node);
    t.assert.strictEqual(new Set(holders).size, holders.length, `chunk ${chunk.i}: distinct holders`);
    t.assert.strictEqual(chunk.sha256, sha256(bytes.subarray(chunk.offset, chunk.offset + chunk.size)));
    for (const node of holders) {
      const info = await cluster.store(node).inner.head(chunk.uuid);
      t.assert.strictEqual(info?.sha256, chunk.sha256, `chunk ${chunk.i} is on node ${node}`);
    }
  }
}

test('a file of exactly one chunk gets its chunk hash as the file hash; one byte more makes two chunks', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  for (const size of [CHUNK, CHUNK + 1, CHUNK - 1]) {
    const { path, bytes } = await randomFile(t, size);
    const index = await uploadFile(path, { ...on(cluster), chunkSize: CHUNK });
    t.assert.strictEqual(index.chunks.length, size > CHUNK ? 2 : 1, `${size} bytes`);
    t.assert.strictEqual(index.file.sha256, sha256(bytes), `${size} bytes`);
    await assertStored(t, cluster, index, bytes);
  }
});

test('a batch lends a file of one chunk a ring of 2 slots, and a file of several chunks one of 4', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  await using pool = new RingPool();
  const slots: number[] = [];
  const rings: RingLender = {
    borrow: (count, size) => {
      slots.push(count);
      return pool.borrow(count, size);
    },
    giveBack: (ring, clean) => pool.giveBack(ring, clean),
  };
  const chunkSize = 4 * 1024 * KiB;
  // 3.5 MiB: four 1 MiB pieces of one chunk go through the 2 slots.
  for (const size of [3.5 * 1024 * KiB, chunkSize + 1]) {
    const { path, bytes } = await randomFile(t, size);
    const index = await uploadFile(path, { ...on(cluster), chunkSize, rings });
    t.assert.strictEqual(index.file.sha256, sha256(bytes));
    await assertStored(t, cluster, index, bytes);
  }
  t.assert.deepStrictEqual(slots, [2, 4]);
});

test('erasure-coded and encrypted uploads write their pieces to a disk store past the page cache', async (t: TestContext) => {
  const cluster = await testCluster(t, 3, { disk: true });
  const chunkSize = 2 * 1024 * KiB;
  const { path } = await randomFile(t, 3 * chunkSize + 17, 'album.flac');
  const root = (node: string) => (cluster.store(node).inner as DiskStore).path;
  if (!(await directIoWorks(root(cluster.nodes[0]!)))) return t.skip('the temp folder refuses O_DIRECT');
  for (const [what, extra] of [
    ['EC 2+1', { ec: { data: 2, parity: 1 } }],
    ['--encrypt', { encrypt: { readers: [] } }],
  ] as const) {
    const index = await uploadFile(path, { ...on(cluster), chunkSize, ...extra });
    for (const chunk of index.chunks) {
      const pieces = chunk.shards ?? [{ uuid: chunk.uuid, holders: chunk.holders ?? [] }];
      for (const piece of pieces) {
        for (const { node } of piece.holders ?? []) {
          const resident = await residentBytes(chunkPath(root(node), piece.uuid));
          if (resident === undefined) return t.skip('fincore (util-linux) is not installed');
          // Only a piece's short tail goes through the page cache (before: every byte).
          t.assert.ok(resident <= 4096, `${what}: chunk ${chunk.i}: ${resident} bytes in the page cache`);
        }
      }
    }
  }
});

const GiB = 1024 ** 3;

async function chunkCount(cluster: TestCluster, node: string): Promise<number> {
  return (await cluster.store(node).inner.status()).chunks;
}

test('uploadFile() puts pass p of chunk i on list[(i + p) mod 3] and signs the index', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const { path, bytes } = await randomFile(t, 10 * CHUNK + 123);
  const index = await uploadFile(path, {
    nodes: cluster.nodes,
    chunkSize: CHUNK,
    connect: cluster.connect,
    self: cluster.self,
  });
  t.assert.strictEqual(index.chunks.length, 11);
  for (const chunk of index.chunks) {
    const expected = [0, 1].map((p) => ({ node: cluster.nodes[(chunk.i + p) % 3]! }));
    t.assert.deepStrictEqual(chunk.holders, expected, `chunk ${chunk.i}`);
  }
  await assertStored(t, cluster, index, bytes);
  t.assert.strictEqual(index.file.sha256, sha256(bytes));
  t.assert.strictEqual(index.file.size, bytes.length);
  t.assert.deepStrictEqual(index.cluster, cluster.nodes);
  t.assert.strictEqual(index.shift, 1);
  t.assert.strictEqual(index.createdBy, cluster.self.nodeUuid);
  t.assert.deepStrictEqual(index.redundancy, { scheme: 'replicas', copies: 2 });
  t.assert.strictEqual(verifyIndex(index, cluster.trusted).owner, cluster.self.nodeUuid);
  t.assert.ok(encodeIndex(index).length > 0, 'the index encodes (it passes every rule)');
  const info = await cluster.store(cluster.nodes[1]!).inner.head(index.chunks[0]!.uuid);
  t.assert.deepStrictEqual([info?.uploader, info?.indexId, info?.i], [cluster.self.nodeUuid, index.id, 0]);
});

test('uploadFile() refuses a shift that puts 2 copies on one node before sending anything', async (t: TestContext) => {
  const cluster = await testCluster(t, 4);
  const { path } = await randomFile(t, 3 * CHUNK);
  for (const shift of [0, 4]) {
    await t.assert.rejects(
      uploadFile(path, {
        nodes: cluster.nodes,
        shift,
        chunkSize: CHUNK,
        connect: cluster.connect,
        self: cluster.self,
      }),
      (err: unknown) => isArozError(err, 'ERR_PLACEMENT'),
    );
  }
  await t.assert.rejects(
    uploadFile(path, { ...on(cluster), shift: 2, copies: 3, chunkSize: CHUNK }),
    (err: unknown) => isArozError(err, 'ERR_PLACEMENT'),
  );
  t.assert.strictEqual(cluster.connects.size, 0, 'no node was even contacted');
});

test('a target dying mid-upload: its copies land on the next node, and the index says so', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const dying = cluster.nodes[1]!;
  cluster.store(dying).faults.dieAfterBytes = { bytes: 3 * CHUNK + 100, code: 'ERR_PEER_UNREACHABLE' };
  const { path, bytes } = await randomFile(t, 12 * CHUNK);
  const notices: TransferNotice[] = [];
  const index = await uploadFile(path, {
    nodes: cluster.nodes,
    chunkSize: CHUNK,
    connect: cluster.connect,
    self: cluster.self,
    onNotice: (n) => notices.push(n),
  });
  await assertStored(t, cluster, index, bytes);
  let moved = 0;
  for (const chunk of index.chunks) {
    const planned = [0, 1].map((p) => target(cluster.nodes, chunk.i, p, 1));
    const holders = chunk.holders!.map((h) => h.node);
    const stillThere = (await cluster.store(dying).inner.head(chunk.uuid)) !== undefined;
    for (const [p, node] of planned.entries()) {
      if (node !== dying || stillThere) {
        t.assert.strictEqual(holders[p], node, `chunk ${chunk.i} pass ${p} stayed on its target`);
        continue;
      }
      moved++;
      const next = fallbacks(cluster.nodes, chunk.i, p, 1, new Set(planned)).next().value;
      t.assert.strictEqual(holders[p], next, `chunk ${chunk.i} pass ${p} moved to the next node`);
    }
  }
  t.assert.ok(moved >= 4, `copies moved: ${moved}`);
  t.assert.ok(
    notices.some((n) => n.type === 'copy-moved' && n.node === dying && n.code === 'ERR_PEER_UNREACHABLE'),
  );
});

test('a full target (a DiskStore at its limit): the copy goes to the fallback node', async (t: TestContext) => {
  const cluster = await testCluster(t, 3, { disk: true, limit: 64 * KiB });
  const full = cluster.nodes[2]!;
  const filler = await randomFile(t, 62 * KiB);
  const w = await cluster.store(full).inner.beginPut('3c7e9b63-4d2e-4f80-8b3c-6d9e2f5a8b01', {
    size: filler.bytes.length,
    meta: { uploader: full },
  });
  await w.write(filler.bytes);
  await w.finish(sha256(filler.bytes));
  const { path, bytes } = await randomFile(t, 6 * CHUNK);
  const index = await uploadFile(path, { ...on(cluster), chunkSize: CHUNK });
  await assertStored(t, cluster, index, bytes);
  for (const chunk of index.chunks) {
    t.assert.ok(!chunk.holders!.some((h) => h.node === full), `chunk ${chunk.i} is not on the full node`);
  }
  t.assert.deepStrictEqual(index.chunks[1]!.holders, [
    { node: cluster.nodes[1]! },
    { node: cluster.nodes[0]! },
  ]);
  t.assert.strictEqual(await chunkCount(cluster, full), 1, 'only the filler');
});

test('ERR_BUSY is retried on the same node, not moved', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  cluster.store(cluster.nodes[1]!).faults.busyPuts = 3;
  const { path, bytes } = await randomFile(t, 4 * CHUNK);
  const notices: TransferNotice[] = [];
  const index = await uploadFile(path, {
    ...on(cluster),
    chunkSize: CHUNK,
    busy: { firstDelayMs: 1, maxDelayMs: 2 },
    onNotice: (n) => notices.push(n),
  });
  await assertStored(t, cluster, index, bytes);
  for (const chunk of index.chunks) {
    const expected = [0, 1].map((p) => ({ node: cluster.nodes[(chunk.i + p) % 3]! }));
    t.assert.deepStrictEqual(chunk.holders, expected);
  }
  t.assert.strictEqual(notices.filter((n) => n.type === 'busy').length, 3);
  t.assert.ok(!notices.some((n) => n.type === 'copy-moved'));
});

test('a target that stays busy mid-stream is asked again, then given up for the next node', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const busy = cluster.nodes[1]!;
  cluster.store(busy).faults.dieAfterBytes = { bytes: 2 * CHUNK + 10, code: 'ERR_BUSY' };
  const { path, bytes } = await randomFile(t, 4 * CHUNK);
  const notices: TransferNotice[] = [];
  const index = await uploadFile(path, {
    ...on(cluster),
    chunkSize: CHUNK,
    busy: { attempts: 3, firstDelayMs: 1, maxDelayMs: 2 },
    onNotice: (n) => notices.push(n),
  });
  await assertStored(t, cluster, index, bytes);
  const retries = notices.filter((n) => n.type === 'busy' && n.node === busy && n.i === 3);
  t.assert.deepStrictEqual(
    retries.map((n) => n.type === 'busy' && n.attempt),
    [1, 2],
  );
  t.assert.ok(notices.some((n) => n.type === 'copy-moved' && n.node === busy && n.code === 'ERR_BUSY'));
  t.assert.deepStrictEqual(index.chunks[3]!.holders, [
    { node: cluster.nodes[0]! },
    { node: cluster.nodes[2]! },
  ]);
});

test('uploadFile() fails with ERR_FILE_CHANGED when the file changes during the upload', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const { path } = await randomFile(t, 8 * CHUNK);
  cluster.store(cluster.nodes[0]!).faults.onFirstWrite = async () => {
    const fh = await open(path, 'r+');
    await fh.write(Buffer.from('changed'), 0, 7, 6 * CHUNK);
    await fh.close();
  };
  await t.assert.rejects(uploadFile(path, { ...on(cluster), chunkSize: CHUNK }), (err: unknown) =>
    isArozError(err, 'ERR_FILE_CHANGED'),
  );
  for (const node of cluster.nodes) {
    t.assert.strictEqual(await chunkCount(cluster, node), 0, 'the copies of a failed upload are removed');
  }
});

test('no node left to take a copy: ERR_NOT_ENOUGH_NODES, and the copies made are removed', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  cluster.down.add(cluster.nodes[1]!);
  cluster.down.add(cluster.nodes[2]!);
  const { path } = await randomFile(t, 3 * CHUNK);
  await t.assert.rejects(uploadFile(path, { ...on(cluster), chunkSize: CHUNK }), (err: unknown) =>
    isArozError(err, 'ERR_NOT_ENOUGH_NODES'),
  );
  t.assert.strictEqual(await chunkCount(cluster, cluster.nodes[0]!), 0);
});

test('a frozen target is given up after its no-progress timeout and the copy moves', async (t: TestContext) => {
  const cluster = await testCluster(t, 4);
  const frozen = cluster.nodes[1]!;
  cluster.store(frozen).faults.frozen = true;
  const { path, bytes } = await randomFile(t, 5 * CHUNK);
  const index = await uploadFile(path, { ...on(cluster), chunkSize: CHUNK, idleMs: 500 });
  await assertStored(t, cluster, index, bytes);
  t.assert.ok(index.chunks.every((c) => !c.holders!.some((h) => h.node === frozen)));
});

test('pieces are never reused before every target wrote them (random data, slow targets)', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  for (const store of cluster.stores.values()) store.faults.slowMs = 3;
  const { path, bytes } = await randomFile(t, 150 * CHUNK + 77);
  const notices: TransferNotice[] = [];
  const index = await uploadFile(path, {
    ...on(cluster),
    chunkSize: CHUNK,
    parallel: 4,
    onNotice: (n) => notices.push(n),
  });
  t.assert.deepStrictEqual(notices, [], 'no copy failed its hash check');
  await assertStored(t, cluster, index, bytes);
  t.assert.strictEqual(index.file.sha256, sha256(bytes));
});

test('a re-sent copy is read again from the file, piece by piece (chunks of several pieces)', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const chunkSize = 2 * 1024 * 1024 + 4 * KiB;
  cluster.store(cluster.nodes[1]!).faults.dieAfterBytes = { bytes: 3 * 1024 * 1024, code: 'ERR_NO_SPACE' };
  for (const store of cluster.stores.values()) store.faults.slowMs = 2;
  const { path, bytes } = await randomFile(t, 2 * chunkSize + 5000);
  const index = await uploadFile(path, { ...on(cluster), chunkSize });
  await assertStored(t, cluster, index, bytes);
  t.assert.deepStrictEqual(index.chunks[1]!.holders, [
    { node: cluster.nodes[0]! },
    { node: cluster.nodes[2]! },
  ]);
});

test('a copy moved off a full node reaches the last node even when its other target is held up mid-chunk', async (t: TestContext) => {
  // The interleaving behind a once-flaky run of the test above: chunk 1's pieces are all handed to its
  // target nodes[2] before the first of them reaches the store. Writes are queued, so the copy must
  // still match its SHA-256; only the copy on the full nodes[1] moves (to nodes[0]).
  const cluster = await testCluster(t, 3);
  const chunkSize = 2 * 1024 * 1024 + 4 * KiB;
  cluster.store(cluster.nodes[1]!).faults.dieAfterBytes = { bytes: 3 * 1024 * 1024, code: 'ERR_NO_SPACE' };
  const held = cluster.store(cluster.nodes[2]!);
  held.faults.onFirstWrite = async () => {
    while (held.writeCalls < 3) await tick();
  };
  const { path, bytes } = await randomFile(t, 2 * chunkSize + 5000);
  const notices: TransferNotice[] = [];
  const index = await uploadFile(path, { ...on(cluster), chunkSize, onNotice: (n) => notices.push(n) });
  await assertStored(t, cluster, index, bytes);
  t.assert.deepStrictEqual(
    notices.map((n) => n.type === 'copy-moved' && [n.i, n.pass, n.node, n.code]),
    [[1, 0, cluster.nodes[1]!, 'ERR_NO_SPACE']],
  );
  t.assert.deepStrictEqual(index.chunks[1]!.holders, [
    { node: cluster.nodes[0]! },
    { node: cluster.nodes[2]! },
  ]);
});

test('uploadFile() with free space spreads each chunk by its own list and gives a full node no copy', async (t: TestContext) => {
  const cluster = await testCluster(t, 5);
  const { path, bytes } = await randomFile(t, 30 * CHUNK + 7);
  // Node 3 is full (0 bytes), node 4 has less room than one chunk: neither may get a copy.
  const free = [10 * GiB, 10 * GiB, 5 * GiB, 0, CHUNK - 1];
  const index = await uploadFile(path, { ...on(cluster), free, chunkSize: CHUNK });
  const usable = cluster.nodes.slice(0, 3).map((node, k) => ({ node, free: free[k]! }));
  const lists = spreadLists(usable, index.id, 2, 1);
  const used = new Set<string>();
  for (const chunk of index.chunks) {
    const expected = targets(lists(chunk.i), 0, 1, 2);
    t.assert.deepStrictEqual(
      chunk.holders,
      expected.map((node) => ({ node })),
      `chunk ${chunk.i}`,
    );
    for (const node of expected) used.add(node);
  }
  t.assert.deepStrictEqual(
    [...used].sort(),
    cluster.nodes.slice(0, 3),
    'all three nodes with room take copies',
  );
  for (const node of cluster.nodes.slice(3)) t.assert.strictEqual(await chunkCount(cluster, node), 0);
  t.assert.deepStrictEqual(index.cluster, cluster.nodes);
  await assertStored(t, cluster, index, bytes);
});

test('uploadFile() with free space: fewer nodes with room than copies is ERR_NOT_ENOUGH_NODES before sending anything', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const { path } = await randomFile(t, 3 * CHUNK);
  await t.assert.rejects(
    uploadFile(path, { ...on(cluster), free: [GiB, 0, CHUNK - 1], chunkSize: CHUNK }),
    (err) => isArozError(err, 'ERR_NOT_ENOUGH_NODES'),
  );
  await t.assert.rejects(uploadFile(path, { ...on(cluster), free: [GiB, GiB], chunkSize: CHUNK }), (err) =>
    isArozError(err, 'ERR_PLACEMENT'),
  );
  await t.assert.rejects(
    uploadFile(path, { ...on(cluster), free: [GiB, GiB, -1], chunkSize: CHUNK }),
    (err) => isArozError(err, 'ERR_PLACEMENT'),
  );
  for (const node of cluster.nodes) t.assert.strictEqual(cluster.store(node).written, 0);
  // An empty file has no chunk: it is stored (as an index) even when every node is full.
  const empty = await randomFile(t, 0, 'empty.bin');
  const index = await uploadFile(empty.path, { ...on(cluster), free: [0, 0, 0], chunkSize: CHUNK });
  t.assert.deepStrictEqual(index.chunks, []);
});

test('uploadFile() with free space: small files start on different nodes', async (t: TestContext) => {
  const cluster = await testCluster(t, 4);
  const free = cluster.nodes.map(() => GiB);
  const used = new Set<string>();
  for (let f = 0; f < 10; f++) {
    const { path } = await randomFile(t, 1000, `photo-${f}.jpg`);
    const index = await uploadFile(path, { ...on(cluster), free, chunkSize: CHUNK });
    for (const holder of index.chunks[0]!.holders!) used.add(holder.node);
  }
  // Today's rule put every one on nodes[0] and nodes[1]; 10 files on one pair of 4 nodes: p ≈ 1e-7.
  t.assert.ok(used.size > 2, `holders: ${[...used].join(', ')}`);
});
