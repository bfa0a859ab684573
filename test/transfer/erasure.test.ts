import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { checkIndex } from '../../src/check/index.ts';
import { isArozError } from '../../src/errors.ts';
import { decodeIndex, encodeIndex, type IndexFile, validateIndex } from '../../src/index-file/index.ts';
import { chunkPath } from '../../src/store/disk-layout.ts';
import { downloadFile, FileUploadJournal, uploadFile } from '../../src/transfer/index.ts';
import { tmpDir } from '../helpers/context.ts';
import { CHUNK, KiB, on, randomFile, sha256, type TestCluster, testCluster } from './helpers.ts';

async function ecUploaded(
  t: TestContext,
  n: number,
  data: number,
  parity: number,
  size: number,
  stores: { disk?: boolean } = {},
) {
  const cluster = await testCluster(t, n, stores);
  const { path, bytes } = await randomFile(t, size, 'movie.mkv');
  const index = await uploadFile(path, { ...on(cluster), chunkSize: CHUNK, ec: { data, parity } });
  const dir = await tmpDir(t);
  let k = 0;
  const download = (extra: { idleMs?: number } = {}) =>
    downloadFile(index, {
      connect: cluster.connect,
      trusted: cluster.trusted,
      onlineNodes: () => cluster.nodes,
      out: join(dir, `out-${k++}.mkv`),
      ...extra,
    });
  return { cluster, index, bytes, download };
}

/** Flips one byte of a stored object in its disk store's file. */
async function flipByte(cluster: TestCluster, node: string, uuid: string) {
  const status = await cluster.store(node).status();
  const fh = await open(chunkPath(status.path!, uuid), 'r+');
  try {
    const one = Buffer.alloc(1);
    await fh.read(one, 0, 1, 100);
    one[0] = one[0]! ^ 0xff;
    await fh.write(one, 0, 1, 100);
  } finally {
    await fh.close();
  }
}

/** Deletes shard `k` of chunk `i` from its holder. */
async function dropShard(cluster: TestCluster, index: IndexFile, i: number, k: number) {
  const shard = index.chunks[i]!.shards![k]!;
  await cluster.store(shard.holders[0]!.node).inner.delete(shard.uuid, { by: cluster.self.nodeUuid });
}

test('upload --ec 2+1 on 3 nodes: K + M shards per chunk on distinct nodes, each with its SHA-256; download is bit-exact', async (t: TestContext) => {
  const size = 5 * CHUNK + 777;
  const { cluster, index, bytes, download } = await ecUploaded(t, 3, 2, 1, size);
  t.assert.deepStrictEqual(index.redundancy, { scheme: 'rs', data: 2, parity: 1 });
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
  let stored = 0;
  for (const chunk of index.chunks) {
    t.assert.strictEqual(chunk.holders, undefined);
    const shards = chunk.shards!;
    t.assert.strictEqual(shards.length, 3);
    t.assert.strictEqual(new Set(shards.map((s) => s.holders[0]!.node)).size, 3);
    t.assert.strictEqual(shards[0]!.size, Math.ceil(chunk.size / 2));
    for (const s of shards) {
      const store = cluster.store(s.holders[0]!.node);
      const info = await store.head(s.uuid);
      t.assert.strictEqual(info?.sha256, s.sha256);
      stored += s.size;
    }
  }
  // 1.5× the file's bytes, not 2×.
  t.assert.ok(stored <= size * 1.5 + index.chunks.length * 2);
  const result = await download();
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
  t.assert.deepStrictEqual(result.problems, []);
});

test('any M nodes of K+M killed: the download is bit-exact (4+2 on 6 nodes, every pair)', async (t: TestContext) => {
  const { cluster, bytes, download } = await ecUploaded(t, 6, 4, 2, 3 * CHUNK + 1234);
  const nodes = cluster.nodes;
  for (let a = 0; a < nodes.length; a++) {
    for (let b = a + 1; b < nodes.length; b++) {
      cluster.down.clear();
      cluster.down.add(nodes[a]!);
      cluster.down.add(nodes[b]!);
      const result = await download();
      t.assert.strictEqual(sha256(await readFile(result.out)), sha256(bytes), `nodes ${a} and ${b} down`);
    }
  }
});

test('a stripe larger than one unit: a 2 MiB chunk of 3+2 with data shards 0 and 2 gone rebuilds bit-exact', async (t: TestContext) => {
  const cluster = await testCluster(t, 5);
  const { path, bytes } = await randomFile(t, 2 * 1024 * KiB + 4321, 'big.bin');
  const index = await uploadFile(path, {
    ...on(cluster),
    chunkSize: 2 * 1024 * KiB,
    ec: { data: 3, parity: 2 },
  });
  await dropShard(cluster, index, 0, 0);
  await dropShard(cluster, index, 0, 2);
  const out = join(await tmpDir(t), 'big.bin');
  const result = await downloadFile(index, { connect: cluster.connect, trusted: cluster.trusted, out });
  t.assert.deepStrictEqual(await readFile(out), bytes);
  t.assert.deepStrictEqual(
    result.problems.map((p) => p.code),
    ['ERR_CHUNK_MISSING', 'ERR_CHUNK_MISSING'],
  );
});

test('K − 1 shards left: ERR_DATA_LOST naming every such chunk', async (t: TestContext) => {
  const { cluster, index, download } = await ecUploaded(t, 3, 2, 1, 5 * CHUNK);
  for (const i of [1, 3]) {
    await dropShard(cluster, index, i, 0);
    await dropShard(cluster, index, i, 2);
  }
  await t.assert.rejects(download(), (err) => {
    t.assert.ok(isArozError(err, 'ERR_DATA_LOST'));
    t.assert.match(err.message, /chunks 1, 3 /);
    return true;
  });
});

test('a flipped byte in a shard: the download drops that shard, rebuilds from the others and reports it', async (t: TestContext) => {
  const { cluster, index, bytes, download } = await ecUploaded(t, 3, 2, 1, 3 * CHUNK);
  const bad = index.chunks[1]!.shards![0]!.holders[0]!.node;
  cluster.store(bad).faults.corrupt = true;
  const result = await download();
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
  t.assert.ok(result.problems.length > 0);
  for (const p of result.problems) t.assert.deepStrictEqual([p.node, p.code], [bad, 'ERR_CHUNK_HASH']);
});

test('an "rs" index: validated shard by shard; a reader that knows only "replicas" refuses it with ERR_INDEX_SCHEME', async (t: TestContext) => {
  const { index } = await ecUploaded(t, 3, 2, 1, 2 * CHUNK + 5);
  const broken = (edit: (x: IndexFile) => void) => {
    const copy = structuredClone(index);
    delete copy.signature;
    edit(copy);
    return () => validateIndex(copy);
  };
  const invalid = (err: unknown) => isArozError(err, 'ERR_INDEX_INVALID');
  t.assert.throws(
    broken((x) => x.chunks[0]!.shards!.pop()),
    invalid,
  );
  t.assert.throws(
    broken((x) => {
      x.chunks[0]!.shards![1]!.size += 1;
    }),
    invalid,
  );
  t.assert.throws(
    broken((x) => {
      x.chunks[1]!.shards![0]!.uuid = x.chunks[0]!.uuid;
    }),
    invalid,
  );
  t.assert.throws(
    broken((x) => {
      x.chunks[0]!.holders = [{ node: x.cluster![0]! }];
    }),
    invalid,
  );
  t.assert.throws(
    broken((x) => Object.assign(x.redundancy, { parity: 0 })),
    invalid,
  );
  // What a v1 reader of before erasure coding does: the scheme is judged before any chunk.
  t.assert.throws(
    broken((x) => Object.assign(x.redundancy, { scheme: 'rs2' })),
    (err) => isArozError(err, 'ERR_INDEX_SCHEME'),
  );
});

test('check understands shards: degraded with a shard gone, lost below K, a flipped byte found by a deep check', async (t: TestContext) => {
  const { cluster, index } = await ecUploaded(t, 3, 2, 1, 4 * CHUNK, { disk: true });
  const options = { connect: cluster.connect, trusted: cluster.trusted };
  const healthy = await checkIndex(index, options);
  t.assert.deepStrictEqual(healthy.summary, {
    chunks: 4,
    healthy: 4,
    degraded: 0,
    mismatch: 0,
    unknown: 0,
    lost: 0,
  });
  t.assert.deepStrictEqual(
    healthy.chunks[0]!.holders.map((h) => h.shard),
    [0, 1, 2],
  );
  await dropShard(cluster, index, 1, 2);
  await dropShard(cluster, index, 2, 0);
  await dropShard(cluster, index, 2, 1);
  const shard = index.chunks[3]!.shards![1]!;
  await flipByte(cluster, shard.holders[0]!.node, shard.uuid);
  const shallow = await checkIndex(index, options);
  t.assert.deepStrictEqual(
    shallow.chunks.map((c) => c.health),
    ['healthy', 'degraded', 'lost', 'healthy'],
  );
  const deep = await checkIndex(index, { ...options, deep: true });
  t.assert.deepStrictEqual(
    deep.chunks.map((c) => c.health),
    ['healthy', 'degraded', 'lost', 'degraded'],
  );
  const bad = deep.chunks[3]!.holders.find((h) => h.state !== 'ok');
  t.assert.deepStrictEqual([bad?.shard, bad?.state], [1, 'corrupt']);
});

test('an interrupted --ec upload resumes from its journal: same index id and shard names, each shard stored once', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const { path, bytes } = await randomFile(t, 6 * CHUNK, 'resumed.bin');
  const journal = new FileUploadJournal(join(await tmpDir(t), 'upload.jsonl'));
  const stop = new AbortController();
  const options = { ...on(cluster), chunkSize: CHUNK, ec: { data: 2, parity: 1 }, journal, parallel: 1 };
  await t.assert.rejects(
    uploadFile(path, {
      ...options,
      signal: stop.signal,
      onProgress: (p) => {
        if (p.chunksDone >= 2) stop.abort();
      },
    }),
    (err) => isArozError(err, 'ERR_INTERRUPTED'),
  );
  const first = (await journal.load())!.plan;
  const index = await uploadFile(path, options);
  t.assert.strictEqual(index.id, first.indexId);
  t.assert.deepStrictEqual(
    index.chunks.map((c) => c.uuid),
    first.chunks.map((c) => c.uuid),
  );
  let objects = 0;
  for (const store of cluster.stores.values()) objects += (await store.status()).chunks;
  t.assert.strictEqual(objects, index.chunks.length * 3);
  const out = join(await tmpDir(t), 'resumed.out');
  await downloadFile(index, { connect: cluster.connect, trusted: cluster.trusted, out });
  t.assert.strictEqual(sha256(await readFile(out)), sha256(bytes));
});
