import { verify } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import {
  CATALOG_LIMITS,
  catalogKeys,
  decodeStatement,
  encodeStatement,
  STATEMENT_DOMAIN,
  type Statement,
  signStatement,
  statementForms,
  statementPayload,
  verifyStatement,
} from '../../src/catalog/index.ts';
import { isArozError } from '../../src/errors.ts';
import { signingPayload } from '../../src/index-file/index.ts';
import { signIndex, verifyIndex } from '../../src/keys/index.ts';
import { keysOf, makeIndex, testNode, uuidOf } from './helpers.ts';

const SEED = 0x5eed14;
const code = (expected: string) => (err: unknown) => isArozError(err, expected as never);

test('each kind round-trips: sign, encode, decode, verify; the encoding is canonical', async (t: TestContext) => {
  const a = await testNode(0);
  const keys = keysOf(a);
  const file = uuidOf(1);
  const statements: Statement[] = [
    // An unknown "signer" member inside the index must not confuse the encoding.
    signStatement(
      {
        kind: 'index',
        signer: a.uuid,
        seq: 1,
        file,
        body: {
          index: signIndex({ ...makeIndex(a, { id: file }), x: { signer: 'z', version: 1 } }, a.keyPair),
        },
      },
      a.keyPair,
    ),
    signStatement(
      {
        kind: 'tombstone',
        signer: a.uuid,
        seq: 2,
        file,
        body: { revision: 0, deletedAt: '2026-12-02T00:00:00Z' },
      },
      a.keyPair,
    ),
    signStatement(
      { kind: 'holdings', signer: a.uuid, seq: 3, file, body: { chunks: [uuidOf(5), uuidOf(6)] } },
      a.keyPair,
    ),
  ];
  for (const s of statements) {
    const bytes = encodeStatement(s);
    const decoded = decodeStatement(bytes);
    t.assert.deepStrictEqual(decoded, s);
    t.assert.ok(encodeStatement(decoded).equals(bytes), 'one statement, one encoding');
    const forms = statementForms(s);
    t.assert.ok(
      forms.bytes.equals(bytes) && forms.payload.equals(statementPayload(s)),
      'one canonicalization, same bytes',
    );
    const verified = verifyStatement(bytes, keys);
    t.assert.ok(verified.bytes.equals(bytes));
    // Re-indented JSON is the same statement: it verifies and re-encodes to the canonical bytes.
    t.assert.ok(verifyStatement(JSON.stringify(s, null, 2), keys).bytes.equals(bytes));
  }
});

test('holdings and tombstones round-trip for any valid fields (fast-check)', async (t: TestContext) => {
  const a = await testNode(0);
  const keys = keysOf(a);
  const uuid = fc.uuid({ version: 4 });
  const body = fc.oneof(
    fc.record({
      kind: fc.constant('holdings' as const),
      body: fc.record({ chunks: fc.uniqueArray(uuid, { maxLength: 8 }).map((c) => c.sort()) }),
    }),
    fc.record({
      kind: fc.constant('tombstone' as const),
      body: fc.record({
        revision: fc.nat(),
        deletedAt: fc
          .date({ min: new Date(0), max: new Date('9999-01-01'), noInvalidDate: true })
          .map((d) => d.toISOString()),
      }),
    }),
  );
  fc.assert(
    fc.property(body, uuid, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (kb, file, seq) => {
      const s = signStatement({ ...kb, signer: a.uuid, seq, file } as never, a.keyPair);
      t.assert.deepStrictEqual(
        verifyStatement(encodeStatement(s), keys).statement,
        JSON.parse(JSON.stringify(s)),
      );
    }),
    { seed: SEED, numRuns: 40 },
  );
});

test('decodeStatement refuses hostile input with ERR_CATALOG_INVALID or ERR_CATALOG_TOO_LARGE only', async (t: TestContext) => {
  const a = await testNode(0);
  const good = signStatement(
    { kind: 'holdings', signer: a.uuid, seq: 9, file: uuidOf(1), body: { chunks: [] } },
    a.keyPair,
  );
  const text = encodeStatement(good).toString('utf8');
  const hostile = fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
    // The good statement with one character changed or cut.
    fc
      .tuple(fc.nat(text.length - 1), fc.string({ unit: 'binary', minLength: 0, maxLength: 2 }))
      .map(([at, s]) => text.slice(0, at) + s + text.slice(at + 1)),
  );
  fc.assert(
    fc.property(hostile, (input) => {
      try {
        decodeStatement(input);
      } catch (err) {
        t.assert.ok(
          isArozError(err, 'ERR_CATALOG_INVALID') || isArozError(err, 'ERR_CATALOG_TOO_LARGE'),
          String(err),
        );
      }
    }),
    { seed: SEED, numRuns: 500 },
  );
  const cases: Array<[string, unknown, string]> = [
    ['an unknown field', { ...good, extra: 1 }, 'ERR_CATALOG_INVALID'],
    ['seq 0', { ...good, seq: 0 }, 'ERR_CATALOG_INVALID'],
    ['an unknown kind', { ...good, kind: 'owner' }, 'ERR_CATALOG_INVALID'],
    ['a traversal as file id', { ...good, file: '../../etc/passwd' }, 'ERR_CATALOG_INVALID'],
    ['unsorted holdings', { ...good, body: { chunks: [uuidOf(2), uuidOf(1)] } }, 'ERR_CATALOG_INVALID'],
    ['alg "none"', { ...good, signature: { ...good.signature, alg: 'none' } }, 'ERR_CATALOG_INVALID'],
  ];
  for (const [what, value, expected] of cases) {
    t.assert.throws(() => decodeStatement(JSON.stringify(value)), code(expected), what);
  }
  t.assert.throws(
    () => decodeStatement(text.replace('{', '{"seq":1,')),
    code('ERR_CATALOG_INVALID'),
    'duplicate key',
  );
  t.assert.throws(
    () => decodeStatement(Buffer.alloc(CATALOG_LIMITS.maxStatementBytes + 1, 0x20)),
    code('ERR_CATALOG_TOO_LARGE'),
  );
});

test('verifyStatement refuses a bad signature, a forged signer and an unknown signer', async (t: TestContext) => {
  const [a, b, stranger] = await Promise.all([testNode(0), testNode(1), testNode(2)]);
  const keysOfC = keysOf(b, a); // b's view: a is pinned, stranger is not
  const file = uuidOf(3);
  const good = signStatement(
    { kind: 'holdings', signer: a.uuid, seq: 4, file, body: { chunks: [] } },
    a.keyPair,
  );
  t.assert.strictEqual(verifyStatement(good, keysOfC).statement.seq, 4);

  const changed = { ...good, seq: 5 };
  t.assert.throws(
    () => verifyStatement(changed, keysOfC),
    code('ERR_CATALOG_SIGNATURE'),
    'changed after signing',
  );

  // b, trusted, signs in a's name: the key is not a's pinned key.
  const forged = signStatement(
    { kind: 'holdings', signer: a.uuid, seq: 6, file, body: { chunks: [] } },
    b.keyPair,
  );
  t.assert.throws(() => verifyStatement(forged, keysOf(stranger, a, b)), code('ERR_CATALOG_SIGNATURE'));
  // Even a forged key fingerprint does not help: only a's key verifies.
  const relabelled = { ...forged, signature: { ...forged.signature, key: a.keyPair.fingerprint } };
  t.assert.throws(() => verifyStatement(relabelled, keysOf(stranger, a, b)), code('ERR_CATALOG_SIGNATURE'));

  const unknown = signStatement(
    { kind: 'holdings', signer: stranger.uuid, seq: 1, file, body: { chunks: [] } },
    stranger.keyPair,
  );
  t.assert.throws(() => verifyStatement(unknown, keysOfC), code('ERR_CATALOG_UNTRUSTED'));
});

test("an index statement must carry the signer's own signed index", async (t: TestContext) => {
  const [a, b] = await Promise.all([testNode(0), testNode(1)]);
  const keys = keysOf(b, a);
  const file = uuidOf(7);
  const aIndex = makeIndex(a, { id: file });
  // b states a's index as its own word: words in another's mouth.
  const relayedAsOwn = signStatement(
    { kind: 'index', signer: b.uuid, seq: 1, file, body: { index: aIndex } },
    b.keyPair,
  );
  t.assert.throws(() => verifyStatement(relayedAsOwn, keys), code('ERR_CATALOG_SIGNER'));
  // a's statement of an index that is unsigned, or changed after a signed it.
  const unsigned = makeIndex(a, { id: file }, false);
  const s1 = signStatement(
    { kind: 'index', signer: a.uuid, seq: 1, file, body: { index: unsigned } },
    a.keyPair,
  );
  t.assert.throws(() => verifyStatement(s1, keys), code('ERR_CATALOG_SIGNATURE'));
  const tampered = { ...aIndex, file: { ...aIndex.file, name: 'other.txt' } };
  const s2 = signStatement(
    { kind: 'index', signer: a.uuid, seq: 2, file, body: { index: tampered } },
    a.keyPair,
  );
  t.assert.throws(() => verifyStatement(s2, keys), code('ERR_CATALOG_SIGNATURE'));
  // The statement's file must be the index's id.
  const s3 = signStatement(
    { kind: 'index', signer: a.uuid, seq: 3, file: uuidOf(8), body: { index: aIndex } },
    a.keyPair,
  );
  t.assert.throws(() => verifyStatement(s3, keys), code('ERR_CATALOG_INVALID'));
});

test('a node verifies its own statements with a retired key too', async (t: TestContext) => {
  const [old, current] = await Promise.all([testNode(0), testNode(3)]);
  const keys = catalogKeys(
    { nodeUuid: old.uuid, keys: [old.keyPair, current.keyPair] },
    { get: () => undefined },
  );
  const s = signStatement(
    { kind: 'holdings', signer: old.uuid, seq: 1, file: uuidOf(1), body: { chunks: [] } },
    old.keyPair,
  );
  t.assert.strictEqual(verifyStatement(s, keys).statement.signer, old.uuid);
});

test('domain separation: a statement signature is never an index signature, nor the reverse', async (t: TestContext) => {
  const a = await testNode(0);
  const file = uuidOf(9);
  const index = makeIndex(a, { id: file });
  const s = signStatement({ kind: 'index', signer: a.uuid, seq: 1, file, body: { index } }, a.keyPair);
  t.assert.ok(statementPayload(s).toString('utf8').startsWith(STATEMENT_DOMAIN));
  const value = Buffer.from(s.signature.value, 'base64');
  const pss = { key: a.keyPair.publicKey, padding: 6, saltLength: 32 };
  t.assert.ok(
    !verify('sha256', signingPayload(index), pss, value),
    'a statement signature is no index signature',
  );
  // An index signature moved onto a statement does not verify either.
  const moved = { ...s, signature: { ...s.signature, value: index.signature!.value } };
  t.assert.throws(() => verifyStatement(moved, keysOf(a)), code('ERR_CATALOG_SIGNATURE'));
  t.assert.doesNotThrow(() => verifyIndex(index, [{ ...a.keyPair, owner: a.uuid }]));
});
