/**
 * A removed uploader's files stay readable (docs/pairing.md "Removing a node"): after `peers remove`
 * of a dead uploader, the indexes the catalog accepted from it while it was trusted are checked with
 * its retired key, so a download by id needs no `--allow-untrusted-index` and is bit-exact; anything
 * newly signed by that node — a catalog statement, another index — is still refused. `--compromised`
 * retires nothing: its files' indexes are untrusted again.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { applyBatch, encodeStatement, signStatement } from '../../src/catalog/index.ts';
import { openHome } from '../../src/home/open.ts';
import { encodeIndex } from '../../src/index-file/index.ts';
import { signIndex } from '../../src/keys/index.ts';
import { randomFile, sha256 } from '../cli/transfer-cluster.ts';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';

const templates = testnetTemplates(3);
const CHUNK = 64 * 1024;
const OPTIONS = { catalogSyncMs: 200, heartbeatMs: 500, repair: { intervalMs: 0 } };

function signal(t: TestContext): AbortSignal {
  return t.signal ?? AbortSignal.timeout(120_000);
}

async function download(t: TestContext, node: TestNode, params: Record<string, unknown>) {
  const out = join(await tmpDir(t), 'out.bin');
  const job = await node.daemon.jobs.submit('download', { out, force: false, idleMs: 5_000, ...params });
  const done = await node.daemon.jobs.wait(job.id, { signal: signal(t) });
  return { done, out };
}

test('after a dead uploader is removed, its files download bit-exact without --allow-untrusted-index; what it signs anew is refused', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes = await startTestnet(t, homes, OPTIONS);
  const [up, a, b] = nodes as [TestNode, TestNode, TestNode];
  const file = join(await tmpDir(t), 'file.bin');
  const bytes = await randomFile(file, 3 * CHUNK + 11);
  const job = await up.daemon.jobs.submit('upload', { file, chunkSize: CHUNK, copies: 3 });
  const uploaded = await up.daemon.jobs.wait(job.id, { signal: signal(t) });
  t.assert.strictEqual(uploaded.state, 'done', JSON.stringify(uploaded.error));
  const id = (uploaded.result as { id: string }).id;
  for (const node of [a, b])
    await until('the file reaches nodes a and b', () => node.daemon.catalog.store.indexOf(id));

  // The uploader dies; a person removes it on a (retired) and on b (compromised).
  await up.daemon.close(1_000);
  await a.daemon.ops.peers.remove(up.uuid, 'cli');
  await b.daemon.ops.peers.remove(up.uuid, 'cli', undefined, { compromised: true });

  const onA = await download(t, a, { file: id, allowUntrusted: false });
  t.assert.strictEqual(onA.done.state, 'done', JSON.stringify(onA.done.error));
  t.assert.strictEqual(sha256(await readFile(onA.out)), sha256(bytes));
  const report = await a.daemon.ops.check.file(id, { signal: signal(t) });
  t.assert.strictEqual(report.trusted, true);

  const onB = await download(t, b, { file: id, allowUntrusted: false });
  t.assert.strictEqual(onB.done.state, 'failed');
  t.assert.strictEqual(onB.done.error?.code, 'ERR_INDEX_UNTRUSTED');

  // The removed node's key signs something new: a tombstone of its file, and a changed index.
  const key = await (await openHome(up.home)).activeKeyPair();
  const index = a.daemon.catalog.store.indexOf(id)!;
  const tombstone = signStatement(
    {
      kind: 'tombstone',
      signer: up.uuid,
      seq: a.daemon.catalog.store.maxSeq(up.uuid) + 1,
      file: id,
      body: { revision: index.revision ?? 0, deletedAt: new Date().toISOString() },
    },
    key,
  );
  const result = applyBatch(a.daemon.catalog.store, a.daemon.catalog.keys, [encodeStatement(tombstone)], {
    signer: up.uuid,
    after: a.daemon.catalog.store.maxSeq(up.uuid),
  });
  t.assert.strictEqual(result.refused[0]?.code, 'ERR_CATALOG_UNTRUSTED');
  t.assert.notStrictEqual(a.daemon.catalog.store.getFile(id), undefined, 'still listed');

  const changed = join(await tmpDir(t), 'changed.json');
  await writeFile(
    changed,
    encodeIndex(signIndex({ ...index, file: { ...index.file, name: 'other.bin' } }, key)),
  );
  const forged = await download(t, a, { index: changed, allowUntrusted: false });
  t.assert.strictEqual(forged.done.state, 'failed');
  t.assert.strictEqual(forged.done.error?.code, 'ERR_INDEX_UNTRUSTED');
});
