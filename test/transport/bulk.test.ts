/**
 * Bulk reads (docs/protocol.md, "Bulk reads") over real pinned TLS on 127.0.0.x: nodes running
 * `bulkApi` in front of a MemoryStore, lanes from a real PeerPool, and hand-made clients and servers
 * that do not play by the rules. The ChunkStore compliance suite also runs over bulk reads
 * (test/transport/remote-store.test.ts).
 */

import { type TestContext, test } from 'node:test';
import { createServer, type TLSSocket, connect as tlsConnect } from 'node:tls';
import { transferStarts } from '../../src/buffer-pool.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { BulkLane } from '../../src/transport/bulk-client.ts';
import { MAX_BULK_PER_PEER } from '../../src/transport/server.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { until } from '../helpers/until.ts';
import { bulkRemoteStore, type Member, member, type NodeOptions, startNode } from '../node/api-testnet.ts';
import { MiB, put, readAll, readInto, rejectsWith, sha256 } from '../store/helpers.ts';

async function setup(t: TestContext, options: NodeOptions & { idleMs?: number } = {}) {
  const [me, peer, stranger] = await Promise.all([member(0), member(1), member(2)]);
  const memory = new MemoryStore({ limit: 256 * MiB });
  teardown(t).defer(() => memory.close());
  const node = await startNode(t, peer, [me, peer], { store: memory, ...options });
  const { store, pool } = await bulkRemoteStore(
    t,
    me,
    node,
    options.idleMs ? { idleMs: options.idleMs } : {},
  );
  const chunk = async (size: number) => {
    const uuid = newUuid();
    const bytes = testBytes(size);
    await put(memory, uuid, bytes, { meta: { uploader: me.uuid } });
    return { uuid, bytes };
  };
  return { me, peer, stranger, node, memory, store, pool, chunk };
}

test('reads go over one bulk connection, reused read after read, with the bytes and info of the store', async (t: TestContext) => {
  const { node, memory, store, chunk } = await setup(t);
  const chunks = [await chunk(3 * MiB + 17), await chunk(1), await chunk(200_000)];
  for (const { uuid, bytes } of chunks) {
    const reader = await store.get(uuid);
    t.assert.deepStrictEqual(reader.info, await memory.head(uuid));
    t.assert.strictEqual(sha256(await readAll(reader)), sha256(bytes));
  }
  t.assert.strictEqual(node.server.bulkConnections, 1, 'one connection, reused');
  t.assert.strictEqual(node.requests, 0, 'no chunk byte went over HTTP/2');
});

test('byte ranges, the end of a chunk and errors answer as a local store would; the connection stays usable', async (t: TestContext) => {
  const { node, store, chunk } = await setup(t);
  const { uuid, bytes } = await chunk(100_000);
  t.assert.deepStrictEqual(
    await readInto(await store.get(uuid, { start: 10, end: 20 })),
    bytes.subarray(10, 20),
  );
  t.assert.deepStrictEqual(await readInto(await store.get(uuid, { start: 99_000 })), bytes.subarray(99_000));
  const atEnd = await store.get(uuid, { start: 100_000 });
  t.assert.strictEqual(atEnd.length, 0);
  t.assert.strictEqual(await atEnd.read(Buffer.alloc(10)), 0);
  await rejectsWith(t, store.get(uuid, { start: 100_001 }), 'ERR_INVALID_RANGE');
  await rejectsWith(t, store.get(uuid, { start: 5, end: 100_001 }), 'ERR_INVALID_RANGE');
  await rejectsWith(t, store.get(newUuid()), 'ERR_CHUNK_MISSING');
  t.assert.strictEqual(sha256(await readAll(await store.get(uuid))), sha256(bytes));
  t.assert.strictEqual(node.server.bulkConnections, 1, 'the error answers left the connection in use');
});

test('a reader closed early or aborted closes its connection; the next read dials a new one', async (t: TestContext) => {
  const { node, store, chunk } = await setup(t);
  const { uuid, bytes } = await chunk(8 * MiB);
  const early = await store.get(uuid);
  t.assert.ok((await early.read(Buffer.alloc(64 * 1024))) > 0);
  await early.close();
  await until('the server saw the connection close', () => node.server.bulkConnections === 0);
  const controller = new AbortController();
  const aborted = await store.get(uuid, { signal: controller.signal });
  t.assert.ok((await aborted.read(Buffer.alloc(64 * 1024))) > 0);
  controller.abort();
  await rejectsWith(t, aborted.read(Buffer.alloc(64 * 1024)), 'ERR_INTERRUPTED');
  await until('the server saw the aborted connection close', () => node.server.bulkConnections === 0);
  t.assert.strictEqual(sha256(await readAll(await store.get(uuid))), sha256(bytes));
});

test('a slow reader gets every byte while the lane keeps at most its 1 MiB buffer: TCP holds the rest', async (t: TestContext) => {
  const { node, pool, chunk } = await setup(t);
  const { uuid, bytes } = await chunk(24 * MiB);
  const lane = await pool.lane(node.uuid);
  const reader = await lane.get({ uuid });
  const into = Buffer.alloc(16 * 1024);
  const got = Buffer.alloc(bytes.length);
  let at = 0;
  for (let n = await reader.read(into); n > 0; n = await reader.read(into)) {
    into.copy(got, at, 0, n);
    at += n;
    if (at % (512 * 1024) === 0) await new Promise((resolve) => setImmediate(resolve)); // let the socket catch up
  }
  t.assert.strictEqual(at, bytes.length);
  t.assert.ok(got.equals(bytes));
  t.assert.strictEqual(lane.bufferSize, MiB, 'the receive buffer never grew');
  t.assert.ok(lane.usable, 'a read to the end leaves the lane usable');
});

test('an upload that starts closes the idle bulk connections; a download that starts keeps them', async (t: TestContext) => {
  const { node, pool, store, chunk } = await setup(t);
  const { uuid, bytes } = await chunk(3000);
  await readAll(await store.get(uuid));
  await transferStarts('download');
  await readAll(await store.get(uuid));
  const kept = await pool.lane(node.uuid); // the idle lane, out of the pool for a moment
  t.assert.strictEqual(kept.requests, 2, 'one lane served both reads: kept as the download started');
  kept.onIdle?.(kept); // back to the pool, as after a read
  await transferStarts('upload');
  t.assert.strictEqual(kept.usable, false, 'closed as the upload started');
  await until('the node saw it close', () => node.server.bulkConnections === 0);
  t.assert.ok((await readAll(await store.get(uuid))).equals(bytes));
  const next = await pool.lane(node.uuid);
  t.assert.strictEqual(next.requests, 1, 'the next read dialled a new lane');
  next.destroy();
});

test('revoking the peer, or dropping it from the pool, closes its bulk connections', async (t: TestContext) => {
  const { me, node, pool, store, chunk } = await setup(t);
  const { uuid } = await chunk(1000);
  await readAll(await store.get(uuid));
  t.assert.strictEqual(node.server.bulkConnections, 1);
  node.server.dropPeer(me.uuid);
  await until('the server closed the bulk connection', () => node.server.bulkConnections === 0);
  const lane = await pool.lane(node.uuid);
  await until('a new connection is open', () => node.server.bulkConnections === 1);
  pool.drop(node.uuid);
  t.assert.strictEqual(lane.usable, false);
  await until('the client closed its lane', () => node.server.bulkConnections === 0);
});

test('a node that stops lets a read in progress finish, then closes its bulk connections', async (t: TestContext) => {
  const { node, store, pool, chunk } = await setup(t);
  const { uuid, bytes } = await chunk(16 * MiB);
  const idle = await pool.lane(node.uuid); // a second, idle connection
  const reader = await store.get(uuid);
  const first = Buffer.alloc(64 * 1024);
  const n = await reader.read(first);
  const closing = node.server.close();
  const rest = await readAll(reader);
  t.assert.strictEqual(sha256(Buffer.concat([first.subarray(0, n), rest])), sha256(bytes));
  await closing;
  t.assert.strictEqual(node.server.bulkConnections, 0);
  await until('the idle lane saw the close', () => idle.ended);
});

test('past the lanes a node accepts from one peer, reads go over HTTP/2; bulk reads are not given up', async (t: TestContext) => {
  const { node, pool, store, chunk } = await setup(t);
  const { uuid, bytes } = await chunk(300_000);
  const held = [];
  for (let k = 0; k < MAX_BULK_PER_PEER; k++) held.push(await pool.lane(node.uuid));
  await rejectsWith(t, pool.lane(node.uuid), 'ERR_BUSY');
  t.assert.strictEqual(sha256(await readAll(await store.get(uuid))), sha256(bytes));
  t.assert.strictEqual(node.requests, 1, 'that read went over HTTP/2');
  for (const lane of held) lane.destroy();
  t.assert.strictEqual(sha256(await readAll(await store.get(uuid))), sha256(bytes));
  t.assert.strictEqual(node.requests, 1, 'the next read went over a bulk connection again');
});

test('a node that does not serve bulk reads is read over HTTP/2, and not asked again for a while', async (t: TestContext) => {
  const { node, store, chunk } = await setup(t, { bulk: false });
  const { uuid, bytes } = await chunk(2 * MiB);
  t.assert.strictEqual(sha256(await readAll(await store.get(uuid))), sha256(bytes));
  t.assert.strictEqual(sha256(await readAll(await store.get(uuid))), sha256(bytes));
  t.assert.strictEqual(node.requests, 2, 'both reads went over HTTP/2');
  const tried = node.server.refusals.filter((r) => r.includes('ALPN'));
  t.assert.strictEqual(tried.length, 1, 'one bulk connection was tried, then none');
});

// ---- a client that does not play by the rules ----

/** A raw TLS connection to `node` without ALPN, as `from`; resolves once the handshake is done. */
async function rawClient(t: TestContext, from: Member, node: { host: string; port: number }) {
  const socket = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({
      host: node.host,
      port: node.port,
      cert: from.identity.certPem,
      key: from.identity.keyPem,
      rejectUnauthorized: false,
    });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
  teardown(t).defer(() => {
    socket.destroy();
  });
  let text = '';
  socket.setEncoding('latin1');
  socket.on('data', (d: string) => {
    text += d;
  });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return { socket, closed, text: () => text };
}

test('a connection without ALPN from a node that is not trusted is closed before anything is read', async (t: TestContext) => {
  const { stranger, node } = await setup(t);
  const raw = await rawClient(t, stranger, node);
  raw.socket.write(`GET ${newUuid()} 0 -\n`);
  await raw.closed;
  t.assert.strictEqual(raw.text(), '');
  t.assert.match(node.server.refusals.join('\n'), /not the pinned one|is not pinned|pinned/);
});

test('a line that is not a request, or one over 128 bytes, is answered ERR_BAD_REQUEST and the connection closed', async (t: TestContext) => {
  const { me, node } = await setup(t);
  for (const line of ['PUT x\n', `GET ${'a'.repeat(200)}`, `GET ${newUuid()} 5 2x\n`]) {
    const raw = await rawClient(t, me, node);
    raw.socket.write(line);
    await raw.closed;
    const answer = JSON.parse(raw.text().trim()) as { ok: boolean; code: string };
    t.assert.deepStrictEqual([answer.ok, answer.code], [false, 'ERR_BAD_REQUEST'], line.slice(0, 20));
  }
});

test('a bulk connection with no request is closed after its wait; one past the limit per peer at once', async (t: TestContext) => {
  const { me, node } = await setup(t, { bulkWaitMs: 300 });
  const quiet = await rawClient(t, me, node);
  await quiet.closed; // nothing sent: closed after 300 ms
  t.assert.strictEqual(quiet.text(), '');
  const held: Awaited<ReturnType<typeof rawClient>>[] = [];
  // The wait is reset by each request: keep MAX_BULK_PER_PEER open by asking for a missing chunk.
  const open = await setup(t, {});
  for (let k = 0; k < MAX_BULK_PER_PEER; k++) held.push(await rawClient(t, open.me, open.node));
  await until('every connection is served', () => open.node.server.bulkConnections === MAX_BULK_PER_PEER);
  const extra = await rawClient(t, open.me, open.node);
  await extra.closed;
  t.assert.strictEqual(open.node.server.bulkConnections, MAX_BULK_PER_PEER);
});

test('a client that stops reading an answer is closed after idleMs', async (t: TestContext) => {
  const { me, node, chunk } = await setup(t, { idleMs: 300 });
  const { uuid } = await chunk(32 * MiB);
  const raw = await rawClient(t, me, node);
  raw.socket.pause(); // reads nothing more
  raw.socket.removeAllListeners('data');
  raw.socket.write(`GET ${uuid} 0 -\n`);
  // A client that reads nothing does not see the close either: ask the server.
  await until('the server let the connection go', () => node.server.bulkConnections === 0);
});

// ---- a server that does not play by the rules ----

/** A TLS server holding `peer`'s node key, without ALPN, answering each request line with `answer`. */
async function fakeNode(t: TestContext, peer: Member, answer: (socket: TLSSocket, line: string) => void) {
  const server = createServer(
    {
      cert: peer.identity.certPem,
      key: peer.identity.keyPem,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
    },
    (socket) => {
      socket.on('error', () => {});
      let text = '';
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        const at = text.indexOf('\n');
        if (at !== -1) {
          const line = text.slice(0, at);
          text = text.slice(at + 1);
          answer(socket, line);
        }
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.2', resolve));
  teardown(t).defer(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const sockets = new Set<TLSSocket>();
  server.on('secureConnection', (s) => sockets.add(s));
  teardown(t).defer(() => {
    for (const s of sockets) s.destroy();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  return address.port;
}

const okLine = (me: Member, size: number, start = 0, end = size) =>
  `${JSON.stringify({
    ok: true,
    start,
    end,
    headers: {
      'x-arozdfs-sha256': 'a'.repeat(64),
      'x-arozdfs-chunk-size': String(size),
      'x-arozdfs-uploader': me.uuid,
      'x-arozdfs-stored-at': new Date().toISOString(),
    },
  })}\n`;

async function laneTo(t: TestContext, me: Member, peer: Member, port: number, pinned = peer) {
  const lane = await BulkLane.dial({
    uuid: peer.uuid,
    host: '127.0.0.2',
    port,
    identity: me.identity,
    pins: { isPinned: (u, spki) => u === peer.uuid && pinned.keyPair.spkiDer.equals(spki) },
  });
  teardown(t).defer(() => lane.destroy());
  return lane;
}

test('a lane refuses a node that sends more than it announced, another range, or an endless answer line', async (t: TestContext) => {
  const [me, peer] = await Promise.all([member(0), member(1)]);
  const uuid = newUuid();
  const cases: [string, (socket: TLSSocket) => void, number?][] = [
    ['more than announced', (s) => s.write(okLine(me, 10) + 'x'.repeat(11))],
    ['another range', (s) => s.write(okLine(me, 10, 0, 5) + 'x'.repeat(5)), 2],
    ['an endless line', (s) => s.write('{'.repeat(8192))],
    ['not JSON', (s) => s.write('HTTP/1.0 403 Forbidden\r\n\r\n')],
  ];
  for (const [what, send, end] of cases) {
    const port = await fakeNode(t, peer, (socket) => send(socket));
    const lane = await laneTo(t, me, peer, port);
    const reading = lane.get({ uuid, ...(end !== undefined ? { end } : {}) }).then((r) => readAll(r));
    await rejectsWith(t, reading, 'ERR_BAD_REQUEST', what);
    t.assert.strictEqual(lane.usable, false, what);
  }
});

test('a lane fails with ERR_TIMEOUT on a silent node and ERR_PEER_UNREACHABLE on one that breaks off', async (t: TestContext) => {
  const [me, peer] = await Promise.all([member(0), member(1)]);
  const uuid = newUuid();
  const silent = await laneTo(t, me, peer, await fakeNode(t, peer, () => {}));
  await rejectsWith(t, silent.get({ uuid }, { idleMs: 200 }), 'ERR_TIMEOUT');
  const stalls = await laneTo(
    t,
    me,
    peer,
    await fakeNode(t, peer, (s) => s.write(okLine(me, 100) + 'x'.repeat(10))),
  );
  const reader = await stalls.get({ uuid }, { idleMs: 200 });
  await rejectsWith(t, readAll(reader), 'ERR_TIMEOUT');
  const breaks = await laneTo(
    t,
    me,
    peer,
    await fakeNode(t, peer, (s) => s.end(okLine(me, 100) + 'x'.repeat(10))),
  );
  await rejectsWith(t, readAll(await breaks.get({ uuid })), 'ERR_PEER_UNREACHABLE');
});

test('a read waits for 256 KiB, not for each 16 KiB record; bytes that keep coming are progress, not a stall', async (t: TestContext) => {
  const [me, peer] = await Promise.all([member(0), member(1)]);
  const uuid = newUuid();
  const piece = 64 * 1024;
  const size = 5 * piece;
  // 64 KiB (four TLS records) every 300 ms: the first 256 KiB take 1.2 s, longer than idleMs.
  const port = await fakeNode(t, peer, (s) => {
    s.write(okLine(me, size));
    let sent = 0;
    const timer = setInterval(() => {
      if (s.destroyed) return clearInterval(timer);
      s.write(Buffer.alloc(piece, sent));
      if (++sent === 5) clearInterval(timer);
    }, 300);
    teardown(t).defer(() => clearInterval(timer));
  });
  const lane = await laneTo(t, me, peer, port);
  const reader = await lane.get({ uuid }, { idleMs: 1_000 });
  const reads: number[] = [];
  const into = Buffer.alloc(MiB);
  for (let n = await reader.read(into); n > 0; n = await reader.read(into)) reads.push(n);
  t.assert.strictEqual(
    reads.reduce((a, b) => a + b, 0),
    size,
  );
  t.assert.ok(reads[0]! >= 4 * piece, `the first read returned ${reads[0]} bytes`);
  t.assert.strictEqual(lane.usable, true);
});

test('a node that closes right after its answer: the reader still gets every byte, then the lane closes', async (t: TestContext) => {
  const [me, peer] = await Promise.all([member(0), member(1)]);
  const uuid = newUuid();
  const body = 'y'.repeat(100_000);
  const lane = await laneTo(
    t,
    me,
    peer,
    await fakeNode(t, peer, (s) => s.end(okLine(me, body.length) + body)),
  );
  const reader = await lane.get({ uuid });
  await until('the close reached the lane before any read', () => lane.ended);
  t.assert.strictEqual((await readAll(reader)).toString('latin1'), body);
  t.assert.strictEqual(lane.usable, false);
  const missing = await laneTo(
    t,
    me,
    peer,
    await fakeNode(t, peer, (s) =>
      s.end('{"ok":false,"status":404,"code":"ERR_CHUNK_MISSING","message":"gone"}\n'),
    ),
  );
  await rejectsWith(t, missing.get({ uuid }), 'ERR_CHUNK_MISSING');
});

test('a lane to a node that holds another key than the pinned one is refused before anything is sent', async (t: TestContext) => {
  const [me, peer, other] = await Promise.all([member(0), member(1), member(2)]);
  let asked = false;
  const port = await fakeNode(t, peer, () => {
    asked = true;
  });
  await rejectsWith(t, laneTo(t, me, peer, port, other), 'ERR_PEER_UNTRUSTED');
  t.assert.strictEqual(asked, false);
});
