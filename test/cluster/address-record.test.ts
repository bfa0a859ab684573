import { type TestContext, test } from 'node:test';
import { AddressBook } from '../../src/cluster/address-book.ts';
import {
  decodeRecord,
  encodeRecord,
  RECORD_LIMITS,
  recordPayload,
  verifyRecord,
  verifyTrustedRecord,
} from '../../src/cluster/address-record.ts';
import { isArozError } from '../../src/errors.ts';
import { newUuid } from '../../src/uuid.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { makeRecord, T0 } from './helpers.ts';

const nodeA = newUuid();
const nodeB = newUuid();

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (isArozError(err)) return err.code;
    throw err;
  }
}

test('verifyRecord() accepts a record signed with the key pinned for its node, also after a round trip', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  const record = makeRecord(keyA, { node: nodeA, seq: 7, addresses: [{ host: '::1', port: 7420 }] });
  const verified = verifyRecord(encodeRecord(record), keyA, T0 + 1000);
  t.assert.deepStrictEqual(verified, record);
  t.assert.strictEqual(verified.seq, 7);
  t.assert.ok(recordPayload(record).toString('utf8').startsWith('arozdfs-address-record-v1\n{"addresses":'));
});

test('verifyRecord() refuses a record signed by another pinned key (ERR_RECORD_UNTRUSTED)', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  const keyB = await testKeyPair(1);
  // Node B signs a record that claims to be node A's: it must be checked against A's pin.
  const forged = makeRecord(keyB, { node: nodeA, seq: 99 });
  t.assert.strictEqual(
    code(() => verifyRecord(forged, keyA, T0)),
    'ERR_RECORD_UNTRUSTED',
  );
  const pins = new Map([
    [nodeA, keyA],
    [nodeB, keyB],
  ]);
  t.assert.strictEqual(
    code(() => verifyTrustedRecord(forged, pins, T0)),
    'ERR_RECORD_UNTRUSTED',
  );
});

test('verifyRecord() refuses a record for an unpinned node UUID (ERR_RECORD_UNTRUSTED)', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  const record = makeRecord(keyA, { node: nodeA, seq: 1 });
  t.assert.strictEqual(
    code(() => verifyTrustedRecord(record, new Map(), T0)),
    'ERR_RECORD_UNTRUSTED',
  );
  t.assert.strictEqual(
    code(() => verifyRecord(record, undefined, T0)),
    'ERR_RECORD_UNTRUSTED',
  );
});

test('verifyRecord() refuses an expired record (ERR_RECORD_EXPIRED) and one issued in the future', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  const record = makeRecord(keyA, { node: nodeA, seq: 1, ttlMs: 60_000 });
  t.assert.strictEqual(
    code(() => verifyRecord(record, keyA, T0 + 60_000)),
    'ERR_RECORD_EXPIRED',
  );
  const early = makeRecord(keyA, { node: nodeA, seq: 2, now: T0 + RECORD_LIMITS.maxClockSkewMs + 60_000 });
  t.assert.strictEqual(
    code(() => verifyRecord(early, keyA, T0)),
    'ERR_RECORD_INVALID',
  );
});

test('verifyRecord() refuses a record whose fields were changed after signing', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  const record = makeRecord(keyA, { node: nodeA, seq: 5 });
  const moved = { ...record, addresses: [{ host: '203.0.113.9', port: 7420 }] };
  const bumped = { ...record, seq: 6 };
  const later = { ...record, expiresAt: '2026-12-01T12:00:00.000Z' };
  for (const changed of [moved, bumped, later]) {
    t.assert.strictEqual(
      code(() => verifyRecord(changed, keyA, T0)),
      'ERR_RECORD_UNTRUSTED',
    );
  }
});

test('decodeRecord() refuses malformed and oversized records (ERR_RECORD_INVALID)', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  const good = makeRecord(keyA, { node: nodeA, seq: 1 });
  const bad: unknown[] = [
    'not json',
    '{"node":"a","node":"b"}',
    JSON.stringify({ ...good, extra: 1 }),
    JSON.stringify({ ...good, node: nodeA.toUpperCase() }),
    JSON.stringify({ ...good, seq: 0 }),
    JSON.stringify({ ...good, seq: 1.5 }),
    JSON.stringify({ ...good, addresses: [{ host: 'example.com', port: 7420 }] }),
    JSON.stringify({ ...good, addresses: [{ host: '0.0.0.0', port: 7420 }] }),
    JSON.stringify({ ...good, addresses: [{ host: '127.0.0.1', port: 70000 }] }),
    JSON.stringify({ ...good, addresses: [good.addresses[0], good.addresses[0]] }),
    JSON.stringify({ ...good, signature: { ...good.signature, alg: 'RSA-SHA1' } }),
    JSON.stringify({ ...good, expiresAt: '2027-01-01T00:00:00Z' }),
    JSON.stringify({ ...good, instance: 'x'.repeat(5000) }),
    JSON.stringify([good]),
  ];
  for (const text of bad) {
    t.assert.strictEqual(
      code(() => decodeRecord(text as string)),
      'ERR_RECORD_INVALID',
      String(text).slice(0, 80),
    );
  }
  const many = Array.from({ length: RECORD_LIMITS.maxAddresses + 1 }, (_, i) => ({
    host: '127.0.0.1',
    port: i + 1,
  }));
  t.assert.throws(() => makeRecord(keyA, { node: nodeA, seq: 1, addresses: many }), TypeError);
});

test('a replayed older record is ignored: the address book keeps only a newer seq', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  const book = new AddressBook({ now: () => T0 });
  book.trust(nodeA);
  const old = verifyRecord(
    makeRecord(keyA, { node: nodeA, seq: 10, addresses: [{ host: '10.0.0.1', port: 7420 }] }),
    keyA,
    T0,
  );
  const current = verifyRecord(
    makeRecord(keyA, { node: nodeA, seq: 11, addresses: [{ host: '10.0.0.2', port: 7420 }] }),
    keyA,
    T0,
  );
  t.assert.strictEqual(book.accept(old).outcome, 'accepted');
  t.assert.strictEqual(book.accept(current).outcome, 'accepted');
  t.assert.strictEqual(book.accept(old).outcome, 'stale');
  t.assert.strictEqual(book.accept(current).outcome, 'stale', 'the same seq again is not newer');
  t.assert.strictEqual(book.record(nodeA)?.seq, 11);
  t.assert.deepStrictEqual(book.endpoints(nodeA), [{ host: '10.0.0.2', port: 7420 }]);
});

test('the address book ignores a verified record for a node it does not trust, and an expired one', async (t: TestContext) => {
  const keyA = await testKeyPair(0);
  let now = T0;
  const book = new AddressBook({ now: () => now });
  const record = verifyRecord(makeRecord(keyA, { node: nodeA, seq: 3, ttlMs: 60_000 }), keyA, T0);
  t.assert.strictEqual(book.accept(record).outcome, 'untrusted');
  t.assert.deepStrictEqual(book.nodes(), []);
  book.trust(nodeA);
  now = T0 + 60_000;
  t.assert.strictEqual(book.accept(record).outcome, 'expired');
  t.assert.strictEqual(book.record(nodeA), undefined);
});
