/**
 * RemoteStore runs the ChunkStore compliance suite over real pinned TLS on 127.0.0.x, against a
 * NodeServer with `nodeApi` in front of a MemoryStore and of a DiskStore. Two cases are adapted, for
 * reasons of the wire, not of the store: a put or delete "as another node" goes through that node's
 * own session (the peer records the verified caller, never a claimed uploader), and the trash is
 * purged by the holding node itself (RemoteStore.purgeTrash is ERR_NOT_IMPLEMENTED). A put the client
 * cancelled is cleaned up on the peer after the reset arrives: `files()` waits for the peer's
 * handlers first. The rest are RemoteStore's own cases.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { ServerHttp2Stream } from 'node:http2';
import { type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { ChunkStore } from '../../src/store/types.ts';
import { getJson } from '../../src/transport/client.ts';
import { PeerPool } from '../../src/transport/pool.ts';
import { RemoteStore } from '../../src/transport/remote-store.ts';
import { NodeServer } from '../../src/transport/server.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { testBytes } from '../helpers/random.ts';
import { bulkRemoteStore, connect, member, remoteStore, startNode } from '../node/api-testnet.ts';
import { type MakeStore, runStoreCompliance } from '../store/compliance.ts';
import { listTree, MiB, OTHER_NODE, put, readAll, rejectsWith, UPLOADER } from '../store/helpers.ts';

function remoteOver(kind: 'memory' | 'disk', bulk = false): MakeStore {
  return async (t, { limit }) => {
    const [uploader, server, other] = await Promise.all([
      member(0, UPLOADER),
      member(1),
      member(2, OTHER_NODE),
    ]);
    let backing: ChunkStore | undefined;
    if (kind === 'memory') {
      const memory = new MemoryStore({ limit });
      teardown(t).defer(() => memory.close());
      backing = memory;
    }
    const node = await startNode(t, server, [uploader, server, other], {
      limit,
      ...(backing !== undefined ? { store: backing } : {}),
    });
    const dir = node.storeDir;
    const open = async (from: typeof uploader) =>
      bulk ? (await bulkRemoteStore(t, from, node)).store : await remoteStore(t, from, node);
    return {
      store: await open(uploader),
      as: (uuid) => open(uuid === OTHER_NODE ? other : uploader),
      purgeTrash: (options) => node.store.purgeTrash(options),
      ...(dir !== undefined ? { files: () => node.idle().then(() => listTree(dir)) } : {}),
    };
  };
}

runStoreCompliance('RemoteStore → MemoryStore', remoteOver('memory'));
runStoreCompliance('RemoteStore → DiskStore', remoteOver('disk'));
runStoreCompliance('RemoteStore with bulk reads → MemoryStore', remoteOver('memory', true));
runStoreCompliance('RemoteStore with bulk reads → DiskStore', remoteOver('disk', true));

async function pair(t: TestContext, options: { idleMs?: number } = {}) {
  const [me, peer] = await Promise.all([member(0), member(1)]);
  const memory = new MemoryStore({ limit: 4 * 1024 * 1024 });
  const node = await startNode(t, peer, [me, peer], { store: memory });
  return { me, node, memory, store: await remoteStore(t, me, node, options) };
}

test('RemoteStore acts only as its own node: a put or delete for another uploader is refused', async (t: TestContext) => {
  const { me, node, store } = await pair(t);
  t.assert.strictEqual(store.self, me.uuid);
  t.assert.strictEqual(store.id, node.uuid);
  const uuid = newUuid();
  await rejectsWith(t, store.beginPut(uuid, { size: 1, meta: { uploader: newUuid() } }), 'ERR_NOT_UPLOADER');
  await put(store, uuid, testBytes(10), { meta: { uploader: me.uuid } });
  await rejectsWith(t, store.delete(uuid, { by: newUuid() }), 'ERR_NOT_UPLOADER');
  t.assert.strictEqual((await store.head(uuid))?.uploader, me.uuid, 'the peer recorded the verified caller');
});

test('RemoteStore.purgeTrash() is ERR_NOT_IMPLEMENTED: each node empties its own trash', async (t: TestContext) => {
  const { store } = await pair(t);
  await rejectsWith(t, store.purgeTrash(), 'ERR_NOT_IMPLEMENTED');
});

test('RemoteStore.status() sums the peer stores as kind "remote" and says offline once closed', async (t: TestContext) => {
  const { store, memory } = await pair(t);
  await put(store, newUuid(), testBytes(1000), { meta: { uploader: store.self } });
  const status = await store.status();
  const local = await memory.status();
  t.assert.deepStrictEqual(
    [status.kind, status.id, status.online, status.used, status.chunks, status.free],
    ['remote', store.id, true, 1000, 1, local.free],
  );
  await store.close();
  const closed = await store.status();
  t.assert.deepStrictEqual([closed.online, closed.reason], [false, 'closed']);
  await rejectsWith(t, store.get(newUuid()), 'ERR_STORE_OFFLINE');
});

test('RemoteStore.status() reports a peer that went away as offline instead of throwing', async (t: TestContext) => {
  const { node, store } = await pair(t);
  node.server.destroy();
  const status = await store.status();
  t.assert.deepStrictEqual([status.online, status.reason], [false, 'io-error']);
});

/**
 * A peer that answers a chunk GET with a 100-byte chunk's headers, then sends what `send` writes and
 * nothing more; returns a RemoteStore on it whose no-progress time is 200 ms.
 */
async function slowPeer(t: TestContext, send: (stream: ServerHttp2Stream) => Promise<void> | void) {
  const [me, peer] = await Promise.all([member(0), member(1)]);
  const server = new NodeServer({
    identity: peer.identity,
    pins: { isPinned: (u, spki) => u === me.uuid && me.keyPair.spkiDer.equals(spki) },
    host: '127.0.0.2',
    port: 0,
    handler: async ({ stream }) => {
      stream.respond({
        ':status': 200,
        'content-length': 100,
        'x-arozdfs-sha256': createHash('sha256').digest('hex'),
        'x-arozdfs-chunk-size': 100,
        'x-arozdfs-uploader': me.uuid,
        'x-arozdfs-stored-at': new Date().toISOString(),
      });
      await send(stream);
    },
  });
  teardown(t).defer(() => server.destroy());
  const { port } = await server.start();
  const session = await connect(t, me, { ...peer, host: '127.0.0.2', port });
  return new RemoteStore(session, peer.uuid, { idleMs: 200 });
}

test('a remote read that gets no bytes for idleMs fails with ERR_TIMEOUT', async (t: TestContext) => {
  const store = await slowPeer(t, (stream) => {
    stream.write(Buffer.alloc(10)); // then nothing
  });
  const reader = await store.get(newUuid());
  t.assert.strictEqual(reader.length, 100);
  await rejectsWith(t, readAll(reader), 'ERR_TIMEOUT');
});

test('time between reads does not count as no progress; the next wait for bytes gets idleMs again', {
  timeout: 30_000,
}, async (t: TestContext) => {
  const more = Promise.withResolvers<void>();
  const store = await slowPeer(t, async (stream) => {
    stream.write(Buffer.alloc(10));
    await more.promise;
    stream.write(Buffer.alloc(40)); // then nothing
  });
  const reader = await store.get(newUuid());
  const into = Buffer.alloc(100);
  t.assert.strictEqual(await reader.read(into), 10);
  await sleep(600); // the caller's own work, three times idleMs: not the peer's silence
  const waiting = reader.read(into);
  more.resolve();
  t.assert.strictEqual(await waiting, 40);
  // The peer now sends nothing: the next wait fails after idleMs, as the first one would.
  await rejectsWith(t, reader.read(into), 'ERR_TIMEOUT');
});

test('a remote read is cancelled by its signal with ERR_INTERRUPTED', async (t: TestContext) => {
  const { store } = await pair(t);
  const uuid = newUuid();
  await put(store, uuid, testBytes(3 * 1024 * 1024), { meta: { uploader: store.self } });
  const controller = new AbortController();
  const reader = await store.get(uuid, { signal: controller.signal });
  const first = await reader.read(Buffer.alloc(1024));
  t.assert.ok(first > 0);
  controller.abort();
  await rejectsWith(t, reader.read(Buffer.alloc(1024)), 'ERR_INTERRUPTED');
});

test('a pool session that sent a transfer is closed once quiet; a store over it goes on over a new session', async (t: TestContext) => {
  const [me, busy, calm] = await Promise.all([member(0), member(1), member(2)]);
  const [one, two] = [
    await startNode(t, busy, [me, busy, calm], { store: new MemoryStore() }),
    await startNode(t, calm, [me, busy, calm], { store: new MemoryStore() }),
  ];
  const nodes = [one, two];
  const pool = new PeerPool({
    identity: me.identity,
    pins: { isPinned: (uuid, spki) => nodes.some((n) => n.uuid === uuid && n.keyPair.spkiDer.equals(spki)) },
    addressesOf: (uuid) => nodes.filter((n) => n.uuid === uuid).map((n) => ({ host: n.host, port: n.port })),
    recycleAfterBytes: MiB,
    recycleQuietMs: 200,
  });
  t.after(() => pool.close());
  const [first, little] = [await pool.session(one.uuid), await pool.session(two.uuid)];
  await getJson(little, '/v1/node', two.uuid);
  const store = new RemoteStore(first, one.uuid, {
    renew: (old, signal) => pool.renewed(one.uuid, old, signal !== undefined ? { signal } : {}),
  });
  const closed = once(first, 'close');
  const uuid = newUuid();
  const bytes = testBytes(2 * MiB);
  await put(store, uuid, bytes, { meta: { uploader: me.uuid } });
  await closed;
  // The other session has been quiet for longer, but sent little: it stays.
  t.assert.ok(!little.closed && !little.destroyed, 'a session that sent little stays');
  t.assert.strictEqual(await pool.session(two.uuid), little);
  await rejectsWith(t, getJson(first, '/v1/node', one.uuid), 'ERR_PEER_UNREACHABLE'); // no new stream on it
  const second = await pool.session(one.uuid);
  t.assert.notStrictEqual(second, first, 'the next call dials afresh');
  t.assert.ok((await readAll(await store.get(uuid))).equals(bytes), 'the store goes on over the new session');
  // A session that closed any other way is not replaced behind the store's back.
  second.destroy();
  await rejectsWith(t, store.head(uuid), 'ERR_PEER_UNREACHABLE');
  await rejectsWith(t, getJson(second, '/v1/node', one.uuid), 'ERR_PEER_UNREACHABLE');
});
