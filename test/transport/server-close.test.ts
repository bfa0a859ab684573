/**
 * The cluster port while it stops (seen as uncaught errors after a loaded test run): a connection
 * still in its handshake when the stop begins gets no request through — the stop closes handshakes in
 * progress, and a request that slipped through anyway would be refused with REFUSED_STREAM — and
 * nothing is left unhandled in the server.
 */
import { once } from 'node:events';
import { createServer, connect as netConnect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { dialPeer, request } from '../../src/transport/client.ts';
import { NodeServer } from '../../src/transport/server.ts';
import { sendJson } from '../../src/transport/wire.ts';
import { teardown } from '../helpers/context.ts';
import { makeIdentity, Pins } from '../helpers/identity.ts';

const server = makeIdentity();
const client = makeIdentity();

test('a connection in its handshake while the server stops gets no request through', async (t: TestContext) => {
  let handled = 0;
  const node = new NodeServer({
    identity: server,
    pins: new Pins(client),
    host: '127.0.0.2',
    port: 0,
    handler: async ({ stream }) => {
      handled++;
      sendJson(stream, 200, {});
    },
  });
  teardown(t).defer(() => node.destroy());
  const { port } = await node.start();
  // A relay that holds the server's first bytes (its TLS hello) until the server is stopping.
  const sockets: Socket[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let onHello!: () => void;
  const hello = new Promise<void>((r) => {
    onHello = r;
  });
  const relay = createServer((down) => {
    const up = netConnect({ host: '127.0.0.2', port, localAddress: '127.0.0.3' });
    sockets.push(down, up);
    down.on('data', (d: Buffer) => up.write(d));
    up.on('data', (d: Buffer) => {
      onHello();
      void released.then(() => down.write(d));
    });
    for (const s of [down, up]) s.on('error', () => {});
    down.on('close', () => up.destroy());
    up.on('close', () => down.destroy());
  });
  teardown(t).defer(async () => {
    for (const s of sockets) s.destroy();
    relay.close();
  });
  relay.listen(0, '127.0.0.4');
  await once(relay, 'listening');
  const dialing = dialPeer({
    uuid: server.nodeUuid,
    host: '127.0.0.4',
    port: (relay.address() as { port: number }).port,
    identity: client,
    pins: new Pins(server),
  });
  await hello; // the server accepted the connection and is mid-handshake
  const closing = node.close();
  release();
  const outcome = await dialing.then(
    async (session) => {
      teardown(t).defer(() => session.destroy());
      try {
        await request(session, { ':method': 'GET', ':path': '/v1/node' });
        return 'served';
      } catch (err) {
        return isArozError(err, 'ERR_PEER_UNREACHABLE') ? 'request refused' : err;
      } finally {
        session.destroy();
      }
    },
    (err: unknown) => (isArozError(err) ? 'handshake closed' : err),
  );
  t.assert.ok(outcome === 'request refused' || outcome === 'handshake closed', String(outcome));
  await closing;
  t.assert.strictEqual(handled, 0);
});
