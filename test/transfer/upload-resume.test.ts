import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { FileUploadJournal, uploadFile } from '../../src/transfer/index.ts';
import { tmpDir } from '../helpers/context.ts';
import { CHUNK, randomFile, sha256, testCluster } from './helpers.ts';

test('a resumed upload sends only the copies its journal does not confirm', async (t: TestContext) => {
  const cluster = await testCluster(t, 3);
  const { path, bytes } = await randomFile(t, 20 * CHUNK + 999);
  const journal = new FileUploadJournal(join(await tmpDir(t), 'upload.jsonl'));
  t.after(() => journal.close());
  const options = { nodes: cluster.nodes, chunkSize: CHUNK, connect: cluster.connect, self: cluster.self };
  const controller = new AbortController();
  await t.assert.rejects(
    uploadFile(path, {
      ...options,
      journal,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.chunksDone >= 6) controller.abort();
      },
    }),
    (err: unknown) => isArozError(err, 'ERR_INTERRUPTED'),
  );
  const state = await journal.load();
  t.assert.ok(state !== undefined, 'the plan was journaled');
  const recorded = new Set(state.copies.map((c) => `${c.i}/${c.pass}`));
  t.assert.ok(recorded.size >= 12 && recorded.size < 42, `copies journaled: ${recorded.size}`);
  // One journaled copy disappears meanwhile: the resume must notice (head) and send it again.
  const lost = state.copies[0]!;
  const lostUuid = state.plan.chunks[lost.i]!.uuid;
  await cluster.store(lost.node).inner.delete(lostUuid, { by: cluster.self.nodeUuid });
  recorded.delete(`${lost.i}/${lost.pass}`);
  for (const store of cluster.stores.values()) store.written = 0;

  const index = await uploadFile(path, { ...options, journal });
  const sizeOf = (i: number) => Math.min(CHUNK, bytes.length - i * CHUNK);
  let expected = 0;
  for (const chunk of state.plan.chunks) {
    for (const pass of [0, 1]) if (!recorded.has(`${chunk.i}/${pass}`)) expected += sizeOf(chunk.i);
  }
  const sent = [...cluster.stores.values()].reduce((sum, store) => sum + store.written, 0);
  t.assert.strictEqual(sent, expected, 'bytes sent by the resumed run = the copies not confirmed');
  t.assert.ok(sent < 2 * bytes.length);
  t.assert.strictEqual(index.id, state.plan.indexId);
  t.assert.deepStrictEqual(
    index.chunks.map((c) => c.uuid),
    state.plan.chunks.map((c) => c.uuid),
  );
  t.assert.strictEqual(index.file.sha256, sha256(bytes), 'the whole-file hash covers the chunks sent before');
  for (const chunk of index.chunks) {
    for (const { node } of chunk.holders!) {
      const info = await cluster.store(node).inner.head(chunk.uuid);
      t.assert.strictEqual(info?.sha256, chunk.sha256);
    }
  }
});

test('a resumed upload of a file that changed since is refused with ERR_FILE_CHANGED', async (t: TestContext) => {
  const cluster = await testCluster(t, 2);
  const { path } = await randomFile(t, 6 * CHUNK);
  const journal = new FileUploadJournal(join(await tmpDir(t), 'upload.jsonl'));
  t.after(() => journal.close());
  const options = { nodes: cluster.nodes, chunkSize: CHUNK, connect: cluster.connect, self: cluster.self };
  const controller = new AbortController();
  await t.assert.rejects(
    uploadFile(path, {
      ...options,
      journal,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.chunksDone >= 2) controller.abort();
      },
    }),
    (err: unknown) => isArozError(err, 'ERR_INTERRUPTED'),
  );
  await utimes(path, new Date(), new Date(Date.now() + 5000));
  await t.assert.rejects(uploadFile(path, { ...options, journal }), (err: unknown) =>
    isArozError(err, 'ERR_FILE_CHANGED'),
  );
  await t.assert.rejects(uploadFile(path, { ...options, shift: 3, journal }), (err: unknown) =>
    isArozError(err, 'ERR_JOURNAL_INVALID'),
  );
});

test('a resumed spread upload keeps the free space its plan was made with; other free space is ERR_JOURNAL_INVALID', async (t: TestContext) => {
  const cluster = await testCluster(t, 4);
  const { path, bytes } = await randomFile(t, 12 * CHUNK + 5);
  const journal = new FileUploadJournal(join(await tmpDir(t), 'upload.jsonl'));
  t.after(() => journal.close());
  const free = [3 * CHUNK * 1000, 2 * CHUNK * 1000, CHUNK * 1000, 0];
  const options = {
    nodes: cluster.nodes,
    free,
    chunkSize: CHUNK,
    connect: cluster.connect,
    self: cluster.self,
  };
  const controller = new AbortController();
  await t.assert.rejects(
    uploadFile(path, {
      ...options,
      journal,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.chunksDone >= 3) controller.abort();
      },
    }),
    (err: unknown) => isArozError(err, 'ERR_INTERRUPTED'),
  );
  const state = await journal.load();
  t.assert.deepStrictEqual(state?.plan.free, free);
  await t.assert.rejects(
    uploadFile(path, { ...options, free: free.map((f) => f + CHUNK), journal }),
    (err: unknown) => isArozError(err, 'ERR_JOURNAL_INVALID'),
  );
  const index = await uploadFile(path, { ...options, journal });
  t.assert.strictEqual(index.id, state?.plan.indexId);
  t.assert.strictEqual(index.file.sha256, sha256(bytes));
  for (const chunk of index.chunks) {
    const planned: string[] | undefined = state?.plan.chunks[chunk.i]?.targets;
    t.assert.deepStrictEqual(
      chunk.holders?.map((h) => h.node),
      planned,
    );
    t.assert.ok(!planned?.includes(cluster.nodes[3]!), 'the full node has no copy');
  }
});
