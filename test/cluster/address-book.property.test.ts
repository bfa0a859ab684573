/**
 * Property tests of the address book's rules under any sequence of events. The book is pure and only
 * reads a record's fields, so records here are plain objects typed as verified (signatures are the
 * business of address-record.test.ts).
 */
import { type TestContext, test } from 'node:test';
import fc from 'fast-check';
import { AddressBook, type BookLimits } from '../../src/cluster/address-book.ts';
import type { VerifiedRecord } from '../../src/cluster/address-record.ts';
import type { HostPort } from '../../src/cluster/endpoint.ts';
import { newUuid } from '../../src/uuid.ts';
import { seedFastCheck } from '../helpers/random.ts';
import { T0 } from './helpers.ts';

seedFastCheck();

const NODES = [newUuid(), newUuid(), newUuid()];
const TRUSTED = NODES.slice(0, 2);
const LIMITS: Partial<BookLimits> = { maxEntriesPerNode: 6, maxHintsPerNode: 2, maxStaticPerNode: 3 };

const endpoint = fc.record({
  host: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '203.0.113.7', '::1', 'fe80::1'),
  port: fc.constantFrom(7420, 7421, 9000),
});
const node = fc.constantFrom(...NODES);

type Op =
  | { op: 'hint'; node: string; at: HostPort; via: 'mdns' | 'inbound' }
  | { op: 'static'; node: string; at: HostPort }
  | { op: 'record'; node: string; seq: number; at: HostPort[] }
  | { op: 'success' | 'failure' | 'closed'; node: string; at: HostPort }
  | { op: 'seen' | 'unreachable' | 'untrust' | 'trust'; node: string }
  | { op: 'wait'; ms: number };

const anyOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    op: fc.constant('hint' as const),
    node,
    at: endpoint,
    via: fc.constantFrom('mdns' as const, 'inbound' as const),
  }),
  fc.record({ op: fc.constant('static' as const), node, at: endpoint }),
  fc.record({
    op: fc.constant('record' as const),
    node,
    seq: fc.integer({ min: 1, max: 50 }),
    at: fc.array(endpoint, { maxLength: 8 }),
  }),
  fc.record({
    op: fc.constantFrom('success' as const, 'failure' as const, 'closed' as const),
    node,
    at: endpoint,
  }),
  fc.record({
    op: fc.constantFrom('seen' as const, 'unreachable' as const, 'untrust' as const, 'trust' as const),
    node,
  }),
  fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 20 * 60_000 }) }),
);

function recordOf(nodeUuid: string, seq: number, at: HostPort[], now: number): VerifiedRecord {
  const unique = [...new Map(at.map((a) => [`${a.host}|${a.port}`, a])).values()];
  return {
    node: nodeUuid,
    seq,
    addresses: unique,
    instance: NODES[0] ?? '',
    issuedAt: new Date(now).toISOString(),
    expiresAt: new Date(now + 3_600_000).toISOString(),
    signature: { alg: 'RSA-PSS-SHA256', key: 'SHA256:x', value: '' },
  } as unknown as VerifiedRecord;
}

function apply(book: AddressBook, clock: { now: number }, op: Op, trusted: Set<string>): void {
  switch (op.op) {
    case 'hint':
      book.addHint(op.node, op.at, op.via);
      break;
    case 'static':
      book.addStatic(op.node, op.at);
      break;
    case 'record':
      book.accept(recordOf(op.node, op.seq, op.at, clock.now));
      break;
    case 'success':
      book.markSuccess(op.node, op.at);
      break;
    case 'failure':
      book.markFailure(op.node, op.at);
      break;
    case 'closed':
      book.markClosed(op.node, op.at);
      break;
    case 'seen':
      book.markSeen(op.node);
      break;
    case 'unreachable':
      book.markUnreachable(op.node);
      break;
    case 'trust':
      trusted.add(op.node);
      book.trust(op.node);
      break;
    case 'untrust':
      trusted.delete(op.node);
      book.untrust(op.node);
      break;
    case 'wait':
      clock.now += op.ms;
  }
}

test('caps hold under any sequence: entries and hints per node, and only trusted UUIDs are kept', (t: TestContext) => {
  fc.assert(
    fc.property(fc.array(anyOp, { maxLength: 120 }), (ops) => {
      const clock = { now: T0 };
      const book = new AddressBook({ now: () => clock.now, limits: LIMITS });
      const trusted = new Set(TRUSTED);
      book.setTrusted(trusted);
      for (const op of ops) {
        apply(book, clock, op, trusted);
        t.assert.deepStrictEqual(book.nodes(), [...trusted].sort());
        for (const uuid of NODES) {
          const list = book.candidates(uuid);
          if (!trusted.has(uuid)) t.assert.strictEqual(list.length, 0);
          t.assert.ok(list.length <= (LIMITS.maxEntriesPerNode ?? 0));
          const hints = list.filter((c) => c.sources.every((s) => s === 'mdns' || s === 'inbound'));
          t.assert.ok(hints.length <= (LIMITS.maxHintsPerNode ?? 0));
          t.assert.strictEqual(new Set(list.map((c) => `${c.host}|${c.port}`)).size, list.length);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('hints never replace a verified address: after any hints, records, --peer addresses and failures elsewhere, it is still dialled first', (t: TestContext) => {
  const [uuid] = TRUSTED as [string];
  const verified = { host: '192.168.1.10', port: 7420 };
  const noise = fc.oneof(
    fc.record({
      op: fc.constant('hint' as const),
      node: fc.constant(uuid),
      at: endpoint,
      via: fc.constantFrom('mdns' as const, 'inbound' as const),
    }),
    fc.record({ op: fc.constant('static' as const), node: fc.constant(uuid), at: endpoint }),
    fc.record({
      op: fc.constant('record' as const),
      node: fc.constant(uuid),
      seq: fc.integer({ min: 1, max: 50 }),
      at: fc.array(endpoint, { maxLength: 8 }),
    }),
    fc.record({ op: fc.constant('failure' as const), node: fc.constant(uuid), at: endpoint }),
    fc.record({ op: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 60 * 60_000 }) }),
  );
  fc.assert(
    fc.property(fc.array(noise, { maxLength: 150 }), (ops) => {
      const clock = { now: T0 };
      const book = new AddressBook({ now: () => clock.now, limits: LIMITS });
      const trusted = new Set([uuid]);
      book.setTrusted(trusted);
      book.markSuccess(uuid, verified);
      for (const op of ops) apply(book, clock, op, trusted);
      const first = book.candidates(uuid)[0];
      t.assert.deepStrictEqual(
        [first?.host, first?.port, first?.verified],
        [verified.host, verified.port, true],
      );
    }),
    { numRuns: 300 },
  );
});
