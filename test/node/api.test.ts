/**
 * The node API between real in-process nodes (NodeServer + nodeApi + DiskStore, identities from
 * makeNodeCertificate, pins from a TrustStore in each node's temp home), over pinned TLS on
 * 127.0.0.x: chunks go both ways and across three nodes, ranges, GET /v1/node, routes, and many
 * concurrent gets through the pooled send buffers.
 */
import { createHash } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { getJson } from '../../src/transport/client.ts';
import { newUuid } from '../../src/uuid.ts';
import { VERSION } from '../../src/version.ts';
import { testBytes } from '../helpers/random.ts';
import { put, readAll, readInto, rejectsWith, sha256 } from '../store/helpers.ts';
import { codeOf, connect, exchange, member, remoteStore, startNodes } from './api-testnet.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

async function nodes(t: TestContext, count: number) {
  const members = await Promise.all(Array.from({ length: count }, (_, k) => member(k)));
  return startNodes(t, members);
}

test('two nodes put chunks to each other and read them back; the holder records the uploader', async (t: TestContext) => {
  const [a, b] = await nodes(t, 2);
  if (a === undefined || b === undefined) throw new Error('two nodes');
  const aToB = await remoteStore(t, a, b);
  const bToA = await remoteStore(t, b, a);
  const one = { uuid: newUuid(), bytes: testBytes(300 * KiB + 7) };
  const two = { uuid: newUuid(), bytes: testBytes(2 * MiB + 1) };
  const indexId = newUuid();
  t.assert.strictEqual(
    await put(aToB, one.uuid, one.bytes, { meta: { uploader: a.uuid, indexId, i: 4 } }),
    'created',
  );
  t.assert.strictEqual(await put(bToA, two.uuid, two.bytes, { meta: { uploader: b.uuid } }), 'created');
  t.assert.ok((await readAll(await aToB.get(one.uuid))).equals(one.bytes));
  t.assert.ok((await readInto(await bToA.get(two.uuid), 64 * KiB)).equals(two.bytes));
  const info = await b.store.head(one.uuid);
  t.assert.deepStrictEqual(
    [info?.uploader, info?.indexId, info?.i, info?.sha256],
    [a.uuid, indexId, 4, sha256(one.bytes)],
  );
  t.assert.deepStrictEqual(await aToB.head(one.uuid), info, 'head over the wire equals the sidecar');
  t.assert.strictEqual(await a.store.has(one.uuid), false, 'the chunk is on the holder only');
});

test('three nodes: C reads what A put on B, only A may delete it (403 for C), then it is gone', async (t: TestContext) => {
  const [a, b, c] = await nodes(t, 3);
  if (a === undefined || b === undefined || c === undefined) throw new Error('three nodes');
  const uuid = newUuid();
  const bytes = testBytes(700 * KiB);
  await put(await remoteStore(t, a, b), uuid, bytes, { meta: { uploader: a.uuid } });
  const cToB = await remoteStore(t, c, b);
  t.assert.ok((await readAll(await cToB.get(uuid))).equals(bytes));
  const refused = await exchange(await connect(t, c, b), {
    ':method': 'DELETE',
    ':path': `/v1/chunks/${uuid}`,
  });
  t.assert.deepStrictEqual([refused.status, codeOf(refused)], [403, 'ERR_NOT_UPLOADER']);
  await rejectsWith(t, cToB.delete(uuid, { by: c.uuid }), 'ERR_NOT_UPLOADER');
  t.assert.strictEqual(await b.store.has(uuid), true);
  const deleted = await exchange(await connect(t, a, b), {
    ':method': 'DELETE',
    ':path': `/v1/chunks/${uuid}`,
  });
  t.assert.strictEqual(deleted.status, 200);
  t.assert.strictEqual(await cToB.head(uuid), undefined);
  await rejectsWith(t, cToB.get(uuid), 'ERR_CHUNK_MISSING');
  t.assert.strictEqual((await b.store.status()).trash.chunks, 1, 'a delete goes to the trash');
});

test('GET /v1/node answers the node UUID, name, version and its stores', async (t: TestContext) => {
  const [a, b] = await nodes(t, 2);
  if (a === undefined || b === undefined) throw new Error('two nodes');
  const info = (await getJson(await connect(t, a, b), '/v1/node', b.uuid)) as Record<string, unknown>;
  const stores = info['stores'] as Array<Record<string, unknown>>;
  t.assert.deepStrictEqual([info['uuid'], info['name'], info['version']], [b.uuid, b.name, VERSION]);
  t.assert.strictEqual(stores.length, 1);
  t.assert.deepStrictEqual(
    [stores[0]?.['kind'], stores[0]?.['online'], typeof stores[0]?.['free'], stores[0]?.['used']],
    ['disk', true, 'number', 0],
  );
});

test('an unknown route or method answers 404 ERR_ROUTE_NOT_FOUND', async (t: TestContext) => {
  const [a, b] = await nodes(t, 2);
  if (a === undefined || b === undefined) throw new Error('two nodes');
  const session = await connect(t, a, b);
  for (const [method, path] of [
    ['GET', '/v1/nope'],
    ['GET', '/'],
    ['PUT', '/v1/node'],
    ['POST', `/v1/chunks/${newUuid()}`],
    ['GET', '/v1/chunks'],
    ['GET', '/v1/tasks'],
  ] as const) {
    const answer = await exchange(session, { ':method': method, ':path': path });
    t.assert.deepStrictEqual(
      [answer.status, codeOf(answer)],
      [404, 'ERR_ROUTE_NOT_FOUND'],
      `${method} ${path}`,
    );
  }
});

test('a byte range answers 206 with content-range; a bad range answers 416', async (t: TestContext) => {
  const [a, b] = await nodes(t, 2);
  if (a === undefined || b === undefined) throw new Error('two nodes');
  const uuid = newUuid();
  const bytes = testBytes(100 * KiB);
  await put(await remoteStore(t, a, b), uuid, bytes, { meta: { uploader: a.uuid } });
  const session = await connect(t, a, b);
  const path = `/v1/chunks/${uuid}`;
  const ranged = await exchange(session, { ':method': 'GET', ':path': path, range: 'bytes=1000-1999' });
  t.assert.deepStrictEqual(
    [ranged.status, ranged.headers['content-range'], ranged.headers['x-arozdfs-sha256']],
    [206, `bytes 1000-1999/${bytes.length}`, sha256(bytes)],
  );
  t.assert.ok(ranged.body.equals(bytes.subarray(1000, 2000)));
  const open = await exchange(session, { ':method': 'GET', ':path': path, range: 'bytes=99000-' });
  t.assert.ok(open.body.equals(bytes.subarray(99000)));
  const head = await exchange(session, { ':method': 'HEAD', ':path': path, range: 'bytes=0-9' });
  t.assert.deepStrictEqual([head.status, head.headers['content-length'], head.body.length], [206, '10', 0]);
  for (const range of [
    'bytes=5-3',
    `bytes=0-${bytes.length}`,
    'bytes=-5',
    'bytes=0-1,4-5',
    'items=0-1',
    'bytes=x-',
  ]) {
    for (const method of ['GET', 'HEAD']) {
      const bad = await exchange(session, { ':method': method, ':path': path, range });
      t.assert.deepStrictEqual([bad.status, codeOf(bad)], [416, 'ERR_INVALID_RANGE'], `${method} ${range}`);
    }
  }
});

test('many concurrent gets of random chunks come back intact through the pooled send buffers', async (t: TestContext) => {
  const [a, b] = await nodes(t, 2);
  if (a === undefined || b === undefined) throw new Error('two nodes');
  const store = await remoteStore(t, a, b);
  const chunks = Array.from({ length: 6 }, (_, k) => ({
    uuid: newUuid(),
    bytes: testBytes(3 * MiB + k * 4099),
  }));
  for (const c of chunks) await put(store, c.uuid, c.bytes, { meta: { uploader: a.uuid }, piece: MiB });
  // Twelve gets on one session share its window, so pieces wait in HTTP/2 while others are read.
  const reads = [...chunks, ...chunks].map(async (c, k) => {
    const hash = createHash('sha256');
    const reader = await store.get(c.uuid);
    if (k % 2 === 0) {
      for await (const piece of reader) hash.update(piece);
    } else {
      const buffer = Buffer.alloc(200 * KiB);
      for (let n = await reader.read(buffer); n > 0; n = await reader.read(buffer)) {
        hash.update(buffer.subarray(0, n));
        await new Promise((resolve) => setImmediate(resolve)); // a slower reader
      }
    }
    return hash.digest('hex');
  });
  t.assert.deepStrictEqual(
    await Promise.all(reads),
    [...chunks, ...chunks].map((c) => sha256(c.bytes)),
  );
});
