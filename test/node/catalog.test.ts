/**
 * The catalog wired into the daemon (docs/catalog.md) on an in-process 3-node testnet: an upload is
 * listed on every node, a node that joins after the uploader is gone learns its files from the
 * others, a statement forged by one trusted node in another's name is refused over
 * the cluster port (logged once, never stored), and the catalog endpoints refuse bad queries.
 */
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { signStatement } from '../../src/catalog/index.ts';
import { isArozError } from '../../src/errors.ts';
import { getJson } from '../../src/transport/client.ts';
import { randomFile } from '../cli/transfer-cluster.ts';
import { tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';

const templates = testnetTemplates(3);
const CHUNK = 64 * 1024;

async function cluster(t: TestContext, logs?: string[][]): Promise<TestNode[]> {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes: TestNode[] = [];
  // One start per node so each gets its own log.
  for (const [i, home] of homes.entries()) {
    const log = logs?.[i];
    const [node] = await startTestnet(t, [home], {
      catalogSyncMs: 200,
      heartbeatMs: 500,
      ...(log !== undefined ? { log: (line: string) => log.push(line) } : {}),
    });
    nodes.push(node!);
  }
  return nodes;
}

/** startTestnet puts node i on 127.0.0.2 each time: tell every node where the others are. */
function connect(nodes: TestNode[]): void {
  for (const node of nodes) {
    for (const other of nodes) {
      if (other !== node)
        node.daemon.addPeerAddress(other.uuid, {
          host: other.host,
          port: other.daemon.server.address().port,
        });
    }
  }
}

async function upload(t: TestContext, node: TestNode, name = 'a.bin') {
  const file = join(await tmpDir(t), name);
  await randomFile(file, 3 * CHUNK + 17);
  const job = await node.daemon.jobs.submit('upload', { file, chunkSize: CHUNK });
  const done = await node.daemon.jobs.wait(job.id, { signal: t.signal ?? AbortSignal.timeout(60_000) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  return (done.result as { id: string }).id;
}

test('an upload is listed on every node, with its uploader', async (t: TestContext) => {
  const nodes = await cluster(t);
  connect(nodes);
  const id = await upload(t, nodes[0]!);
  for (const node of nodes) {
    const file = await until(`node ${node.uuid} to list the file`, () =>
      node.daemon.ops.catalog.list().find((f) => f.id === id),
    );
    t.assert.strictEqual(file.uploader, nodes[0]!.uuid);
    t.assert.strictEqual(file.mine, node === nodes[0]);
    t.assert.strictEqual(file.uploaderName, 'node0');
    t.assert.strictEqual(file.size, 3 * CHUNK + 17);
  }
});

test('a node that joins after the uploader is gone learns its files from the others (relayed statements)', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const start = async (home: string) =>
    (await startTestnet(t, [home], { catalogSyncMs: 200, heartbeatMs: 500 }))[0]!;
  const a = await start(homes[0]!);
  const b = await start(homes[1]!);
  connect([a, b]);
  const id = await upload(t, a);
  await until('node b to list the file', () => b.daemon.ops.catalog.list().some((f) => f.id === id));
  await a.daemon.close();
  const c = await start(homes[2]!);
  connect([b, c]);
  const file = await until('node c to list the file, relayed by node b', () =>
    c.daemon.ops.catalog.list().find((f) => f.id === id),
  );
  t.assert.strictEqual(file.uploader, a.uuid);
  t.assert.strictEqual(c.daemon.catalog.store.indexOf(id)?.createdBy, a.uuid);
});

test("a statement forged by one trusted node in another node's name is refused over the wire, logged once, never stored", async (t: TestContext) => {
  const logs: string[][] = [[], [], []];
  const nodes = await cluster(t, logs);
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  // Node a puts into its own catalog a holdings statement in node c's name, signed with a's key.
  const forged = signStatement(
    { kind: 'holdings', signer: c.uuid, seq: Date.now() + 1e9, file: c.uuid, body: { chunks: [] } },
    await a.daemon.home.activeKeyPair(),
  );
  const bytes = Buffer.from(JSON.stringify(forged));
  a.daemon.catalog.store.apply([{ statement: forged, bytes }]);
  t.assert.strictEqual(a.daemon.catalog.store.maxSeq(c.uuid), forged.seq);
  b.daemon.addPeerAddress(a.uuid, { host: a.host, port: a.daemon.server.address().port });
  const line = await until('node b to refuse the forged statement', () =>
    logs[1]!.find((l) => l.includes('ERR_CATALOG_SIGNATURE')),
  );
  t.assert.match(line, new RegExp(c.uuid));
  t.assert.strictEqual(b.daemon.catalog.store.maxSeq(c.uuid), 0);
  // Later rounds ask again and are refused again, but the refusal is logged once.
  await b.daemon.catalog.sync(a.uuid);
  await b.daemon.catalog.sync(a.uuid);
  t.assert.strictEqual(logs[1]!.filter((l) => l.includes('ERR_CATALOG_SIGNATURE')).length, 1);
  t.assert.strictEqual(b.daemon.catalog.store.maxSeq(c.uuid), 0);
});

test('the statements endpoint refuses a bad signer, a bad limit and an unknown parameter', async (t: TestContext) => {
  const nodes = await cluster(t);
  connect(nodes);
  const [a, b] = nodes as [TestNode, TestNode];
  const session = await b.daemon.pool.session(a.uuid);
  const codes: string[] = [];
  for (const query of ['signer=nope', `signer=${a.uuid}&limit=0`, `signer=${a.uuid}&x=1`]) {
    await getJson(session, `/v1/catalog/statements?${query}`, a.uuid).then(
      () => codes.push('ok'),
      (err: unknown) => codes.push(isArozError(err) ? err.code : String(err)),
    );
  }
  t.assert.deepStrictEqual(codes, ['ERR_INVALID_UUID', 'ERR_BAD_REQUEST', 'ERR_BAD_REQUEST']);
  // The announcement of new statements is a POST: a GET of it is no endpoint.
  await t.assert.rejects(getJson(session, '/v1/catalog/changed', a.uuid), (err: unknown) =>
    isArozError(err, 'ERR_ROUTE_NOT_FOUND'),
  );
});

test('new statements are announced: a node holding nothing of a file lists it long before its next periodic pull', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const nodes: TestNode[] = [];
  // An hour between periodic pulls: within this test, only the announcement can bring the file.
  for (const home of homes)
    nodes.push((await startTestnet(t, [home], { catalogSyncMs: 3_600_000, heartbeatMs: 500 }))[0]!);
  connect(nodes);
  const [a, b, c] = nodes as [TestNode, TestNode, TestNode];
  // c's first pull from a comes with its session; the upload's statement comes after it.
  await c.daemon.catalog.sync(a.uuid);
  // What the web UI's Files page listens for: a `files` event when the catalog changed.
  const events: string[] = [];
  const unsubscribe = c.daemon.ops.events((event) => events.push(event.type));
  t.after(unsubscribe);
  const file = join(await tmpDir(t), 'late.bin');
  await randomFile(file, CHUNK + 5);
  const job = await a.daemon.jobs.submit('upload', { file, chunkSize: CHUNK, nodes: [a.uuid, b.uuid] });
  const done = await a.daemon.jobs.wait(job.id, { signal: t.signal ?? AbortSignal.timeout(60_000) });
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  const id = (done.result as { id: string }).id;
  await until('node c to list the file', () => c.daemon.ops.catalog.list().find((f) => f.id === id));
  await until('node c to tell its listeners that the files changed', () => events.includes('files'));
  // A deletion travels the same way.
  await a.daemon.ops.catalog.remove(id, 'cli');
  await until('node c to drop the file', () => !c.daemon.ops.catalog.list().some((f) => f.id === id));
});
