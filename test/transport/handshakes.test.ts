/**
 * Handshakes in progress on the cluster port are bounded per source and in total, and only while in
 * progress: silent TCP connections (from many sources, reconnecting whenever dropped) do not keep a
 * paired peer out, and established sessions do not count against new ones.
 */
import { execFileSync } from 'node:child_process';
import { connect as netConnect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import { dialPeer, getJson } from '../../src/transport/client.ts';
import { sourceOf } from '../../src/transport/handshakes.ts';
import { LIMITS } from '../../src/transport/limits.ts';
import { NodeServer } from '../../src/transport/server.ts';
import { sendJson } from '../../src/transport/wire.ts';
import { teardown } from '../helpers/context.ts';
import { makeIdentity, Pins } from '../helpers/identity.ts';
import { until } from '../helpers/until.ts';

const server = makeIdentity();
const client = makeIdentity();

const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim());
const SILENT = 300;
// Each silent connection holds a file descriptor on both ends, in this one process.
const fewFds = Number.isFinite(fdLimit) && fdLimit < 2 * SILENT + 200;

async function startServer(t: TestContext) {
  const calls = { count: 0 };
  const node = new NodeServer({
    identity: server,
    pins: new Pins(client),
    host: '127.0.0.2',
    port: 0,
    handler: async ({ stream, peer }) => {
      calls.count++;
      sendJson(stream, 200, { hello: peer });
    },
  });
  teardown(t).defer(() => node.destroy());
  const { port } = await node.start();
  return { node, port, calls };
}

function dial(port: number) {
  return dialPeer({
    uuid: server.nodeUuid,
    host: '127.0.0.2',
    port,
    localAddress: '127.0.0.3',
    identity: client,
    pins: new Pins(server),
  });
}

/**
 * Keeps `count` silent TCP connections open from `sources` (round robin), opening a new one whenever
 * one closes, until the returned stop() is called.
 */
function silentFlood(port: number, count: number, sources: string[]) {
  let stopped = false;
  let opened = 0;
  const sockets = new Set<Socket>();
  const open = (source: string) => {
    if (stopped) return;
    const socket = netConnect({ host: '127.0.0.2', port, localAddress: source });
    opened++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => {
      sockets.delete(socket);
      setImmediate(() => open(source));
    });
  };
  for (let i = 0; i < count; i++) open(sources[i % sources.length] ?? '127.0.0.9');
  return {
    get opened() {
      return opened;
    },
    stop: () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
}

test('sourceOf() counts IPv4 by address and IPv6 by /64', (t: TestContext) => {
  t.assert.strictEqual(sourceOf('127.0.0.7'), '127.0.0.7');
  t.assert.strictEqual(sourceOf('::ffff:10.1.2.3'), '10.1.2.3');
  t.assert.strictEqual(sourceOf('2001:db8:0:12:aaaa::1'), '2001:db8:0:12::/64');
  t.assert.strictEqual(sourceOf('2001:db8::12:0:0:1%eth0'), '2001:db8:0:0::/64');
  t.assert.strictEqual(sourceOf('::1'), '0:0:0:0::/64');
  t.assert.strictEqual(sourceOf(undefined), 'unknown');
});

test('a paired peer is served while 300 silent TCP connections are kept open', {
  skip: fewFds ? `ulimit -n is ${fdLimit}; this test needs ${2 * SILENT + 200} file descriptors` : false,
}, async (t: TestContext) => {
  const s = await startServer(t);
  const sources = Array.from({ length: 30 }, (_, i) => `127.0.0.${10 + i}`);
  const flood = silentFlood(s.port, SILENT, sources);
  teardown(t).defer(() => flood.stop());
  // Every one of the first 300 was accepted (and most dropped again to make room).
  await until('the server to accept the silent connections', () => {
    const h = s.node.handshakes;
    return h.inProgress + h.evicted + h.timedOut >= SILENT;
  });
  t.assert.ok(s.node.handshakes.inProgress <= LIMITS.maxHandshakesInFlight);
  for (let i = 0; i < 13; i++) {
    const session = await dial(s.port);
    try {
      t.assert.deepStrictEqual(await getJson(session, '/v1/node', server.nodeUuid), {
        hello: client.nodeUuid,
      });
    } finally {
      session.destroy();
    }
  }
  t.assert.strictEqual(s.calls.count, 13);
  t.assert.ok(flood.opened > SILENT, 'the flood kept reconnecting while the peer was served');
  t.assert.ok(s.node.handshakes.inProgress <= LIMITS.maxHandshakesInFlight);
});

test('one source holds at most 8 handshakes in progress; its oldest are dropped', async (t: TestContext) => {
  const s = await startServer(t);
  const closed: number[] = [];
  const sockets: Socket[] = [];
  for (let i = 0; i < 20; i++) {
    const socket = netConnect({ host: '127.0.0.2', port: s.port, localAddress: '127.0.0.50' });
    socket.on('error', () => {});
    socket.on('close', () => closed.push(i));
    sockets.push(socket);
  }
  teardown(t).defer(() => {
    for (const socket of sockets) socket.destroy();
  });
  await until('the oldest to be dropped', () => closed.length >= 20 - LIMITS.maxHandshakesPerSource);
  t.assert.strictEqual(s.node.handshakes.inProgress, LIMITS.maxHandshakesPerSource);
  t.assert.strictEqual(s.node.handshakes.evicted, 20 - LIMITS.maxHandshakesPerSource);
  // A peer from another source is not affected.
  const session = await dial(s.port);
  teardown(t).defer(() => session.destroy());
  t.assert.deepStrictEqual(await getJson(session, '/v1/node', server.nodeUuid), { hello: client.nodeUuid });
});

test('established sessions do not count: the 101st session of one peer is served', async (t: TestContext) => {
  const s = await startServer(t);
  for (let i = 0; i < 101; i++) {
    const session = await dial(s.port);
    teardown(t).defer(() => session.destroy());
    t.assert.deepStrictEqual(await getJson(session, '/v1/node', server.nodeUuid), {
      hello: client.nodeUuid,
    });
  }
  t.assert.strictEqual(s.calls.count, 101);
  t.assert.strictEqual(s.node.handshakes.inProgress, 0);
});

test('a client trickling its handshake is closed at the deadline', async (t: TestContext) => {
  const s = await startServer(t);
  const socket = netConnect({ host: '127.0.0.2', port: s.port, localAddress: '127.0.0.4' });
  teardown(t).defer(() => {
    socket.destroy();
  });
  socket.on('error', () => {});
  // A TLS record header announcing a 512-byte ClientHello, then one byte of it every 200 ms: each
  // byte would restart an idle timer, never the deadline.
  socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
  const trickle = setInterval(() => socket.write(Buffer.from([0x01])), 200);
  teardown(t).defer(() => clearInterval(trickle));
  await new Promise<void>((resolve) => socket.on('close', () => resolve()));
  clearInterval(trickle);
  // Closed by the gate's absolute deadline (Node's own handshake timer is set twice as long).
  t.assert.strictEqual(s.node.handshakes.timedOut, 1);
  t.assert.strictEqual(s.calls.count, 0);
});
