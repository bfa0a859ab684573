import { type TestContext, test } from 'node:test';
import { AddressBook, BOOK_LIMITS } from '../../src/cluster/address-book.ts';
import { verifyRecord } from '../../src/cluster/address-record.ts';
import { newUuid } from '../../src/uuid.ts';
import { testKeyPair } from '../helpers/keys.ts';
import { makeRecord, T0 } from './helpers.ts';

const A = newUuid();
const B = newUuid();
const home = { host: '192.168.1.10', port: 7420 };

function clock(start = T0) {
  const c = { now: start, advance: (ms: number) => (c.now += ms) };
  return c;
}

test('only markSuccess() makes an address verified; records, --peer and hints never do', (t: TestContext) => {
  const book = new AddressBook({ now: () => T0 });
  book.trust(A);
  book.addStatic(A, { host: '10.0.0.1', port: 7420 });
  book.addHint(A, { host: '10.0.0.2', port: 7420 }, 'mdns');
  book.addHint(A, { host: '10.0.0.3', port: 7420 }, 'inbound');
  t.assert.ok(book.candidates(A).every((c) => !c.verified));
  book.markSuccess(A, { host: '10.0.0.3', port: 7420 });
  const verified = book.candidates(A).filter((c) => c.verified);
  t.assert.deepStrictEqual(
    verified.map((c) => [c.host, c.source]),
    [['10.0.0.3', 'live']],
  );
  book.markClosed(A, { host: '10.0.0.3', port: 7420 });
  t.assert.strictEqual(book.candidates(A)[0]?.source, 'verified');
});

test('hints never replace a verified address: it stays first after a thousand spoofed announcements', (t: TestContext) => {
  const c = clock();
  const book = new AddressBook({ now: () => c.now });
  book.trust(A);
  book.markSuccess(A, home);
  for (let i = 0; i < 1000; i++) {
    const spoof = { host: `203.0.113.${i % 250}`, port: 7000 + i };
    book.addHint(A, spoof, i % 2 === 0 ? 'mdns' : 'inbound');
    if (i % 3 === 0) book.markFailure(A, spoof); // the pinned handshake to the spoofer fails
    c.advance(10);
  }
  const list = book.candidates(A);
  t.assert.deepStrictEqual({ host: list[0]?.host, port: list[0]?.port }, home);
  t.assert.ok(list.filter((x) => !x.verified).length <= BOOK_LIMITS.maxHintsPerNode);
  t.assert.deepStrictEqual(book.stats(), { nodes: 1, addresses: list.length, hints: list.length - 1 });
});

test('a failing address backs off exponentially and comes back when due', (t: TestContext) => {
  const c = clock();
  const book = new AddressBook({ now: () => c.now, limits: { backoffBaseMs: 1000, backoffMaxMs: 8000 } });
  book.trust(A);
  book.markSuccess(A, home);
  book.addStatic(A, { host: '10.0.0.9', port: 7420 });
  book.markFailure(A, home);
  let first = book.candidates(A)[0];
  t.assert.strictEqual(first?.host, '10.0.0.9', 'the failing address goes last while it backs off');
  const failing = book.candidates(A).find((x) => x.host === home.host);
  t.assert.deepStrictEqual([failing?.due, failing?.retryAt, failing?.verified], [false, c.now + 1000, true]);
  const waits = [];
  for (let i = 0; i < 5; i++) {
    book.markFailure(A, home);
    waits.push((book.candidates(A).find((x) => x.host === home.host)?.retryAt ?? 0) - c.now);
  }
  t.assert.deepStrictEqual(waits, [2000, 4000, 8000, 8000, 8000]);
  c.advance(8000);
  first = book.candidates(A)[0];
  t.assert.deepStrictEqual([first?.host, first?.due], [home.host, true]);
  t.assert.deepStrictEqual(book.endpoints(A, { dueOnly: true })[0], home);
});

test('a hint that keeps failing is dropped, and an old hint is forgotten', (t: TestContext) => {
  const c = clock();
  const book = new AddressBook({ now: () => c.now });
  book.trust(A);
  const spoof = { host: '203.0.113.5', port: 7420 };
  book.addHint(A, spoof, 'mdns');
  for (let i = 0; i < BOOK_LIMITS.maxHintFailures; i++) book.markFailure(A, spoof);
  t.assert.strictEqual(book.candidates(A).length, 0);
  book.addHint(A, spoof, 'mdns');
  c.advance(BOOK_LIMITS.hintTtlMs + 1);
  t.assert.strictEqual(book.candidates(A).length, 0);
});

test('the book keeps only trusted UUIDs; --peer addresses wait until the UUID is trusted', (t: TestContext) => {
  const book = new AddressBook({ now: () => T0 });
  t.assert.strictEqual(book.addHint(A, home, 'mdns'), false);
  book.markSuccess(A, home);
  book.markSeen(A);
  t.assert.deepStrictEqual([book.nodes(), book.candidates(A), book.resolve(A)], [[], [], undefined]);
  book.addStatic(B, { host: 'NAS.example', port: 7420 });
  t.assert.strictEqual(book.addStatic(B, { host: 'nas..example', port: 7420 }), false);
  book.setTrusted([A, B]);
  t.assert.deepStrictEqual(book.endpoints(B), [{ host: 'nas.example', port: 7420 }]);
  t.assert.strictEqual(
    book.addHint(B, { host: 'nas.example', port: 1 }, 'mdns'),
    false,
    'hints are IPs only',
  );
  book.setTrusted([A]);
  t.assert.deepStrictEqual(book.nodes(), [A]);
  t.assert.deepStrictEqual(book.candidates(B), []);
});

test('online and offline: seen marks online, silence or a failed heartbeat marks offline', (t: TestContext) => {
  const c = clock();
  const book = new AddressBook({ now: () => c.now, limits: { offlineAfterMs: 30_000 } });
  book.trust(A);
  t.assert.strictEqual(book.state(A), 'unknown');
  t.assert.deepStrictEqual(book.markSeen(A), { node: A, from: 'unknown', to: 'online' });
  t.assert.strictEqual(book.markSeen(A), undefined, 'no change, no report');
  c.advance(30_001);
  t.assert.strictEqual(book.state(A), 'offline');
  book.markSeen(A);
  t.assert.deepStrictEqual(book.markUnreachable(A), { node: A, from: 'online', to: 'offline' });
  t.assert.strictEqual(book.resolve(A)?.lastSeen, c.now);
});

test('a newer record replaces the recorded addresses; a verified address it drops stays verified', async (t: TestContext) => {
  const key = await testKeyPair(0);
  const book = new AddressBook({ now: () => T0 });
  book.trust(A);
  const r1 = makeRecord(key, { node: A, seq: 1, addresses: [home, { host: '10.0.0.1', port: 7420 }] });
  book.accept(verifyRecord(r1, key, T0));
  book.markSuccess(A, home);
  const r2 = makeRecord(key, { node: A, seq: 2, addresses: [{ host: '10.0.0.2', port: 7420 }] });
  t.assert.strictEqual(book.accept(verifyRecord(r2, key, T0)).outcome, 'accepted');
  t.assert.deepStrictEqual(
    book.candidates(A).map((x) => [x.host, x.source]),
    [
      [home.host, 'live'],
      ['10.0.0.2', 'record'],
    ],
  );
  t.assert.strictEqual(book.resolve(A)?.record?.seq, 2, 'resolve() answers with the newest record');
});

test('a duplicate identity is detected when two instances issue records at once, not after a restart', async (t: TestContext) => {
  const key = await testKeyPair(0);
  const book = new AddressBook({ now: () => T0 });
  book.trust(A);
  book.trust(B);
  const accept = (node: string, seq: number, instance: string) =>
    book.accept(verifyRecord(makeRecord(key, { node, seq, instance }), key, T0));
  // A restart: run 1 issued 10 and 20, run 2 issues 30 and 40; run 1's records arrive late and out of order.
  const [run1, run2] = [newUuid(), newUuid()];
  for (const [seq, inst] of [
    [30, run2],
    [20, run1],
    [40, run2],
    [10, run1],
  ] as const) {
    t.assert.strictEqual(accept(A, seq, inst).duplicate, undefined);
  }
  // A cloned disk: both copies keep signing, their seqs interleave.
  const [left, right] = [newUuid(), newUuid()];
  t.assert.strictEqual(accept(B, 100, left).duplicate, undefined);
  t.assert.strictEqual(accept(B, 105, right).duplicate, undefined);
  const found = accept(B, 110, left).duplicate;
  t.assert.deepStrictEqual(found?.instances, [left, right]);
  t.assert.deepStrictEqual(book.resolve(B)?.duplicate?.instances, [left, right]);
  t.assert.strictEqual(book.resolve(A)?.duplicate, undefined);
});
