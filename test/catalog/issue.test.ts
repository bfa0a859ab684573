import { type TestContext, test } from 'node:test';
import { CATALOG_LIMITS, issueStatement, issueStatements, signStatement } from '../../src/catalog/index.ts';
import { isArozError } from '../../src/errors.ts';
import { keysOf, makeIndex, openStore, testNode, uuidOf } from './helpers.ts';

test("issueStatement numbers, signs and stores this node's statements; seq grows past the clock", async (t: TestContext) => {
  const [a, b] = await Promise.all([testNode(0), testNode(1)]);
  const store = await openStore(t);
  let clock = 1_000;
  const options = { self: a.uuid, keyPair: a.keyPair, keys: keysOf(a, b), now: () => clock };
  const id = uuidOf(1);
  const s1 = issueStatement(
    store,
    { kind: 'index', file: id, body: { index: makeIndex(a, { id }) } },
    options,
  );
  t.assert.strictEqual(s1.seq, 1_000, 'at least the time in ms');
  const s2 = issueStatement(store, { kind: 'holdings', file: id, body: { chunks: [] } }, options);
  t.assert.strictEqual(s2.seq, 1_001, 'one more than the last, when the clock has not moved');
  clock = 500; // the clock went back: the seq still grows
  const s3 = issueStatement(
    store,
    { kind: 'tombstone', file: id, body: { revision: 0, deletedAt: '2026-12-03T00:00:00Z' } },
    options,
  );
  t.assert.strictEqual(s3.seq, 1_002);
  t.assert.strictEqual(store.getFile(id), undefined);
  t.assert.throws(
    () =>
      issueStatement(
        store,
        { kind: 'index', file: id, body: { index: makeIndex(a, { id, revision: 1 }) } },
        options,
      ),
    (err) => isArozError(err, 'ERR_CATALOG_DELETED'),
    'a deleted file cannot come back, not even from its uploader',
  );
});

test("issueStatement refuses to delete another node's file (rm on a non-uploader)", async (t: TestContext) => {
  const [a, b] = await Promise.all([testNode(0), testNode(1)]);
  const store = await openStore(t);
  const id = uuidOf(2);
  const asA = { self: a.uuid, keyPair: a.keyPair, keys: keysOf(b, a) };
  // b's catalog holds a's file (as if relayed); b then tries to delete it.
  issueStatement(store, { kind: 'index', file: id, body: { index: makeIndex(a, { id }) } }, asA);
  t.assert.throws(
    () =>
      issueStatement(
        store,
        { kind: 'tombstone', file: id, body: { revision: 0, deletedAt: '2026-12-03T00:00:00Z' } },
        { self: b.uuid, keyPair: b.keyPair, keys: keysOf(b, a) },
      ),
    (err) => isArozError(err, 'ERR_CATALOG_SIGNER'),
  );
  t.assert.ok(store.getFile(id) !== undefined);
});

test('an index too large for a statement is refused before it is signed into the catalog', async (t: TestContext) => {
  const a = await testNode(0);
  const id = uuidOf(3);
  const index = makeIndex(a, { id });
  const padded = { ...index, note: 'x'.repeat(60_000) };
  // Unknown fields are part of the index; 300 strings of 60,000 characters pass 16 MiB.
  const huge = { ...padded, notes: Array.from({ length: 300 }, () => padded.note) };
  t.assert.throws(
    () =>
      signStatement({ kind: 'index', signer: a.uuid, seq: 1, file: id, body: { index: huge } }, a.keyPair),
    (err) => isArozError(err, 'ERR_CATALOG_TOO_LARGE'),
    `over ${CATALOG_LIMITS.maxStatementBytes} bytes`,
  );
});

test('issueStatements stores a batch of indexes with consecutive seqs in one call, and reports a refused one by file', async (t: TestContext) => {
  const a = await testNode(0);
  const store = await openStore(t);
  const options = { self: a.uuid, keyPair: a.keyPair, keys: keysOf(a), now: () => 5_000 };
  const deleted = uuidOf(20);
  issueStatement(
    store,
    { kind: 'index', file: deleted, body: { index: makeIndex(a, { id: deleted }) } },
    options,
  );
  issueStatement(
    store,
    { kind: 'tombstone', file: deleted, body: { revision: 0, deletedAt: '2026-12-03T00:00:00Z' } },
    options,
  );
  const ids = [uuidOf(21), deleted, uuidOf(22)];
  const refused = issueStatements(
    store,
    ids.map((id) => ({
      kind: 'index' as const,
      file: id,
      body: { index: makeIndex(a, { id, ...(id === deleted ? { revision: 1 } : {}) }) },
    })),
    options,
  );
  t.assert.deepStrictEqual([...refused.keys()], [deleted]);
  t.assert.strictEqual(refused.get(deleted)?.code, 'ERR_CATALOG_DELETED');
  t.assert.ok(store.getFile(uuidOf(21)) !== undefined && store.getFile(uuidOf(22)) !== undefined);
  t.assert.strictEqual(store.maxSeq(a.uuid), 5_004);
});
