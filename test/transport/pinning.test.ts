/**
 * Attack tests for the cluster port's trust rules (docs/protocol.md, "The pin check"): every refusal happens before a
 * request reaches a handler (a handler counter stays 0), and a client never sends a request byte to
 * a server that is not the pinned node it dialled.
 */
import { readFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import { type TestContext, test } from 'node:test';
import {
  type ConnectionOptions,
  createServer as createTlsServer,
  type TLSSocket,
  connect as tlsConnect,
} from 'node:tls';
import { isArozError } from '../../src/errors.ts';
import { dialPeer, getJson } from '../../src/transport/client.ts';
import { MAX_REFUSALS_KEPT, NodeServer } from '../../src/transport/server.ts';
import { sendJson } from '../../src/transport/wire.ts';
import { teardown } from '../helpers/context.ts';
import { makeIdentity, Pins, type TestIdentity } from '../helpers/identity.ts';
import { until } from '../helpers/until.ts';

const server = makeIdentity();
const client = makeIdentity();
const stranger = makeIdentity();

interface Started {
  node: NodeServer;
  port: number;
  calls: { count: number };
  pins: Pins;
}

async function startServer(
  t: TestContext,
  id: TestIdentity = server,
  pins = new Pins(client),
): Promise<Started> {
  const calls = { count: 0 };
  const node = new NodeServer({
    identity: id,
    pins,
    host: '127.0.0.2',
    port: 0,
    handler: async ({ stream, peer }) => {
      calls.count++;
      sendJson(stream, 200, { hello: peer });
    },
  });
  teardown(t).defer(() => node.destroy());
  const { port } = await node.start();
  return { node, port, calls, pins };
}

function dial(port: number, me: TestIdentity, them: { nodeUuid: string }, pins: Pins) {
  return dialPeer({
    uuid: them.nodeUuid,
    host: '127.0.0.2',
    port,
    localAddress: '127.0.0.3',
    identity: me,
    pins,
  });
}

/** Opens a raw HTTP/2 session that pipelines a request right after the handshake, ignoring pins. */
function pipelinedRequest(port: number, options: ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const session = h2connect(`https://127.0.0.2:${port}`, {
      createConnection: () =>
        tlsConnect({ host: '127.0.0.2', port, ALPNProtocols: ['h2'], rejectUnauthorized: false, ...options }),
    });
    session.on('error', () => {});
    const req = session.request({ ':path': '/v1/node' });
    req.on('response', () => resolve('answered'));
    req.on('error', () => resolve('refused'));
    req.on('close', () => resolve('refused'));
    req.end();
    session.on('close', () => resolve('refused'));
  });
}

test('a pinned client and server talk; the handler sees the verified UUID', async (t: TestContext) => {
  const s = await startServer(t);
  const session = await dial(s.port, client, server, new Pins(server));
  teardown(t).defer(() => session.destroy());
  t.assert.deepStrictEqual(await getJson(session, '/v1/node', server.nodeUuid), { hello: client.nodeUuid });
});

test('an untrusted client pipelining a request never reaches a handler', async (t: TestContext) => {
  const s = await startServer(t);
  const outcome = await pipelinedRequest(s.port, { cert: stranger.certPem, key: stranger.keyPem });
  t.assert.strictEqual(outcome, 'refused');
  t.assert.strictEqual(s.calls.count, 0);
  t.assert.match(s.node.refusals.join('\n'), /not the pinned one/);
});

test('the refusal log keeps only the latest reasons, however many strangers knock', async (t: TestContext) => {
  const s = await startServer(t);
  const knocks = MAX_REFUSALS_KEPT + 6;
  for (let k = 0; k < knocks; k++) {
    t.assert.strictEqual(
      await pipelinedRequest(s.port, { cert: stranger.certPem, key: stranger.keyPem }),
      'refused',
    );
  }
  t.assert.strictEqual(s.node.refusals.length, MAX_REFUSALS_KEPT);
  t.assert.strictEqual(s.calls.count, 0);
});

test('a client without a certificate is refused before any request', async (t: TestContext) => {
  const s = await startServer(t);
  t.assert.strictEqual(await pipelinedRequest(s.port, {}), 'refused');
  t.assert.strictEqual(s.calls.count, 0);
});

test('the right UUID with a wrong key is refused', async (t: TestContext) => {
  const s = await startServer(t);
  const impostor = makeIdentity({ uuid: client.nodeUuid, keyPem: stranger.keyPem });
  t.assert.strictEqual(
    await pipelinedRequest(s.port, { cert: impostor.certPem, key: impostor.keyPem }),
    'refused',
  );
  t.assert.strictEqual(s.calls.count, 0);
});

test('a certificate chain, an EC key and a short RSA key are refused', async (t: TestContext) => {
  const s = await startServer(t);
  const chained = makeIdentity({ ca: true });
  const ec = makeIdentity({ keyAlg: ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'] });
  const short = makeIdentity({ keyAlg: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'] });
  for (const id of [chained, ec, short]) s.pins.map.set(id.nodeUuid, id.spki); // even when pinned
  for (const id of [chained, ec, short]) {
    t.assert.strictEqual(await pipelinedRequest(s.port, { cert: id.certPem, key: id.keyPem }), 'refused');
  }
  t.assert.strictEqual(s.calls.count, 0);
  const reasons = s.node.refusals.join('\n');
  t.assert.match(reasons, /chain|not self-issued/);
  t.assert.match(reasons, /not RSA/);
  t.assert.match(reasons, /2048 bits/);
});

test('an oversized RSA key is refused', async (t: TestContext) => {
  const big = makeIdentity({
    keyPem: readFileSync(new URL('../fixtures/keys/rsa-8448.key', import.meta.url), 'utf8'),
  });
  const s = await startServer(t, server, new Pins(big));
  t.assert.strictEqual(await pipelinedRequest(s.port, { cert: big.certPem, key: big.keyPem }), 'refused');
  t.assert.match(s.node.refusals.join('\n'), /8448 bits/);
});

test('TLS 1.2 is refused at the handshake', async (t: TestContext) => {
  const s = await startServer(t);
  const outcome = await pipelinedRequest(s.port, {
    cert: client.certPem,
    key: client.keyPem,
    maxVersion: 'TLSv1.2',
  });
  t.assert.strictEqual(outcome, 'refused');
  t.assert.strictEqual(s.calls.count, 0);
});

test('a client offering no ALPN is closed in under a second', async (t: TestContext) => {
  const s = await startServer(t);
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.2',
      port: s.port,
      cert: client.certPem,
      key: client.keyPem,
      rejectUnauthorized: false,
    });
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
  t.assert.ok(performance.now() - started < 1000, 'closed within 1 s');
  t.assert.strictEqual(s.calls.count, 0);
});

test('a stalled handshake is closed by the server within 10 s', async (t: TestContext) => {
  const s = await startServer(t);
  const started = performance.now();
  await new Promise<void>((resolve) => {
    const socket = netConnect({ host: '127.0.0.2', port: s.port }); // says nothing
    socket.on('error', () => {});
    socket.on('close', () => resolve());
  });
  t.assert.ok(performance.now() - started < 10_000, 'closed within 10 s');
});

test('a saved TLS session is not resumed', async (t: TestContext) => {
  const s = await startServer(t);
  const connectOnce = (session?: Buffer) =>
    new Promise<{ ticket: Buffer | undefined; reused: boolean }>((resolve) => {
      let ticket: Buffer | undefined;
      const socket: TLSSocket = tlsConnect({
        host: '127.0.0.2',
        port: s.port,
        cert: client.certPem,
        key: client.keyPem,
        rejectUnauthorized: false,
        ALPNProtocols: ['h2'],
        ...(session ? { session } : {}),
      });
      socket.on('session', (x) => {
        ticket = x;
      });
      socket.on('secureConnect', () => {
        const reused = socket.isSessionReused();
        const done = () => {
          clearTimeout(deadline);
          socket.destroy();
          resolve({ ticket, reused });
        };
        // TLS 1.3 sends its tickets after the handshake: a first connection waits for one.
        const deadline = setTimeout(done, session || ticket ? 0 : 30_000);
        socket.once('session', done);
      });
    });
  const first = await connectOnce();
  t.assert.ok(first.ticket, 'the server sent a session to save');
  const second = await connectOnce(first.ticket);
  t.assert.strictEqual(second.reused, false);
});

test('a server holding the wrong key receives zero request bytes', async (t: TestContext) => {
  let received = 0;
  const evil = createTlsServer({
    cert: stranger.certPem,
    key: stranger.keyPem,
    ALPNProtocols: ['h2'],
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
  });
  evil.on('secureConnection', (socket) =>
    socket.on('data', (d: Buffer) => {
      received += d.length;
    }),
  );
  const tcp = { opened: 0, closed: 0 };
  evil.on('connection', (socket: Socket) => {
    tcp.opened++;
    socket.once('close', () => tcp.closed++);
  });
  teardown(t).defer(() => new Promise<void>((r) => evil.close(() => r())));
  await new Promise<void>((r) => evil.listen(0, '127.0.0.2', r));
  const port = (evil.address() as { port: number }).port;
  // The client pins `server` and dials its UUID; the evil server presents the stranger's key.
  await t.assert.rejects(dial(port, client, server, new Pins(server, stranger)), (err) =>
    isArozError(err, 'ERR_PEER_UNTRUSTED'),
  );
  // Even a pinned key under another UUID than the one dialled is refused.
  await t.assert.rejects(
    dialPeer({
      uuid: server.nodeUuid,
      host: '127.0.0.2',
      port,
      identity: client,
      pins: new Pins(server, stranger),
    }),
    (err) => isArozError(err, 'ERR_PEER_UNTRUSTED'),
  );
  // Whatever a client sent arrived before its connection closed.
  await until('both clients hang up', () => tcp.opened >= 2 && tcp.closed === tcp.opened);
  t.assert.strictEqual(received, 0);
});

test('a peer pinned on one side only cannot talk', async (t: TestContext) => {
  const s = await startServer(t, server, new Pins()); // the server does not pin the client
  await t.assert.rejects(dial(s.port, client, server, new Pins(server)), (err) =>
    isArozError(err, 'ERR_PEER_UNTRUSTED'),
  );
  t.assert.strictEqual(s.calls.count, 0);
});

test('revoking a peer closes its live session at once', async (t: TestContext) => {
  const s = await startServer(t);
  const session = await dial(s.port, client, server, new Pins(server));
  teardown(t).defer(() => session.destroy());
  await getJson(session, '/v1/node', server.nodeUuid);
  const closed = new Promise<void>((r) => session.once('close', () => r()));
  s.pins.map.delete(client.nodeUuid);
  s.node.dropPeer(client.nodeUuid);
  await closed;
  t.assert.ok(session.destroyed || session.closed);
  t.assert.strictEqual(
    await pipelinedRequest(s.port, { cert: client.certPem, key: client.keyPem }),
    'refused',
  );
  t.assert.strictEqual(s.calls.count, 1);
});

test('oversized request headers are refused', async (t: TestContext) => {
  const s = await startServer(t);
  const session = await dial(s.port, client, server, new Pins(server));
  teardown(t).defer(() => session.destroy());
  const outcome = await new Promise<string>((resolve) => {
    const req = session.request({ ':path': '/v1/node', 'x-big': 'a'.repeat(64 * 1024) });
    req.on('response', (h) => resolve(`status ${h[':status']}`));
    req.on('error', () => resolve('refused'));
    req.on('close', () => resolve('refused'));
    req.end();
  });
  t.assert.notStrictEqual(outcome, 'status 200');
  t.assert.strictEqual(s.calls.count, 0);
});
