/**
 * Byte ranges at the edges of a chunk, over the pinned TLS node API (docs/protocol.md): a range
 * must hold at least one byte of the chunk, so `bytes=<size>-` and any range of an empty chunk are
 * 416 ERR_INVALID_RANGE, for GET and HEAD; a RemoteStore still reads zero bytes at the end, as a
 * local store does.
 */
import { createHash } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { newUuid } from '../../src/uuid.ts';
import { put, readAll } from '../store/helpers.ts';
import { codeOf, connect, exchange, member, remoteStore, startNodes } from './api-testnet.ts';

const SIZE = 10_000;

/** Bytes that differ from position to position (no randomness needed). */
function pattern(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 0xff;
  return bytes;
}

async function setup(t: TestContext) {
  const members = await Promise.all([member(0), member(1)]);
  const [a, b] = await startNodes(t, members);
  if (a === undefined || b === undefined) throw new Error('two nodes');
  const store = await remoteStore(t, a, b);
  const full = { uuid: newUuid(), bytes: pattern(SIZE) };
  const empty = { uuid: newUuid(), bytes: Buffer.alloc(0) };
  for (const chunk of [full, empty])
    await put(store, chunk.uuid, chunk.bytes, { meta: { uploader: a.uuid } });
  return { store, session: await connect(t, a, b), full, empty };
}

test('a range that starts at or after the end of a chunk is 416 ERR_INVALID_RANGE; the last byte is 206', async (t: TestContext) => {
  const { session, full, empty } = await setup(t);
  const path = `/v1/chunks/${full.uuid}`;
  for (const method of ['GET', 'HEAD']) {
    const last = await exchange(session, { ':method': method, ':path': path, range: `bytes=${SIZE - 1}-` });
    t.assert.deepStrictEqual(
      [last.status, last.headers['content-range'], last.headers['content-length']],
      [206, `bytes ${SIZE - 1}-${SIZE - 1}/${SIZE}`, '1'],
      `${method} of the last byte`,
    );
    if (method === 'GET') t.assert.ok(last.body.equals(full.bytes.subarray(SIZE - 1)));
    for (const range of [
      `bytes=${SIZE}-`,
      `bytes=${SIZE + 1}-`,
      `bytes=${SIZE}-${SIZE}`,
      `bytes=${SIZE - 1}-${SIZE}`,
      'bytes=9999999999-',
    ]) {
      const bad = await exchange(session, { ':method': method, ':path': path, range });
      t.assert.deepStrictEqual(
        [bad.status, codeOf(bad), bad.body.length > 0 ? 'body' : 'none'],
        [416, 'ERR_INVALID_RANGE', method === 'GET' ? 'body' : 'none'],
        `${method} ${range}`,
      );
    }
    const emptyPath = `/v1/chunks/${empty.uuid}`;
    const whole = await exchange(session, { ':method': method, ':path': emptyPath });
    t.assert.deepStrictEqual([whole.status, whole.headers['content-length']], [200, '0'], `${method} empty`);
    const emptyRange = await exchange(session, { ':method': method, ':path': emptyPath, range: 'bytes=0-' });
    t.assert.deepStrictEqual(
      [emptyRange.status, codeOf(emptyRange)],
      [416, 'ERR_INVALID_RANGE'],
      `${method} bytes=0- of an empty chunk`,
    );
  }
});

test('a RemoteStore reads zero bytes at the end of a chunk and refuses a start beyond it', async (t: TestContext) => {
  const { store, full, empty } = await setup(t);
  const atEnd = await store.get(full.uuid, { start: SIZE });
  t.assert.deepStrictEqual(
    [atEnd.start, atEnd.end, atEnd.info.sha256],
    [SIZE, SIZE, createHash('sha256').update(full.bytes).digest('hex')],
  );
  t.assert.strictEqual((await readAll(atEnd)).length, 0);
  t.assert.strictEqual((await readAll(await store.get(empty.uuid, { start: 0 }))).length, 0);
  t.assert.strictEqual((await readAll(await store.get(full.uuid, { start: 500, end: 500 }))).length, 0);
  t.assert.ok(
    (await readAll(await store.get(full.uuid, { start: SIZE - 3 }))).equals(full.bytes.subarray(-3)),
  );
  await t.assert.rejects(store.get(full.uuid, { start: SIZE + 1 }), { code: 'ERR_INVALID_RANGE' });
  await t.assert.rejects(store.get(newUuid(), { start: 5 }), { code: 'ERR_CHUNK_MISSING' });
});
