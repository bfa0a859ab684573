import { type TestContext, test } from 'node:test';
import {
  applyBatch,
  CATALOG_LIMITS,
  type CatalogKeys,
  type CatalogStore,
  encodeStatement,
  localPeer,
  type Refusal,
  type StatementFields,
  signStatement,
  syncFrom,
  verifyStatement,
  wants,
} from '../../src/catalog/index.ts';
import { isArozError } from '../../src/errors.ts';
import { keysOf, makeIndex, openStore, type TestNode, testNode, uuidOf } from './helpers.ts';

const sign = (node: TestNode, fields: Omit<StatementFields, 'signer'>, signer = node.uuid) =>
  encodeStatement(signStatement({ ...fields, signer } as StatementFields, node.keyPair));
const indexOf = (node: TestNode, seq: number, id: string, name = 'f.bin') =>
  sign(node, { kind: 'index', seq, file: id, body: { index: makeIndex(node, { id, name }) } });
const tombOf = (node: TestNode, seq: number, id: string) =>
  sign(node, { kind: 'tombstone', seq, file: id, body: { revision: 0, deletedAt: '2026-12-03T00:00:00Z' } });

/** Applies already encoded statements to a store as if they had come from a peer. */
function seed(store: CatalogStore, keys: CatalogKeys, statements: Buffer[]): void {
  const result = store.apply(statements.map((s) => verifyStatement(s, keys)));
  if (result.refused.length > 0) throw new Error(result.refused[0]!.message);
}

test('wants() asks only for signers the peer has newer statements of, and that we can verify', async (t: TestContext) => {
  const [a, b, c] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  const stranger = uuidOf(99, 0xdead);
  const local = new Map([
    [a.uuid, 5],
    [b.uuid, 9],
  ]);
  const remote = new Map([
    [a.uuid, 7],
    [b.uuid, 9],
    [c.uuid, 3],
    [stranger, 100],
  ]);
  t.assert.deepStrictEqual(wants(local, remote, keysOf(c, a, b)), [
    { signer: a.uuid, after: 5 },
    { signer: c.uuid, after: 0 },
  ]);
});

test('applyBatch stores the good statements and refuses each bad one with its code, without stopping', async (t: TestContext) => {
  const [a, b, c, stranger] = await Promise.all([testNode(0), testNode(1), testNode(2), testNode(3)]);
  const keys = keysOf(c, a, b);
  const store = await openStore(t);
  const [f1, f2, f3] = [uuidOf(1), uuidOf(2), uuidOf(3)];
  seed(store, keys, [indexOf(a, 1, f1)]);
  const tampered = Buffer.from(indexOf(a, 3, f3).toString().replace('"seq":3', '"seq":4'));
  const batch = [
    indexOf(a, 2, f2), // good
    sign(b, { kind: 'holdings', seq: 5, file: f1, body: { chunks: [] } }, a.uuid), // b forges a's word
    tampered, // changed after signing
    indexOf(stranger, 1, uuidOf(4)), // not pinned
    tombOf(b, 6, f1), // b deletes a's file
    Buffer.from('{"format":"arozdfs-catalog"'), // not JSON
    sign(a, { kind: 'holdings', seq: 7, file: f1, body: { chunks: [] } }), // good
  ];
  const result = applyBatch(store, keys, batch);
  t.assert.deepStrictEqual(
    result.refused.map((r: Refusal) => [r.position, r.code]),
    [
      [1, 'ERR_CATALOG_SIGNATURE'],
      [2, 'ERR_CATALOG_SIGNATURE'],
      [3, 'ERR_CATALOG_UNTRUSTED'],
      [4, 'ERR_CATALOG_SIGNER'],
      [5, 'ERR_CATALOG_INVALID'],
    ],
  );
  t.assert.strictEqual(result.accepted, 2);
  t.assert.deepStrictEqual(
    [...store.files()].map((f) => f.id),
    [f1, f2],
  );
  t.assert.strictEqual(store.maxSeq(a.uuid), 7);
});

test('a batch over its count or byte cap is refused whole with ERR_CATALOG_TOO_LARGE', async (t: TestContext) => {
  const [a, c] = await Promise.all([testNode(0), testNode(2)]);
  const keys = keysOf(c, a);
  const store = await openStore(t);
  const one = indexOf(a, 1, uuidOf(1));
  const tooMany = Array.from({ length: CATALOG_LIMITS.maxBatchCount + 1 }, () => one);
  t.assert.throws(
    () => applyBatch(store, keys, tooMany),
    (err) => isArozError(err, 'ERR_CATALOG_TOO_LARGE'),
  );
  const big = Buffer.alloc(CATALOG_LIMITS.maxBatchBytes / 2 + 1, 0x20);
  t.assert.throws(
    () => applyBatch(store, keys, [big, big]),
    (err) => isArozError(err, 'ERR_CATALOG_TOO_LARGE'),
  );
  // One over-cap statement alone is refused by itself, as a statement.
  const huge = Buffer.alloc(CATALOG_LIMITS.maxStatementBytes + 1, 0x20);
  t.assert.strictEqual(applyBatch(store, keys, [huge]).refused[0]?.code, 'ERR_CATALOG_TOO_LARGE');
  t.assert.strictEqual(store.counts().statements, 0);
});

test('a statement that does not answer the request (another signer, an older seq) is refused', async (t: TestContext) => {
  const [a, b, c] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  const keys = keysOf(c, a, b);
  const store = await openStore(t);
  const result = applyBatch(store, keys, [indexOf(b, 9, uuidOf(1)), indexOf(a, 3, uuidOf(2))], {
    signer: a.uuid,
    after: 5,
  });
  t.assert.deepStrictEqual(
    result.refused.map((r) => r.code),
    ['ERR_CATALOG_INVALID', 'ERR_CATALOG_INVALID'],
  );
});

test('a node that was away catches up in bounded batches, relayed statements of a dead node included', async (t: TestContext) => {
  const [a, b, c] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  // a's store holds its own statements and b's (b is gone since); c was away all along.
  const storeA = await openStore(t);
  const storeC = await openStore(t);
  const statementsOfB = Array.from({ length: 7 }, (_, k) => indexOf(b, k + 1, uuidOf(100 + k), `b${k}.bin`));
  seed(storeA, keysOf(a, b), statementsOfB);
  const ofA = Array.from({ length: 5 }, (_, k) => indexOf(a, k + 1, uuidOf(k), `a${k}.bin`));
  seed(storeA, keysOf(a, b), [...ofA, tombOf(a, 6, uuidOf(0))]);

  const refused: Refusal[] = [];
  const deleted: string[] = [];
  const first = await syncFrom(localPeer(storeA), storeC, keysOf(c, a, b), {
    limits: { maxCount: 2 },
    onRefused: (r) => refused.push(r),
    onDeleted: (tombstones) => deleted.push(...tombstones.map((x) => x.id)),
  });
  t.assert.deepStrictEqual(refused, []);
  t.assert.deepStrictEqual(deleted, [uuidOf(0)], 'the holder learns the deletion');
  t.assert.strictEqual(first.accepted, 4 + 1 + 7, "a's four files and one tombstone, b's seven files");
  t.assert.ok(first.batches >= 6, 'two statements a batch');
  t.assert.deepStrictEqual(storeC.summary(), storeA.summary());
  t.assert.deepStrictEqual([...storeC.files()], [...storeA.files()]);
  t.assert.strictEqual(storeC.getFile(uuidOf(0)), undefined, 'the deleted file never appears');
  t.assert.ok(storeC.tombstoneOf(uuidOf(0)) !== undefined);
  const again = await syncFrom(localPeer(storeA), storeC, keysOf(c, a, b));
  t.assert.deepStrictEqual([again.accepted, again.batches], [0, 0], 'nothing new: nothing asked');
});

test('a forged statement in an answer holds back the rest, so a trusted peer cannot make a node skip a seq', async (t: TestContext) => {
  const [a, b, c] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  const storeC = await openStore(t);
  const real = indexOf(a, 1, uuidOf(1));
  const good = indexOf(a, 2, uuidOf(2));
  // b, trusted, answers for a with a forgery in place of a#1, then a's real #2.
  const forged = sign(
    b,
    { kind: 'tombstone', seq: 1, file: uuidOf(2), body: { revision: 0, deletedAt: '2026-12-03T00:00:00Z' } },
    a.uuid,
  );
  const liar = {
    summary: async () => new Map([[a.uuid, 2]]),
    statementsAfter: async (_signer: string, after: number) =>
      after < 2
        ? { statements: [forged, good], last: 2, more: false }
        : { statements: [], last: after, more: false },
  };
  const refused: Refusal[] = [];
  const first = await syncFrom(liar, storeC, keysOf(c, a, b), { onRefused: (r) => refused.push(r) });
  t.assert.deepStrictEqual(
    refused.map((r) => r.code),
    ['ERR_CATALOG_SIGNATURE'],
  );
  t.assert.deepStrictEqual([first.accepted, first.held], [0, 1]);
  t.assert.strictEqual(storeC.maxSeq(a.uuid), 0, 'a#1 is still wanted');
  // An honest peer then supplies both.
  const storeA = await openStore(t);
  seed(storeA, keysOf(a), [real, good]);
  const second = await syncFrom(localPeer(storeA), storeC, keysOf(c, a, b));
  t.assert.strictEqual(second.accepted, 2);
  t.assert.ok(storeC.getFile(uuidOf(1)) !== undefined && storeC.getFile(uuidOf(2)) !== undefined);
  t.assert.strictEqual(storeC.tombstoneOf(uuidOf(2)), undefined);
});
