import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { checkIndex } from '../../src/check/index.ts';
import { ChunkOpener, ChunkSealer, newFileKey } from '../../src/crypto/index.ts';
import { isArozError } from '../../src/errors.ts';
import {
  decodeIndex,
  encodeIndex,
  type IndexFile,
  isSealed,
  validateIndex,
} from '../../src/index-file/index.ts';
import { signIndex } from '../../src/keys/index.ts';
import type { KeyPair } from '../../src/keys/rsa.ts';
import { chunkPath } from '../../src/store/disk-layout.ts';
import { downloadFile, uploadFile } from '../../src/transfer/index.ts';
import { tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { CHUNK, on, randomFile, sha256, type TestCluster, testCluster } from './helpers.ts';

const readerOf = (node: string, pair: KeyPair) => ({
  node,
  fingerprint: pair.fingerprint,
  publicKey: pair.publicKey,
});

async function sealedUpload(
  t: TestContext,
  n: number,
  size: number,
  extra: { ec?: { data: number; parity: number } } = {},
) {
  const cluster = await testCluster(t, n, { disk: true });
  const other = await testKeyPair(1);
  const { path, bytes } = await randomFile(t, size, 'diary.txt');
  const reader = cluster.nodes[1]!;
  const index = await uploadFile(path, {
    ...on(cluster),
    chunkSize: CHUNK,
    encrypt: { readers: [readerOf(reader, other)] },
    ...extra,
  });
  const dir = await tmpDir(t);
  let k = 0;
  const download = (as: { node: string; pair: KeyPair }, idx: IndexFile = index) =>
    downloadFile(idx, {
      connect: cluster.connect,
      trusted: cluster.trusted,
      onlineNodes: () => cluster.nodes,
      out: join(dir, `out-${k++}.txt`),
      reader: { node: as.node, keys: [as.pair] },
      idleMs: 2_000,
    });
  return { cluster, index, bytes, download, other, reader };
}

/** Every stored object of the index, as its holder's disk store keeps it. */
async function storedFiles(cluster: TestCluster, index: IndexFile): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const chunk of index.chunks) {
    const objects = chunk.shards ?? [{ uuid: chunk.uuid, holders: chunk.holders! }];
    for (const o of objects) {
      for (const h of o.holders) {
        const status = await cluster.store(h.node).status();
        out.push(await readFile(chunkPath(status.path!, o.uuid)));
      }
    }
  }
  return out;
}

/** The longest run of the source's bytes found in `stored`, when over 16 bytes (windows of 17). */
function plaintextRuns(source: Buffer, stored: Buffer[]): number {
  const windows = new Set<string>();
  for (let k = 0; k + 17 <= source.length; k++) windows.add(source.toString('latin1', k, k + 17));
  let found = 0;
  for (const bytes of stored) {
    for (let k = 0; k + 17 <= bytes.length; k++)
      if (windows.has(bytes.toString('latin1', k, k + 17))) found++;
  }
  return found;
}

test('upload --encrypt: index version 2 with the file key wrapped for the uploader and each reader; no plaintext run over 16 bytes on any disk; the uploader and a reader download bit-exact', async (t: TestContext) => {
  const size = 4 * CHUNK + 321;
  const { cluster, index, bytes, download, other, reader } = await sealedUpload(t, 3, size);
  t.assert.strictEqual(index.version, 2);
  t.assert.deepStrictEqual(decodeIndex(encodeIndex(index)), index);
  t.assert.deepStrictEqual(
    index.encryption!.keys.map((k) => [k.node, k.key]),
    [
      [cluster.self.nodeUuid, cluster.self.keyPair.fingerprint],
      [reader, other.fingerprint],
    ],
  );
  const stored = await storedFiles(cluster, index);
  t.assert.strictEqual(stored.length, index.chunks.length * 2);
  // Each chunk is stored sealed: ciphertext and tag, and its index hash is of those bytes.
  t.assert.strictEqual(stored[0]!.length, CHUNK + 16);
  t.assert.strictEqual(sha256(stored[0]!), index.chunks[0]!.sha256);
  t.assert.strictEqual(plaintextRuns(Buffer.from(bytes), stored), 0);
  // Storage nodes, check and repair verify the sealed copies without the key.
  const deep = await checkIndex(index, { connect: cluster.connect, trusted: cluster.trusted, deep: true });
  t.assert.strictEqual(deep.summary.healthy, index.chunks.length);
  const mine = await download({ node: cluster.self.nodeUuid, pair: cluster.self.keyPair });
  t.assert.deepStrictEqual(await readFile(mine.out), Buffer.from(bytes));
  const theirs = await download({ node: reader, pair: other });
  t.assert.deepStrictEqual(await readFile(theirs.out), Buffer.from(bytes));
});

test('a node not among the readers cannot decrypt: ERR_NOT_A_READER (also with a listed node but another key)', async (t: TestContext) => {
  const { cluster, download, other, reader } = await sealedUpload(t, 3, 2 * CHUNK);
  const outsider = await testKeyPair(2);
  await t.assert.rejects(download({ node: cluster.nodes[2]!, pair: outsider }), (err) =>
    isArozError(err, 'ERR_NOT_A_READER'),
  );
  await t.assert.rejects(download({ node: reader, pair: outsider }), (err) =>
    isArozError(err, 'ERR_NOT_A_READER'),
  );
  // The reader's own key, claimed by another node, opens nothing either.
  await t.assert.rejects(download({ node: cluster.nodes[2]!, pair: other }), (err) =>
    isArozError(err, 'ERR_NOT_A_READER'),
  );
});

test('a tampered ciphertext fails authentication: ERR_DECRYPT_FAILED, even when a forged index matches its hash', async (t: TestContext) => {
  const key = newFileKey();
  const plain = Buffer.from('the quick brown fox jumps over the lazy dog, twice over');
  const sealer = new ChunkSealer(key, 'a-file', 3);
  const sealed = Buffer.alloc(plain.length);
  sealer.update(plain, sealed);
  const tag = sealer.final();
  const clean = new ChunkOpener(key, 'a-file', 3, 'Chunk 3');
  t.assert.deepStrictEqual(clean.update(sealed), plain);
  clean.final(tag);
  sealed[5]! ^= 0x01;
  const opener = new ChunkOpener(key, 'a-file', 3, 'Chunk 3');
  opener.update(sealed);
  t.assert.throws(
    () => opener.final(tag),
    (err) => isArozError(err, 'ERR_DECRYPT_FAILED'),
  );
  // Moved to another position (same key): the nonce and associated data differ.
  sealed[5]! ^= 0x01;
  const moved = new ChunkOpener(key, 'a-file', 4, 'Chunk 4');
  moved.update(sealed);
  t.assert.throws(
    () => moved.final(tag),
    (err) => isArozError(err, 'ERR_DECRYPT_FAILED'),
  );

  // On the cluster: every copy of chunk 1 tampered, and an index re-signed to match their hash.
  const { cluster, index, download } = await sealedUpload(t, 3, 3 * CHUNK);
  const chunk = index.chunks[1]!;
  let tampered = '';
  for (const h of chunk.holders!) {
    const status = await cluster.store(h.node).status();
    const fh = await open(chunkPath(status.path!, chunk.uuid), 'r+');
    const all = await fh.readFile();
    all[10]! ^= 0xff;
    await fh.write(all, 0, all.length, 0);
    await fh.close();
    tampered = sha256(all);
  }
  const forged = structuredClone(index);
  forged.chunks[1]!.sha256 = tampered;
  const signed = validateIndex(signIndex(forged, cluster.self.keyPair));
  await t.assert.rejects(
    download({ node: cluster.self.nodeUuid, pair: cluster.self.keyPair }, signed),
    (err) => isArozError(err, 'ERR_DECRYPT_FAILED'),
  );
  // With the true index, the tampered copies are corrupt copies: nothing wrong is written out.
  await t.assert.rejects(download({ node: cluster.self.nodeUuid, pair: cluster.self.keyPair }), (err) =>
    isArozError(err, 'ERR_CHUNK_MISSING'),
  );
});

test('--encrypt with --ec 2+1: shards of the sealed chunks, no plaintext on disk; with a node down the download is bit-exact', async (t: TestContext) => {
  const { cluster, index, bytes, download } = await sealedUpload(t, 3, 3 * CHUNK + 99, {
    ec: { data: 2, parity: 1 },
  });
  t.assert.deepStrictEqual([index.version, index.redundancy.scheme], [2, 'rs']);
  t.assert.strictEqual(index.chunks[0]!.shards![0]!.size, (CHUNK + 16) / 2);
  t.assert.strictEqual(plaintextRuns(Buffer.from(bytes), await storedFiles(cluster, index)), 0);
  for (const node of cluster.nodes) {
    cluster.down.clear();
    cluster.down.add(node);
    const result = await download({ node: cluster.self.nodeUuid, pair: cluster.self.keyPair });
    t.assert.deepStrictEqual(await readFile(result.out), Buffer.from(bytes));
  }
});

test('index version 2 needs its encryption member; in version 1 it is an unknown field; version 3 is ERR_INDEX_VERSION', async (t: TestContext) => {
  const { index } = await sealedUpload(t, 3, CHUNK);
  const edited = (edit: (x: Record<string, unknown>) => void) => {
    const copy = structuredClone(index) as unknown as Record<string, unknown>;
    delete copy.signature;
    edit(copy);
    return () => validateIndex(copy);
  };
  const invalid = (err: unknown) => isArozError(err, 'ERR_INDEX_INVALID');
  t.assert.throws(
    edited((x) => delete x.encryption),
    invalid,
  );
  // In a version 1 index the same member is an unknown field: kept, never read as encryption.
  const v1 = structuredClone(index) as unknown as Record<string, unknown>;
  delete v1.signature;
  v1.version = 1;
  t.assert.strictEqual(isSealed(validateIndex(v1)), false);
  t.assert.throws(
    edited((x) => ((x.encryption as { alg: string }).alg = 'none')),
    invalid,
  );
  t.assert.throws(
    edited((x) => ((x.encryption as { keys: unknown[] }).keys = [])),
    invalid,
  );
  t.assert.throws(
    edited((x) => (x.version = 3)),
    (err) => isArozError(err, 'ERR_INDEX_VERSION'),
  );
});

test('a target that dies mid-chunk: its shard or sealed copy is made again from the file for a fallback node, and the file downloads bit-exact', async (t: TestContext) => {
  for (const ec of [undefined, { data: 2, parity: 1 }]) {
    const cluster = await testCluster(t, 4, { disk: true });
    const { path, bytes } = await randomFile(t, 3 * CHUNK + 77, 'moved.bin');
    const dying = cluster.nodes[1]!;
    cluster.store(dying).faults.dieAfterBytes = { bytes: CHUNK / 2, code: 'ERR_STORE_OFFLINE' };
    const notices: string[] = [];
    const index = await uploadFile(path, {
      ...on(cluster),
      chunkSize: CHUNK,
      encrypt: { readers: [] },
      ...(ec !== undefined ? { ec } : {}),
      onNotice: (n) => notices.push(n.type),
    });
    t.assert.ok(notices.includes('copy-moved'), 'a piece moved');
    const placed = index.chunks.flatMap((c) =>
      (c.shards ?? [c]).flatMap((o) => (o.holders ?? []).map((h) => h.node)),
    );
    t.assert.ok(
      placed.filter((n) => n === dying).length < index.chunks.length,
      'not every piece on the dying node',
    );
    const out = join(await tmpDir(t), 'moved.out');
    await downloadFile(index, {
      connect: cluster.connect,
      trusted: cluster.trusted,
      out,
      reader: { node: cluster.self.nodeUuid, keys: [cluster.self.keyPair] },
    });
    t.assert.deepStrictEqual(await readFile(out), Buffer.from(bytes));
  }
});
