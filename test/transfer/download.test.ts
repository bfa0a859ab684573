import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import type { BufferRing } from '../../src/chunk/ring.ts';
import { type ErrorCode, isArozError } from '../../src/errors.ts';
import type { IndexFile } from '../../src/index-file/index.ts';
import { signerKeys, signIndex } from '../../src/keys/index.ts';
import type { MemoryStore } from '../../src/store/index.ts';
import { FETCH_SLOT } from '../../src/transfer/fetch.ts';
import { downloadFile, type RingLender, RingPool, uploadFile } from '../../src/transfer/index.ts';
import { tmpDir } from '../helpers/context.ts';
import { directIoWorks, residentBytes } from '../helpers/direct-io.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { CHUNK, on, randomFile, type TestCluster, testCluster, uploaded } from './helpers.ts';

const holder = (index: IndexFile, i: number, p: number) => index.chunks[i]!.holders![p]!.node;

test('downloadFile() rebuilds the file byte for byte from disk stores, leaving no temp file', async (t: TestContext) => {
  const { index, bytes, dir, options } = await uploaded(t, 3, 40 * CHUNK + 17, { disk: true });
  const result = await downloadFile(index, options({ parallel: 3 }));
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
  t.assert.deepStrictEqual(result.problems, []);
  t.assert.strictEqual(result.fetched, index.chunks.length);
  t.assert.strictEqual(result.signer?.fingerprint, index.signature?.key);
  t.assert.deepStrictEqual(await readdir(dir), ['out.mkv']);
});

test('a download writes its whole pieces past the page cache and reads them back the same way', async (t: TestContext) => {
  const { index, bytes, dir, options } = await uploaded(t, 3, 40 * CHUNK + 17);
  const result = await downloadFile(index, options({ parallel: 3 }));
  const resident = await residentBytes(result.out); // before anything else reads the file
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
  if (!(await directIoWorks(dir))) return t.skip('the temp folder refuses O_DIRECT');
  if (resident === undefined) return t.skip('fincore (util-linux) is not installed');
  // Only the last, short piece went through the page cache (one page); neither the 40 whole chunks
  // written nor their read-back for the whole-file hash left any there.
  t.assert.ok(resident <= 4096, `${resident} bytes of the file are in the page cache`);
});

test('erasure-coded and encrypted downloads write their whole pieces past the page cache too', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  // 2 MiB chunks: whole 256 KiB stripe units for 2+1, and whole 1 MiB pieces for a sealed copy.
  const chunkSize = 2 * 1024 * 1024;
  const { path, bytes } = await randomFile(t, 3 * chunkSize + 17, 'album.flac');
  const dir = await tmpDir(t);
  const self = { node: cluster.self.nodeUuid, keys: [cluster.self.keyPair] };
  for (const [what, extra] of [
    ['EC 2+1', { ec: { data: 2, parity: 1 } }],
    ['--encrypt', { encrypt: { readers: [] } }],
    ['EC 2+1 --encrypt', { ec: { data: 2, parity: 1 }, encrypt: { readers: [] } }],
  ] as const) {
    const index = await uploadFile(path, { ...on(cluster), chunkSize, ...extra });
    const out = join(dir, `${what.replaceAll(/\W+/g, '-')}.flac`);
    const result = await downloadFile(index, {
      connect: cluster.connect,
      trusted: cluster.trusted,
      onlineNodes: () => cluster.nodes,
      out,
      reader: self,
    });
    const resident = await residentBytes(result.out); // before anything else reads the file
    t.assert.deepStrictEqual(await readFile(result.out), bytes, what);
    if (!(await directIoWorks(dir))) return t.skip('the temp folder refuses O_DIRECT');
    if (resident === undefined) return t.skip('fincore (util-linux) is not installed');
    // Only the last chunk's 17 bytes went through the page cache (before: all 6 MiB).
    t.assert.ok(resident <= 4096, `${what}: ${resident} bytes of the file are in the page cache`);
  }
});

test('downloads lent one pool reuse its fetch rings, and a file of one chunk is not read back', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const chunkSize = 64 * 1024;
  const dir = await tmpDir(t);
  const one = await randomFile(t, chunkSize - 3, 'one.jpg');
  const three = await randomFile(t, 2 * chunkSize + 9, 'three.jpg');
  const [oneIndex, threeIndex] = [
    await uploadFile(one.path, { ...on(cluster), chunkSize }),
    await uploadFile(three.path, { ...on(cluster), chunkSize }),
  ];
  t.assert.strictEqual(oneIndex.chunks[0]?.sha256, oneIndex.file.sha256);
  await using pool = new RingPool();
  const lent: BufferRing[] = [];
  const rings: RingLender = {
    borrow: (slots, size) => {
      const ring = pool.borrow(slots, size);
      lent.push(ring);
      return ring;
    },
    giveBack: (ring, clean) => pool.giveBack(ring, clean),
  };
  const download = (index: IndexFile, out: string) =>
    downloadFile(index, { connect: cluster.connect, trusted: cluster.trusted, out: join(dir, out), rings });
  for (let k = 0; k < 4; k++) {
    const result = await download(oneIndex, `one-${k}.jpg`);
    t.assert.deepStrictEqual(await readFile(result.out), one.bytes);
  }
  // Four files of one chunk, one after another: one fetch ring, lent four times; no read-back ring.
  t.assert.strictEqual(lent.length, 4);
  t.assert.strictEqual(new Set(lent).size, 1);
  t.assert.strictEqual(lent[0]?.slotSize, FETCH_SLOT);
  lent.length = 0;
  const result = await download(threeIndex, 'three.jpg');
  t.assert.deepStrictEqual(await readFile(result.out), three.bytes);
  // Three chunks are read back in order for the file's hash: that ring is lent too.
  t.assert.ok(
    lent.some((ring) => ring.slotSize !== FETCH_SLOT),
    'a read-back ring was lent',
  );
});

test('a file of one chunk whose signed index gives the file another SHA-256: ERR_FILE_HASH, nothing kept', async (t: TestContext) => {
  const { cluster, index, dir, options } = await uploaded(t, 3, CHUNK - 1);
  t.assert.strictEqual(index.chunks.length, 1);
  const wrong = signIndex(
    { ...index, file: { ...index.file, sha256: 'cd'.repeat(32) } },
    cluster.self.keyPair,
  );
  await t.assert.rejects(downloadFile(wrong, options()), (err: unknown) => isArozError(err, 'ERR_FILE_HASH'));
  t.assert.deepStrictEqual(await readdir(dir), []);
});

test('one bad holder (missing, offline, unknown, frozen, corrupt): the other copy is used and the bad one reported', async (t: TestContext) => {
  const cases: Array<[string, ErrorCode, (c: TestCluster, index: IndexFile) => Promise<void>]> = [
    [
      'missing',
      'ERR_CHUNK_MISSING',
      async (c, index) => {
        const node = holder(index, 1, 0);
        await c.store(node).inner.delete(index.chunks[1]!.uuid, { by: c.self.nodeUuid });
      },
    ],
    [
      'offline',
      'ERR_STORE_OFFLINE',
      async (c, index) => {
        (c.store(holder(index, 1, 0)).inner as MemoryStore).setOnline(false);
      },
    ],
    [
      'unknown',
      'ERR_PEER_NOT_FOUND',
      async (c, index) => {
        c.stores.delete(holder(index, 1, 0));
      },
    ],
    [
      'frozen',
      'ERR_TIMEOUT',
      async (c, index) => {
        c.store(holder(index, 1, 0)).faults.frozen = true;
      },
    ],
    [
      'corrupt',
      'ERR_CHUNK_HASH',
      async (c, index) => {
        c.store(holder(index, 1, 0)).faults.corrupt = true;
      },
    ],
  ];
  for (const [name, code, breakIt] of cases) {
    await t.test(name, async (t: TestContext) => {
      const { cluster, index, bytes, options } = await uploaded(t);
      await breakIt(cluster, index);
      const bad = holder(index, 1, 0);
      const result = await downloadFile(index, options({ idleMs: 500 }));
      t.assert.deepStrictEqual(await readFile(result.out), bytes);
      t.assert.ok(result.problems.length > 0);
      for (const problem of result.problems) {
        t.assert.deepStrictEqual([problem.node, problem.code], [bad, code]);
      }
      t.assert.ok(result.problems.some((p) => p.i === 1 && p.uuid === index.chunks[1]!.uuid));
    });
  }
});

test('when every holder fails, another online node that has the chunk is asked', async (t: TestContext) => {
  const { cluster, index, bytes, options } = await uploaded(t, 4);
  const chunk = index.chunks[2]!;
  const extra = cluster.nodes.find((n) => !chunk.holders!.some((h) => h.node === n))!;
  const reader = await cluster.store(holder(index, 2, 0)).inner.get(chunk.uuid);
  const copy = await cluster.store(extra).inner.beginPut(chunk.uuid, {
    size: chunk.size,
    meta: { uploader: cluster.self.nodeUuid },
  });
  for await (const piece of reader) await copy.write(piece);
  await copy.finish(chunk.sha256);
  for (const { node } of chunk.holders!) {
    await cluster.store(node).inner.delete(chunk.uuid, { by: cluster.self.nodeUuid });
  }
  const result = await downloadFile(index, options());
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
  t.assert.deepStrictEqual(
    result.problems.map((p) => [p.i, p.code]),
    [
      [2, 'ERR_CHUNK_MISSING'],
      [2, 'ERR_CHUNK_MISSING'],
    ],
  );
});

test('a chunk nobody has: ERR_CHUNK_MISSING with every holder answer, and nothing left behind', async (t: TestContext) => {
  const { cluster, index, dir, options } = await uploaded(t);
  const chunk = index.chunks[3]!;
  await cluster.store(holder(index, 3, 0)).inner.delete(chunk.uuid, { by: cluster.self.nodeUuid });
  cluster.down.add(holder(index, 3, 1));
  await t.assert.rejects(downloadFile(index, options()), (err: unknown) => {
    t.assert.ok(isArozError(err, 'ERR_CHUNK_MISSING'));
    const answers = (err.cause as AggregateError).errors.map((e: { code: string }) => e.code);
    t.assert.deepStrictEqual(answers.slice(0, 2), ['ERR_CHUNK_MISSING', 'ERR_PEER_UNREACHABLE']);
    t.assert.match(err.message, new RegExp(`chunk 3 \\("${chunk.uuid}"\\)`));
    return true;
  });
  t.assert.deepStrictEqual(await readdir(dir), []);
});

test('downloadFile() refuses an unsigned, tampered or unknown-signer index unless allowed', async (t: TestContext) => {
  const { cluster, index, bytes, dir, options } = await uploaded(t);
  const { signature: _signature, ...unsigned } = index;
  const tampered = { ...index, chunks: index.chunks.map((c, i) => (i === 0 ? { ...c, holders: [] } : c)) };
  tampered.chunks[0]!.holders = [{ node: cluster.nodes[2]! }];
  const stranger = signIndex(index, await testKeyPair(1));
  const strangerOnly = signerKeys({ nodeUuid: cluster.self.nodeUuid, keys: [await testKeyPair(1)] }, []);
  cluster.connects.clear();
  for (const [bad, trusted] of [
    [unsigned, cluster.trusted],
    [tampered, cluster.trusted],
    [stranger, cluster.trusted],
    [index, strangerOnly],
  ] as const) {
    await t.assert.rejects(downloadFile(bad, options({ trusted })), (err: unknown) =>
      isArozError(err, 'ERR_INDEX_UNTRUSTED'),
    );
  }
  t.assert.strictEqual(cluster.connects.size, 0, 'no node was asked for anything');
  t.assert.deepStrictEqual(await readdir(dir), []);
  const result = await downloadFile(unsigned, options({ allowUntrusted: true }));
  t.assert.strictEqual(result.signer, undefined);
  t.assert.deepStrictEqual(await readFile(result.out), bytes);
});

test('downloadFile() keeps an existing output unless forced', async (t: TestContext) => {
  const { index, bytes, options } = await uploaded(t);
  const { out } = options();
  await writeFile(out!, 'old');
  await t.assert.rejects(downloadFile(index, options()), (err: unknown) =>
    isArozError(err, 'ERR_OUTPUT_EXISTS'),
  );
  t.assert.strictEqual(await readFile(out!, 'utf8'), 'old');
  await downloadFile(index, options({ force: true }));
  t.assert.deepStrictEqual(await readFile(out!), bytes);
});

test('a whole-file SHA-256 that differs from a signed index: ERR_FILE_HASH, nothing kept', async (t: TestContext) => {
  const { cluster, index, dir, options } = await uploaded(t);
  const wrong = signIndex(
    { ...index, file: { ...index.file, sha256: 'ab'.repeat(32) } },
    cluster.self.keyPair,
  );
  await t.assert.rejects(downloadFile(wrong, options()), (err: unknown) => isArozError(err, 'ERR_FILE_HASH'));
  t.assert.deepStrictEqual(await readdir(dir), []);
});

test('an empty file downloads as an empty file', async (t: TestContext) => {
  const { index, options } = await uploaded(t, 3, 0);
  t.assert.strictEqual(index.chunks.length, 0);
  const result = await downloadFile(index, options());
  t.assert.strictEqual((await readFile(result.out)).length, 0);
});
