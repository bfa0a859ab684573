import { type TestContext, test } from 'node:test';
import { AddressBook, type StateChange } from '../../src/cluster/address-book.ts';
import { Heartbeat } from '../../src/cluster/heartbeat.ts';
import { dialPeer } from '../../src/transport/client.ts';
import { NodeServer } from '../../src/transport/server.ts';
import { sendJson } from '../../src/transport/wire.ts';
import { teardown } from '../helpers/context.ts';
import { makeIdentity, Pins } from '../helpers/identity.ts';

const me = makeIdentity();
const peer = makeIdentity();

test('heartbeats mark a peer online while it answers a pinned dial and offline when it stops', async (t: TestContext) => {
  const server = new NodeServer({
    identity: peer,
    pins: new Pins(me),
    host: '127.0.0.2',
    port: 0,
    handler: async ({ stream }) => sendJson(stream, 200, {}),
  });
  teardown(t).defer(() => server.destroy());
  const { port } = await server.start();
  const book = new AddressBook();
  book.trust(peer.nodeUuid);
  book.addStatic(peer.nodeUuid, { host: '127.0.0.2', port });
  const changes: StateChange[] = [];
  const { promise: wentOffline, resolve: offline } = Promise.withResolvers<void>();
  const heartbeat = new Heartbeat({
    book,
    intervalMs: 50,
    onChange: (change) => {
      changes.push(change);
      if (change.to === 'offline') offline();
    },
    ping: async (uuid, signal) => {
      const [address] = book.endpoints(uuid);
      if (address === undefined) throw new Error('no address');
      const session = await dialPeer({ uuid, ...address, identity: me, pins: new Pins(peer), signal });
      session.destroy();
    },
  });
  teardown(t).defer(() => heartbeat.close());
  t.assert.deepStrictEqual(await heartbeat.beat(), [{ node: peer.nodeUuid, from: 'unknown', to: 'online' }]);
  t.assert.deepStrictEqual(await heartbeat.beat(), [], 'no change, no report');

  server.destroy(); // the peer stops answering; the running heartbeat notices
  heartbeat.start();
  await wentOffline;
  t.assert.strictEqual(book.state(peer.nodeUuid), 'offline');
  t.assert.deepStrictEqual(changes.at(-1), { node: peer.nodeUuid, from: 'online', to: 'offline' });
});
