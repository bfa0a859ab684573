/**
 * Cluster services through real daemons: live resolution after a node moves to a new address, and
 * LAN discovery on loopback (mDNS bound to 127.0.0.1 on a random port: nothing reaches the real
 * network).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { controlCall } from '../../src/control/client.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';

const templates = testnetTemplates(3);

/** Starts `node`'s home again on `host`, knowing only `knows`'s address (its own record does the rest). */
async function moveNode(t: TestContext, node: TestNode, host: string, knows: TestNode): Promise<Daemon> {
  const moved = await Daemon.start({
    home: node.home,
    listen: `${host}:0`,
    discovery: false,
    heartbeatMs: 500,
  });
  teardown(t).defer(() => moved.close(1_000));
  moved.addPeerAddress(knows.uuid, { host: knows.host, port: knows.daemon.server.address().port });
  return moved;
}

test('a node restarted on a new address is resolved there by the others within 10 s', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b, c] = await startTestnet(t, homes, { heartbeatMs: 500 });
  // Everyone has met B at 127.0.0.3, and holds its signed record.
  await until("A and C hold B's record", async () =>
    a!.daemon.cluster.book.resolve(b!.uuid)?.record && c!.daemon.cluster.book.resolve(b!.uuid)?.record
      ? true
      : undefined,
  );
  const oldSeq = a!.daemon.cluster.book.resolve(b!.uuid)!.record!.seq;
  await b!.daemon.close();
  // B comes back on 127.0.0.5, knowing only A's address. C is told nothing.
  await moveNode(t, b!, '127.0.0.5', a!);
  const started = Date.now();
  const resolved = await until('C resolves B at 127.0.0.5', async () => {
    const r = (await controlCall(c!.home, 'GET', `/v1/cluster/resolve/${b!.uuid}`)) as {
      address: string;
      seq: number;
    };
    return r.address.startsWith('127.0.0.5:') ? r : undefined;
  });
  t.assert.ok(Date.now() - started < 10_000);
  t.assert.ok(resolved.seq > oldSeq, "the restarted node's record is newer: its seq survived the restart");
  const viaA = (await controlCall(a!.home, 'GET', `/v1/cluster/resolve/${b!.uuid}`)) as { address: string };
  t.assert.match(viaA.address, /^127\.0\.0\.5:/);
});

test('nodes see each other on loopback mDNS; trusted and untrusted are told apart', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes.slice(0, 2)); // node 2 stays unpaired
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const discovery = { interface: '127.0.0.1', bind: '0.0.0.0', port };
  const [a, b, c] = await startTestnet(t, homes, { discovery, heartbeatMs: 60_000 });
  type Seen = { enabled: boolean; nodes: Array<{ nodeUuid: string; trust: string }> };
  const seen = await until('A sees B and C', async () => {
    const found = (await controlCall(a!.home, 'GET', '/v1/cluster/discover')) as Seen;
    const uuids = new Set(found.nodes.map((n) => n.nodeUuid));
    return uuids.has(b!.uuid) && uuids.has(c!.uuid) ? found : undefined;
  });
  const trustOf = (uuid: string) => seen.nodes.find((n) => n.nodeUuid === uuid)?.trust;
  t.assert.strictEqual(trustOf(b!.uuid), 'trusted');
  t.assert.strictEqual(trustOf(c!.uuid), 'untrusted');
  // Being visible gives no trust: the unpaired node is not in the cluster.
  const { nodes } = (await controlCall(a!.home, 'GET', '/v1/cluster/nodes')) as {
    nodes: Array<{ nodeUuid: string }>;
  };
  t.assert.deepStrictEqual(
    nodes.map((n) => n.nodeUuid),
    [b!.uuid],
  );
});

test('a file stored before a node moved is downloaded from its new address', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b, c] = await startTestnet(t, homes, { heartbeatMs: 500 });
  const dir = await tmpDir(t);
  const file = join(dir, 'data.bin');
  const bytes = testBytes(6 * 64 * 1024 + 123);
  await writeFile(file, bytes);
  const index = join(dir, 'data.index.json');
  // Every chunk on B and C; then C dies and B comes back on another address.
  const up = await a!.daemon.jobs.submit('upload', {
    file,
    chunkSize: 64 * 1024,
    nodes: [b!.uuid, c!.uuid],
    index,
  });
  t.assert.strictEqual((await a!.daemon.jobs.wait(up.id)).state, 'done');
  await c!.daemon.close();
  await b!.daemon.close();
  await moveNode(t, b!, '127.0.0.5', a!);
  // A is told nothing: B's signed record, sent when B dials A, is how A learns the new address.
  await until("A holds B's new record", async () =>
    a!.daemon.cluster.book.resolve(b!.uuid)?.record?.addresses.some((x) => x.host === '127.0.0.5')
      ? true
      : undefined,
  );
  const out = join(dir, 'back.bin');
  const down = await a!.daemon.jobs.submit('download', { index, out });
  const done = await a!.daemon.jobs.wait(down.id);
  t.assert.strictEqual(done.state, 'done', JSON.stringify(done.error));
  t.assert.ok((await readFile(out)).equals(bytes));
});
