import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { type TestContext, test } from 'node:test';
import {
  type CatalogKeys,
  type CatalogStore,
  encodeStatement,
  SqliteCatalogStore,
  type StatementFields,
  signStatement,
  verifyStatement,
} from '../../src/catalog/index.ts';
import { isArozError } from '../../src/errors.ts';
import { verifyIndex } from '../../src/keys/index.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import {
  chunkUuid,
  type IndexOptions,
  keysOf,
  makeIndex,
  openStore,
  type TestNode,
  testNode,
  uuidOf,
} from './helpers.ts';

/** Signs, verifies and applies one statement; returns the store's answer for it. */
function put(
  store: CatalogStore,
  keys: CatalogKeys,
  node: TestNode,
  fields: Omit<StatementFields, 'signer'>,
) {
  const s = signStatement({ ...fields, signer: node.uuid } as StatementFields, node.keyPair);
  const result = store.apply([verifyStatement(encodeStatement(s), keys)]);
  return { ...result, code: result.refused[0]?.code, statement: s };
}

const index = (n: TestNode, seq: number, id: string, extra: Partial<IndexOptions> = {}) =>
  ({ kind: 'index', seq, file: id, body: { index: makeIndex(n, { id, ...extra }) } }) as const;
const tomb = (seq: number, id: string, revision = 0) =>
  ({ kind: 'tombstone', seq, file: id, body: { revision, deletedAt: '2026-12-03T00:00:00Z' } }) as const;
const holdings = (seq: number, id: string, chunks: string[]) =>
  ({ kind: 'holdings', seq, file: id, body: { chunks: [...chunks].sort() } }) as const;

test('the store answers ls, find by name or id, the newest index and the holders of a chunk', async (t: TestContext) => {
  const [a, b, c] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  const keys = keysOf(c, a, b);
  const store = await openStore(t);
  const [f1, f2, f3] = [uuidOf(1), uuidOf(2), uuidOf(3)];
  t.assert.strictEqual(
    put(store, keys, a, index(a, 10, f1, { name: 'report.pdf', holders: [a.uuid, b.uuid] })).accepted,
    1,
  );
  t.assert.strictEqual(
    put(store, keys, b, index(b, 5, f2, { name: 'report.pdf', createdAt: '2026-12-02T00:00:00Z' })).accepted,
    1,
  );
  t.assert.strictEqual(put(store, keys, a, index(a, 11, f3, { name: 'a.txt', chunks: 3 })).accepted, 1);
  t.assert.strictEqual(put(store, keys, c, holdings(1, f1, [chunkUuid(f1, 0)])).accepted, 1);

  t.assert.deepStrictEqual(
    [...store.files()].map((f) => [f.name, f.id]),
    [
      ['a.txt', f3],
      ['report.pdf', f1],
      ['report.pdf', f2],
    ],
  );
  t.assert.deepStrictEqual(
    store.findByName('report.pdf').map((f) => f.uploader),
    [a.uuid, b.uuid],
  );
  const f = store.getFile(f3);
  t.assert.deepStrictEqual(
    { name: f?.name, uploader: f?.uploader, chunks: f?.chunks, revision: f?.revision, copies: f?.copies },
    { name: 'a.txt', uploader: a.uuid, chunks: 3, revision: 0, copies: 1 },
  );
  const signed = store.indexOf(f1);
  t.assert.ok(signed !== undefined);
  t.assert.strictEqual(verifyIndex(signed, [{ ...a.keyPair, owner: a.uuid }]).owner, a.uuid);
  t.assert.deepStrictEqual(store.holdersOf(chunkUuid(f1, 0)), [a.uuid, b.uuid, c.uuid].sort());
  t.assert.deepStrictEqual(store.holdersOf(chunkUuid(f1, 1)), [a.uuid, b.uuid].sort());
  t.assert.deepStrictEqual(
    store.summary(),
    new Map([
      [a.uuid, 11],
      [b.uuid, 5],
      [c.uuid, 1],
    ]),
  );
  // Holdings replace the holder's earlier holdings of that file.
  put(store, keys, c, holdings(2, f1, [chunkUuid(f1, 1)]));
  t.assert.deepStrictEqual(store.holdersOf(chunkUuid(f1, 0)), [a.uuid, b.uuid].sort());
  t.assert.ok(store.holdersOf(chunkUuid(f1, 1)).includes(c.uuid));
  t.assert.strictEqual(store.statementsAfter(c.uuid, 0).statements.length, 1, 'the older holdings are gone');
});

test('revisions: the newest wins; an older one or the same one with another index is ERR_CATALOG_STALE', async (t: TestContext) => {
  const [a, c] = await Promise.all([testNode(0), testNode(2)]);
  const keys = keysOf(c, a);
  const store = await openStore(t);
  const id = uuidOf(1);
  put(store, keys, a, index(a, 1, id, { revision: 1 }));
  const again = put(store, keys, a, index(a, 2, id, { revision: 1 }));
  t.assert.strictEqual(again.code, 'ERR_CATALOG_STALE', 'same revision, another signed index');
  t.assert.strictEqual(put(store, keys, a, index(a, 3, id, { revision: 0 })).code, 'ERR_CATALOG_STALE');
  const newer = put(store, keys, a, index(a, 4, id, { revision: 2, holders: [a.uuid, c.uuid] }));
  t.assert.strictEqual(newer.accepted, 1);
  t.assert.strictEqual(store.getFile(id)?.revision, 2);
  t.assert.strictEqual(store.indexOf(id)?.revision, 2);
  t.assert.deepStrictEqual(
    store.statementsAfter(a.uuid, 0).statements.map((b) => JSON.parse(b.toString()).seq),
    [4],
    'the superseded revision is no longer served',
  );
  // The same bytes again are a duplicate, not a refusal.
  const dup = store.apply([verifyStatement(encodeStatement(newer.statement), keys)]);
  t.assert.deepStrictEqual([dup.accepted, dup.duplicates, dup.refused.length], [0, 1, 0]);
  // A seq already passed is stale whatever it says.
  t.assert.strictEqual(put(store, keys, a, index(a, 4, id, { revision: 9 })).code, 'ERR_CATALOG_STALE');
});

test('a tombstone by the uploader is final: no index, revision or holdings of the file after it', async (t: TestContext) => {
  const [a, b, c] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  const keys = keysOf(c, a, b);
  const store = await openStore(t);
  const id = uuidOf(1);
  put(store, keys, a, index(a, 1, id, { holders: [a.uuid, b.uuid] }));
  put(store, keys, b, holdings(1, id, [chunkUuid(id, 0)]));
  t.assert.strictEqual(
    put(store, keys, b, tomb(2, id)).code,
    'ERR_CATALOG_SIGNER',
    'only the uploader deletes',
  );
  t.assert.ok(store.getFile(id) !== undefined);

  const deletion = put(store, keys, a, tomb(2, id));
  t.assert.strictEqual(deletion.accepted, 1);
  t.assert.deepStrictEqual(deletion.deleted, [
    { id, uploader: a.uuid, revision: 0, deletedAt: '2026-12-03T00:00:00Z' },
  ]);
  t.assert.strictEqual(store.getFile(id), undefined);
  t.assert.strictEqual(store.indexOf(id), undefined);
  t.assert.deepStrictEqual([...store.files()], []);
  t.assert.deepStrictEqual(store.holdersOf(chunkUuid(id, 0)), []);
  t.assert.deepStrictEqual(store.tombstoneOf(id), {
    id,
    uploader: a.uuid,
    revision: 0,
    deletedAt: '2026-12-03T00:00:00Z',
  });
  t.assert.strictEqual(put(store, keys, a, index(a, 3, id, { revision: 5 })).code, 'ERR_CATALOG_DELETED');
  t.assert.strictEqual(put(store, keys, b, holdings(3, id, [])).code, 'ERR_CATALOG_DELETED');
  // Only the tombstone is left to serve: a node that was away learns the deletion, not the file.
  t.assert.deepStrictEqual(
    store.statementsAfter(a.uuid, 0).statements.map((x) => JSON.parse(x.toString()).kind),
    ['tombstone'],
  );
  t.assert.strictEqual(store.statementsAfter(b.uuid, 0).statements.length, 0);
  // A refusal of a well-signed statement counts its seq as seen, so it is not fetched again.
  t.assert.strictEqual(store.maxSeq(a.uuid), 3);
});

test('a tombstone that arrives before the index counts only if the uploader signed it', async (t: TestContext) => {
  const [a, b, c] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  const keys = keysOf(c, a, b);
  const store = await openStore(t);
  const [x, y] = [uuidOf(1), uuidOf(2)];
  put(store, keys, b, tomb(1, x)); // b claims to delete a's file before a's index arrived
  t.assert.strictEqual(put(store, keys, a, index(a, 1, x)).accepted, 1);
  t.assert.strictEqual(store.tombstoneOf(x), undefined, "b's tombstone was void");
  t.assert.ok(store.getFile(x) !== undefined);

  put(store, keys, a, tomb(2, y)); // a's own tombstone, relayed ahead of a's (superseded) index
  t.assert.strictEqual(put(store, keys, a, index(a, 1, y)).code, 'ERR_CATALOG_STALE');
  t.assert.strictEqual(put(store, keys, a, index(a, 3, y)).code, 'ERR_CATALOG_DELETED');
});

test('statementsAfter is bounded by count and bytes, and one statement always fits', async (t: TestContext) => {
  const [a, c] = await Promise.all([testNode(0), testNode(2)]);
  const keys = keysOf(c, a);
  const store = await openStore(t);
  for (let k = 1; k <= 5; k++) put(store, keys, a, index(a, k * 10, uuidOf(k)));
  const all = store.statementsAfter(a.uuid, 0);
  t.assert.deepStrictEqual([all.statements.length, all.last, all.more], [5, 50, false]);
  const two = store.statementsAfter(a.uuid, 10, { maxCount: 2 });
  t.assert.deepStrictEqual([two.statements.length, two.last, two.more], [2, 30, true]);
  const one = store.statementsAfter(a.uuid, 0, { maxBytes: 1 });
  t.assert.deepStrictEqual([one.statements.length, one.last, one.more], [1, 10, true]);
  const none = store.statementsAfter(a.uuid, 50);
  t.assert.deepStrictEqual([none.statements.length, none.last, none.more], [0, 50, false]);
});

test('the catalog is still there after the store is closed and opened again', async (t: TestContext) => {
  const [a, c] = await Promise.all([testNode(0), testNode(2)]);
  const keys = keysOf(c, a);
  const path = join(await tmpDir(t), 'catalog.db');
  const first = await SqliteCatalogStore.open(path);
  put(first, keys, a, index(a, 7, uuidOf(1), { name: 'kept.bin' }));
  first.close();
  const second = await SqliteCatalogStore.open(path);
  teardown(t).defer(() => second.close());
  t.assert.deepStrictEqual(
    [...second.files()].map((f) => f.name),
    ['kept.bin'],
  );
  t.assert.strictEqual(second.maxSeq(a.uuid), 7);
});

test('a catalog file that is not a catalog is refused with ERR_HOME_INVALID, not a crash', async (t: TestContext) => {
  const dir = await tmpDir(t);
  const garbage = join(dir, 'garbage.db');
  await writeFile(garbage, Buffer.alloc(8192, 0x41));
  await t.assert.rejects(SqliteCatalogStore.open(garbage), (err) => isArozError(err, 'ERR_HOME_INVALID'));
  const future = join(dir, 'future.db');
  const raw = new DatabaseSync(future);
  raw.exec(
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT; INSERT INTO meta VALUES ('schema', '99')",
  );
  raw.close();
  await t.assert.rejects(SqliteCatalogStore.open(future), (err) => isArozError(err, 'ERR_HOME_INVALID'));
});
