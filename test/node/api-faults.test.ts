/**
 * Attack and fault cases of the node API (docs/protocol.md, "Limits" and "Errors"), each with its status and code, sent as
 * raw HTTP/2 requests by a pinned peer that does not play by the rules: hostile chunk UUIDs, bodies
 * that break their declaration, missing trailers, conflicts, a full store, a silent sender, absurd
 * sizes and headers. After each, the store holds nothing it should not and no space stays reserved.
 */
import { type TestContext, test } from 'node:test';
import { RemoteChunkWriter } from '../../src/transport/chunks.ts';
import { newUuid } from '../../src/uuid.ts';
import { testBytes } from '../helpers/random.ts';
import { listTree, put, rejectsWith, sha256 } from '../store/helpers.ts';
import {
  type ApiNode,
  codeOf,
  connect,
  exchange,
  member,
  type NodeOptions,
  remoteStore,
  startNodes,
} from './api-testnet.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

async function pair(t: TestContext, options: NodeOptions = {}) {
  const members = await Promise.all([member(0), member(1)]);
  const [b] = await startNodes(t, members, options, [1]);
  const a = members[0];
  if (a === undefined || b === undefined) throw new Error('a pair');
  return { a, b, session: await connect(t, a, b) };
}

/** Chunk files, sidecars and temp files of a node's store, after its handlers are done. */
async function chunkFiles(node: ApiNode): Promise<string[]> {
  await node.idle();
  return (await listTree(`${node.storeDir}/chunks`)).filter((f) => !f.endsWith('/'));
}

async function assertUntouched(t: TestContext, node: ApiNode, message: string) {
  t.assert.deepStrictEqual(await chunkFiles(node), [], `${message}: no chunk, sidecar or temp file`);
  const status = await node.store.status();
  t.assert.deepStrictEqual(
    [status.chunks, status.reserved, status.used],
    [0, 0, 0],
    `${message}: nothing reserved`,
  );
}

function putHeaders(uuid: string, size: number): Record<string, string | number> {
  return { ':method': 'PUT', ':path': `/v1/chunks/${uuid}`, 'content-length': size };
}

test('a hostile or non-canonical chunk UUID is 400 ERR_INVALID_UUID for every method; nothing is touched', async (t: TestContext) => {
  const { b, session } = await pair(t);
  const uuid = newUuid();
  const hostile = [
    '../../etc/passwd',
    '..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2f%2e%2e%2fetc%2fpasswd',
    '..',
    '',
    uuid.toUpperCase(),
    `urn:uuid:${uuid}`,
    `${uuid}/`,
    `${uuid}%00`,
    `${uuid}?x=1`,
    `${uuid}/../${uuid}`,
    '6ba7b810-9dad-11d1-80b4-00c04fd430c8',
  ];
  for (const name of hostile) {
    for (const method of ['PUT', 'GET', 'HEAD', 'DELETE']) {
      const body = method === 'PUT' ? Buffer.alloc(10) : undefined;
      const headers = {
        ':method': method,
        ':path': `/v1/chunks/${name}`,
        ...(body ? { 'content-length': 10 } : {}),
      };
      const answer = await exchange(
        session,
        headers,
        body ? { body, trailers: { 'x-arozdfs-sha256': sha256(body) } } : {},
      );
      t.assert.deepStrictEqual(
        [answer.status, codeOf(answer)],
        [400, 'ERR_INVALID_UUID'],
        `${method} ${name}`,
      );
    }
  }
  await assertUntouched(t, b, 'hostile UUIDs');
});

test('a body shorter or longer than its content-length is reset by HTTP/2 and nothing is kept', async (t: TestContext) => {
  const { a, b, session } = await pair(t);
  const bytes = testBytes(50 * KiB);
  const trailers = { 'x-arozdfs-sha256': sha256(bytes) };
  const short = await exchange(session, putHeaders(newUuid(), bytes.length + 1), { body: bytes, trailers });
  t.assert.deepStrictEqual([short.status, short.rstCode], [undefined, 1], 'PROTOCOL_ERROR on the stream');
  await assertUntouched(t, b, 'short');
  const other = await connect(t, a, b); // a longer body breaks the whole connection
  const long = await exchange(other, putHeaders(newUuid(), bytes.length - 1), { body: bytes, trailers });
  t.assert.strictEqual(long.status, undefined, 'no answer: the peer broke the HTTP/2 rules');
  t.assert.notStrictEqual(long.rstCode, 0);
  await assertUntouched(t, b, 'long');
});

test('a body with another hash than its trailer is 422 ERR_CHUNK_HASH and not kept', async (t: TestContext) => {
  const { b, session } = await pair(t);
  const bytes = testBytes(50 * KiB);
  const answer = await exchange(session, putHeaders(newUuid(), bytes.length), {
    body: bytes,
    trailers: { 'x-arozdfs-sha256': sha256(testBytes(8)) },
  });
  t.assert.deepStrictEqual([answer.status, codeOf(answer)], [422, 'ERR_CHUNK_HASH']);
  await assertUntouched(t, b, 'other hash');
});

test('a put with no trailer is 400 ERR_BAD_REQUEST and not kept', async (t: TestContext) => {
  const { b, session } = await pair(t);
  const bytes = testBytes(20 * KiB);
  const answer = await exchange(session, putHeaders(newUuid(), bytes.length), { body: bytes });
  t.assert.deepStrictEqual([answer.status, codeOf(answer)], [400, 'ERR_BAD_REQUEST']);
  await assertUntouched(t, b, 'no trailer');
});

test('a put of an existing UUID: 200 with the same hash, 409 ERR_CHUNK_CONFLICT with another', async (t: TestContext) => {
  const { b, session } = await pair(t);
  const uuid = newUuid();
  const bytes = testBytes(30 * KiB);
  const send = (body: Buffer, size = body.length) =>
    exchange(session, putHeaders(uuid, size), { body, trailers: { 'x-arozdfs-sha256': sha256(body) } });
  const first = await send(bytes);
  t.assert.deepStrictEqual([first.status, JSON.parse(first.body.toString()).result], [201, 'created']);
  const again = await send(bytes);
  t.assert.deepStrictEqual([again.status, JSON.parse(again.body.toString()).result], [200, 'exists']);
  const other = await send(testBytes(bytes.length));
  t.assert.deepStrictEqual([other.status, codeOf(other)], [409, 'ERR_CHUNK_CONFLICT']);
  const otherSize = await exchange(
    session,
    { ...putHeaders(uuid, 10), expect: '100-continue' },
    { hold: true },
  );
  t.assert.deepStrictEqual(
    [otherSize.status, codeOf(otherSize), otherSize.continued],
    [409, 'ERR_CHUNK_CONFLICT', false],
    'another size is refused before any byte',
  );
  await b.idle();
  const stored = await b.store.get(uuid);
  t.assert.strictEqual(stored.info.sha256, sha256(bytes), 'the first chunk stays');
  await stored.close();
});

test('a full store answers 507 ERR_NO_SPACE before the body: nothing reserved, written or sent', async (t: TestContext) => {
  const { b, session } = await pair(t, { limit: 1 * MiB });
  const free = (await b.store.status()).free;
  // Our own client asks for "100 Continue": the refusal comes before a single body byte is sent.
  const sentBefore = session.socket.bytesWritten;
  await rejectsWith(t, RemoteChunkWriter.open(session, b.uuid, newUuid(), { size: 4 * MiB }), 'ERR_NO_SPACE');
  t.assert.ok(session.socket.bytesWritten - sentBefore < 4 * KiB, 'only headers went out');
  // An eager client sends its body at once: the answer still comes first, and it is cut short.
  const eager = session.socket.bytesWritten;
  const answer = await exchange(session, putHeaders(newUuid(), 64 * MiB), {
    body: Buffer.alloc(64 * MiB),
    trailers: { 'x-arozdfs-sha256': '0'.repeat(64) },
  });
  t.assert.deepStrictEqual([answer.status, codeOf(answer)], [507, 'ERR_NO_SPACE']);
  const sent = session.socket.bytesWritten - eager;
  t.assert.ok(sent < 16 * MiB, `sent ${sent} bytes of 64 MiB before the refusal stopped it`);
  await assertUntouched(t, b, 'full store');
  t.assert.strictEqual((await b.store.status()).free, free);
});

test('a sender that goes silent is closed after the idle time and its reservation released', async (t: TestContext) => {
  const { a, b, session } = await pair(t, { idleMs: 300 });
  const writer = await RemoteChunkWriter.open(session, b.uuid, newUuid(), { size: 1 * MiB });
  await writer.write(testBytes(KiB));
  t.assert.strictEqual((await b.store.status()).reserved, 1 * MiB, 'reserved while the put is open');
  await b.idle(); // returns once the node gave up on the silent put
  await assertUntouched(t, b, 'silent sender');
  await rejectsWith(t, writer.write(testBytes(KiB)), 'ERR_PEER_UNREACHABLE');
  const again = await remoteStore(t, a, b);
  t.assert.strictEqual(
    await put(again, newUuid(), testBytes(KiB), { meta: { uploader: a.uuid } }),
    'created',
  );
});

test('an absurd content-length, or none, is refused before any body byte', async (t: TestContext) => {
  const { b, session } = await pair(t);
  const uuid = newUuid();
  for (const size of ['4294967296', '99999999999']) {
    const answer = await exchange(
      session,
      {
        ':method': 'PUT',
        ':path': `/v1/chunks/${uuid}`,
        'content-length': size,
        expect: '100-continue',
      },
      { hold: true },
    );
    t.assert.deepStrictEqual(
      [answer.status, codeOf(answer), answer.continued],
      [400, 'ERR_INVALID_SIZE', false],
      size,
    );
  }
  const overflow = await exchange(
    session,
    { ...putHeaders(uuid, 0), 'content-length': '18446744073709551616' },
    { hold: true },
  );
  t.assert.deepStrictEqual(
    [overflow.status, overflow.rstCode],
    [undefined, 1],
    'beyond 64 bits: HTTP/2 resets it',
  );
  const none = await exchange(
    session,
    { ':method': 'PUT', ':path': `/v1/chunks/${uuid}` },
    { body: Buffer.alloc(5), trailers: { 'x-arozdfs-sha256': sha256(Buffer.alloc(5)) } },
  );
  t.assert.deepStrictEqual([none.status, codeOf(none)], [400, 'ERR_BAD_REQUEST']);
  await assertUntouched(t, b, 'absurd sizes');
});

test('hostile index and position headers are refused; the uploader is never taken from a header', async (t: TestContext) => {
  const { a, b, session } = await pair(t);
  const body = testBytes(100);
  const trailers = { 'x-arozdfs-sha256': sha256(body) };
  const badIndex = await exchange(
    session,
    { ...putHeaders(newUuid(), 100), 'x-arozdfs-index': '../../x' },
    { body, trailers },
  );
  t.assert.deepStrictEqual([badIndex.status, codeOf(badIndex)], [400, 'ERR_INVALID_UUID']);
  const badPosition = await exchange(
    session,
    { ...putHeaders(newUuid(), 100), 'x-arozdfs-i': '-1' },
    { body, trailers },
  );
  t.assert.deepStrictEqual([badPosition.status, codeOf(badPosition)], [400, 'ERR_BAD_REQUEST']);
  await assertUntouched(t, b, 'bad headers');
  const uuid = newUuid();
  const claimed = await exchange(
    session,
    { ...putHeaders(uuid, 100), 'x-arozdfs-uploader': newUuid() },
    { body, trailers },
  );
  t.assert.strictEqual(claimed.status, 201);
  t.assert.strictEqual((await b.store.head(uuid))?.uploader, a.uuid);
});
