/**
 * A running daemon empties its own trash (docs/store.md, docs/config.md): a deleted chunk stays for
 * the grace period (node.json's `trashGraceSeconds`), then a pass at start or on the daemon's timer
 * removes it; a newer one stays. GET /v1/node, the status and `cluster nodes --json` show what the
 * trash holds. Real daemons, homes, TLS and disks; waits poll the state with a deadline.
 */
import { stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { NodeHome } from '../../src/home/open.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { getJson } from '../../src/transport/client.ts';
import { type NodeInfo, parseNodeInfo } from '../../src/transport/node-info.ts';
import { RemoteStore } from '../../src/transport/remote-store.ts';
import { newUuid } from '../../src/uuid.ts';
import { runCli } from '../helpers/cli.ts';
import { teardown } from '../helpers/context.ts';
import { pairAll, startTestnet, type TestNode, testnetTemplates } from '../helpers/testnet.ts';
import { until } from '../helpers/until.ts';
import { put } from '../store/helpers.ts';

const templates = testnetTemplates(2);
const HOUR_S = 3600;

async function withGrace(home: string, seconds: number): Promise<void> {
  await (await NodeHome.open(home)).updateConfig({ trashGraceSeconds: seconds });
}

/** Node `from` puts chunks of the given sizes on node `to` and deletes them again (into to's trash). */
async function putAndDelete(from: TestNode, to: TestNode, sizes: number[]): Promise<string[]> {
  const store = new RemoteStore(await from.daemon.pool.session(to.uuid), to.uuid);
  const uuids: string[] = [];
  for (const [k, size] of sizes.entries()) {
    const uuid = newUuid();
    await put(store, uuid, Buffer.alloc(size, k + 1), { meta: { uploader: from.uuid } });
    await store.delete(uuid, { by: from.uuid });
    uuids.push(uuid);
  }
  return uuids;
}

/** What node `to` answers on GET /v1/node, asked by node `from` over the cluster port. */
async function nodeInfo(from: TestNode, to: { uuid: string }): Promise<NodeInfo> {
  const session = await from.daemon.pool.session(to.uuid);
  return parseNodeInfo(await getJson(session, '/v1/node', to.uuid), to.uuid);
}

/** The `trash` of node `uuid` in `cluster nodes --json`, run as a real CLI process on `home`. */
async function listedTrash(t: TestContext, home: string, uuid: string): Promise<unknown> {
  const listed = await runCli(['--json', 'cluster', 'nodes'], { home });
  t.assert.strictEqual(listed.code, 0, listed.stderr);
  const nodes = (listed.lines().at(-1)?.['nodes'] ?? []) as Array<Record<string, unknown>>;
  return nodes.find((n) => n['nodeUuid'] === uuid)?.['trash'];
}

function trashFile(home: string, uuid: string): string {
  return join(home, 'stores', 'default', 'trash', uuid);
}

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

test('a daemon with a short configured grace period empties its trash by itself', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  await withGrace(homes[0]!, 1);
  const [a, b] = await startTestnet(t, homes);
  const [uuid] = await putAndDelete(b!, a!, [4000]);
  t.assert.strictEqual(await exists(trashFile(a!.home, uuid!)), true, 'the delete went to the trash');
  const info = await until('the trash of node a to be empty', async () => {
    const seen = await nodeInfo(b!, a!);
    return seen.trash?.chunks === 0 && seen.trash.bytes === 0 && seen.stores[0]?.used === 0 && seen;
  });
  t.assert.strictEqual(info.trash?.graceSeconds, 1);
  t.assert.notStrictEqual(info.trash?.purgedAt, null);
  t.assert.strictEqual(await exists(trashFile(a!.home, uuid!)), false);
});

test('trash older than the grace period is purged when the daemon starts, newer trash is kept; GET /v1/node and cluster nodes show it', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  await withGrace(homes[0]!, HOUR_S);
  const [a, b] = await startTestnet(t, homes);
  const [old, recent] = await putAndDelete(b!, a!, [3000, 5000]);
  const before = await until('both deletes to show in GET /v1/node', async () => {
    const seen = await nodeInfo(b!, a!);
    return seen.trash?.chunks === 2 && seen;
  });
  t.assert.deepStrictEqual(
    [before.trash?.bytes, before.trash?.graceSeconds, before.stores[0]?.trash],
    [8000, HOUR_S, { chunks: 2, bytes: 8000 }],
  );
  t.assert.deepStrictEqual(await listedTrash(t, b!.home, a!.uuid), { chunks: 2, bytes: 8000 });

  // The first chunk was deleted two hours ago, as far as the trash can tell; the second just now.
  await a!.daemon.close();
  const twoHoursAgo = new Date(Date.now() - 2 * HOUR_S * 1000);
  await utimes(trashFile(a!.home, old!), twoHoursAgo, twoHoursAgo);
  const again = await Daemon.start({ home: a!.home, listen: `${a!.host}:0`, discovery: false });
  teardown(t).defer(() => again.close(1_000));
  b!.daemon.addPeerAddress(a!.uuid, { host: a!.host, port: again.server.address().port });

  const after = await until('the start pass of the restarted node', async () => {
    const seen = await again.info();
    return seen.trash?.purgedAt !== null && seen.trash?.chunks === 1 && seen;
  });
  t.assert.deepStrictEqual(after.trash?.bytes, 5000);
  t.assert.deepStrictEqual(
    [await exists(trashFile(a!.home, old!)), await exists(trashFile(a!.home, recent!))],
    [false, true],
    'only the chunk past the grace period is gone',
  );
  const over = await nodeInfo(b!, a!);
  t.assert.deepStrictEqual([over.trash?.chunks, over.trash?.bytes], [1, 5000]);
  t.assert.deepStrictEqual(await listedTrash(t, b!.home, a!.uuid), { chunks: 1, bytes: 5000 });
});
