import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { controlCall } from '../../src/control/client.ts';
import { isArozError } from '../../src/errors.ts';
import { NodeHome } from '../../src/home/open.ts';
import { Daemon } from '../../src/node/daemon.ts';
import { getJson } from '../../src/transport/client.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { pairAll, startTestnet, testnetTemplates } from '../helpers/testnet.ts';

const templates = testnetTemplates(2);

type Nodes = { nodes: Array<{ nodeUuid: string; state: string; address: string | null }> };

test('two paired daemons see each other online through the control socket', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b] = await startTestnet(t, homes);
  const { nodes } = (await controlCall(a!.home, 'GET', '/v1/cluster/nodes')) as Nodes;
  t.assert.strictEqual(nodes.length, 1);
  t.assert.strictEqual(nodes[0]?.nodeUuid, b!.uuid);
  t.assert.strictEqual(nodes[0]?.state, 'online');
  t.assert.strictEqual(nodes[0]?.address, `${b!.host}:${b!.daemon.server.address().port}`);
});

test('a node that trusts nobody lists no nodes', async (t: TestContext) => {
  const homes = await templates.homes(t);
  const [a] = await startTestnet(t, homes); // not paired at all
  t.assert.deepStrictEqual(((await controlCall(a!.home, 'GET', '/v1/cluster/nodes')) as Nodes).nodes, []);
});

test('revoking a peer through the control socket closes its live connection at once', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b] = await startTestnet(t, homes);
  const session = await b!.daemon.pool.session(a!.uuid);
  await getJson(session, '/v1/node', a!.uuid);
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  await controlCall(a!.home, 'DELETE', `/v1/peers/${b!.uuid}`);
  await closed;
  await t.assert.rejects(b!.daemon.pool.session(a!.uuid), (err) => isArozError(err, 'ERR_PEER_UNTRUSTED'));
  const audit = await NodeHome.open(a!.home).then((h) => h.paths.auditLog);
  t.assert.match(
    await import('node:fs/promises').then((fs) => fs.readFile(audit, 'utf8')),
    /"action":"revoke".*"from":"control-socket"/,
  );
});

test('a remote key file deleted by hand is noticed and the peer refused', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const [a, b] = await startTestnet(t, homes);
  const session = await b!.daemon.pool.session(a!.uuid);
  await getJson(session, '/v1/node', a!.uuid);
  const removed = new Promise<void>((resolve) => a!.daemon.trust.once('removed', () => resolve()));
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  await unlink(a!.daemon.trust.keyPath(b!.uuid));
  await removed;
  await closed;
  t.assert.strictEqual(a!.daemon.trust.get(b!.uuid), undefined);
  await t.assert.rejects(b!.daemon.pool.session(a!.uuid), (err) => isArozError(err, 'ERR_PEER_UNTRUSTED'));
});

test('a second daemon on the same home is refused and the first keeps running', async (t: TestContext) => {
  const homes = await templates.homes(t);
  const [a] = await startTestnet(t, homes.slice(0, 1));
  await t.assert.rejects(Daemon.start({ home: a!.home, listen: '127.0.0.9:0' }), (err) =>
    isArozError(err, 'ERR_DAEMON_RUNNING'),
  );
  t.assert.ok(await controlCall(a!.home, 'GET', '/v1/status'));
});

test('a new --store folder is made a store once and recorded; an unmounted one stays offline', async (t: TestContext) => {
  const homes = await templates.homes(t);
  const disk = join(await tmpDir(t), 'disk');
  const first = await Daemon.start({ home: homes[0]!, listen: '127.0.0.2:0', stores: [disk] });
  teardown(t).defer(() => first.close());
  const statuses = await first.stores.statuses();
  t.assert.deepStrictEqual(
    statuses.map((s) => [s.path, s.online]),
    [
      [join(homes[0]!, 'stores', 'default'), true],
      [disk, true],
    ],
  );
  t.assert.deepStrictEqual((await NodeHome.open(homes[0]!)).config.stores, [disk]);
  await first.close();
  // The disk is "unmounted": its folder is an empty mount point. It must not be written.
  await rm(disk, { recursive: true });
  await mkdir(disk);
  const second = await Daemon.start({ home: homes[0]!, listen: '127.0.0.2:0' });
  teardown(t).defer(() => second.close());
  const again = await second.stores.statuses();
  t.assert.strictEqual(again[1]?.online, false);
  t.assert.strictEqual(again[1]?.reason, 'missing-marker');
});

test('a non-empty folder that is not a store is refused as --store', async (t: TestContext) => {
  const homes = await templates.homes(t);
  const dir = await tmpDir(t);
  await writeFile(join(dir, 'photo.jpg'), 'x');
  await t.assert.rejects(Daemon.start({ home: homes[0]!, listen: '127.0.0.2:0', stores: [dir] }), (err) =>
    isArozError(err, 'ERR_STORE_EXISTS'),
  );
  t.assert.strictEqual((await NodeHome.open(homes[0]!)).config.stores, undefined);
});

test('the control socket and the web UI share one key-size policy: 5000 bits is refused', async (t: TestContext) => {
  const homes = await templates.homes(t);
  const [a] = await startTestnet(t, homes);
  await t.assert.rejects(controlCall(a!.home, 'POST', '/v1/keys', { bits: 5000 }), (err) =>
    isArozError(err, 'ERR_BAD_REQUEST'),
  );
  await t.assert.rejects(controlCall(a!.home, 'POST', '/v1/jobs', { kind: 'scrub', params: {} }), (err) =>
    isArozError(err, 'ERR_BAD_REQUEST'),
  );
});
