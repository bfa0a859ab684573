/**
 * mDNS announce and browse over real UDP sockets, on the loopback interface only (MDNS_LOOPBACK) and on
 * a random port per test instead of 5353, so nothing is multicast on a real network and tests running
 * side by side never hear each other.
 */
import { createHash, randomBytes } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { classify } from '../../src/cluster/classify.ts';
import { Discovery, type DiscoveryOptions, MDNS_LOOPBACK } from '../../src/cluster/discovery.ts';
import {
  type Announcement,
  announcementPacket,
  type SelfAnnouncement,
} from '../../src/cluster/mdns-packets.ts';
import { isArozError } from '../../src/errors.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { loopbackMdns, loopbackMulticastProblem, mdnsTestPort, waitForEvent } from './helpers.ts';

/** Set when this machine cannot multicast on loopback: those tests are skipped with the reason. */
const noMulticast = await loopbackMulticastProblem();

function fakeFingerprint(): string {
  return `SHA256:${createHash('sha256').update(randomBytes(16)).digest('base64').replace(/=+$/, '')}`;
}

function selfOf(overrides: Partial<SelfAnnouncement> = {}): SelfAnnouncement {
  return {
    uuid: newUuid(),
    label: 'test node',
    host: '127.0.0.2',
    port: 7420,
    fingerprint: fakeFingerprint(),
    instance: newUuid(),
    ...overrides,
  };
}

async function started(t: TestContext, port: number, options: DiscoveryOptions): Promise<Discovery> {
  const discovery = new Discovery({ ...MDNS_LOOPBACK, port, ...options });
  teardown(t).defer(() => discovery.close());
  await discovery.start();
  return discovery;
}

function heard(discovery: Discovery, uuid: string, instance?: string): Promise<Announcement> {
  return waitForEvent<Announcement>(
    discovery,
    'announcement',
    (a) => a.uuid === uuid && (instance === undefined || a.instance === instance) && a.ttl > 0,
    AbortSignal.timeout(20_000),
  );
}

test('two Discovery instances on 127.0.0.1 see each other, with address, port and short fingerprint', {
  skip: noMulticast ?? false,
}, async (t: TestContext) => {
  const port = mdnsTestPort();
  const alpha = selfOf({ label: 'alpha', host: '127.0.0.2', port: 7420 });
  const beta = selfOf({ label: 'beta', host: '127.0.0.3', port: 7431 });
  const a = await started(t, port, { self: alpha });
  const aHearsB = heard(a, beta.uuid);
  const b = await started(t, port, { self: beta });
  const bHearsA = heard(b, alpha.uuid);
  const [seenByA, seenByB] = await Promise.all([aHearsB, bHearsA]);
  t.assert.deepStrictEqual(
    [seenByA.name, seenByA.host, seenByA.port, seenByA.instance, seenByA.protocol],
    [`beta-${beta.uuid.slice(0, 8)}`, '127.0.0.3', 7431, beta.instance, 1],
  );
  t.assert.strictEqual(seenByA.fingerprintShort, beta.fingerprint.slice(7, 23));
  t.assert.deepStrictEqual([seenByB.host, seenByB.port], ['127.0.0.2', 7420]);
  t.assert.ok(a.visible().some((v) => v.uuid === beta.uuid));
  // Closing says goodbye: the other side drops the entry.
  const gone = waitForEvent<Announcement>(
    a,
    'announcement',
    (x) => x.uuid === beta.uuid && x.ttl === 0,
    AbortSignal.timeout(20_000),
  );
  await b.close();
  await gone;
  t.assert.ok(!a.visible().some((v) => v.uuid === beta.uuid));
});

test('a flood of 5,000 fake announcements keeps the table at its cap, and a trusted node stays visible', {
  skip: noMulticast ?? false,
}, async (t: TestContext) => {
  const port = mdnsTestPort();
  const trusted = selfOf({ label: 'trusted', host: '127.0.0.4' });
  const watcher = await started(t, port, { maxVisible: 256, keep: (uuid) => uuid === trusted.uuid });
  const trustedSeen = heard(watcher, trusted.uuid);
  await started(t, port, { self: trusted, announceIntervalMs: 3_600_000 });
  await trustedSeen;

  const flooder = await loopbackMdns(port);
  teardown(t).defer(() => new Promise<void>((resolve) => flooder.destroy(() => resolve())));
  const perPacket = 5;
  for (let sent = 0; sent < 5000; sent += perPacket) {
    const answers = Array.from(
      { length: perPacket },
      () => announcementPacket(selfOf({ label: 'fake' }), 120).answers,
    ).flat();
    await new Promise<void>((resolve, reject) =>
      flooder.respond({ answers }, (err) => (err ? reject(err) : resolve())),
    );
    if (sent % 100 === 0) await new Promise((resolve) => setTimeout(resolve, 1)); // let the receiver read
  }
  // Packets on one loopback socket arrive in order: once the last marker is heard, the flood was read.
  const marker = selfOf({ label: 'marker' });
  const markerSeen = heard(watcher, marker.uuid);
  flooder.respond(announcementPacket(marker, 120));
  await markerSeen;

  t.assert.ok(
    watcher.stats.announcements > 1000,
    `the flood reached the table (${watcher.stats.announcements} heard)`,
  );
  t.assert.ok(watcher.visible().length <= 256);
  t.assert.ok(watcher.stats.evicted >= watcher.stats.announcements - 256 - 2);
  t.assert.ok(
    watcher.visible().some((v) => v.uuid === trusted.uuid),
    'the trusted node was not pushed out',
  );
});

test('a duplicate identity (this node UUID and key from another instance) is detected and classified', {
  skip: noMulticast ?? false,
}, async (t: TestContext) => {
  const port = mdnsTestPort();
  const original = selfOf({ label: 'nas', host: '127.0.0.5' });
  const clone = { ...original, instance: newUuid(), host: '127.0.0.6' };
  const a = await started(t, port, { self: original });
  const duplicate = waitForEvent<Announcement>(a, 'duplicate', () => true, AbortSignal.timeout(20_000));
  await started(t, port, { self: clone });
  const found = await duplicate;
  t.assert.deepStrictEqual(
    [found.uuid, found.instance, found.host],
    [original.uuid, clone.instance, '127.0.0.6'],
  );
  const context = { self: original, trust: new Map<string, { fingerprint: string }>() };
  t.assert.strictEqual(classify(found, context), 'duplicate');
  t.assert.strictEqual(classify({ ...found, instance: original.instance }, context), 'self');
});

test('classify(): trusted, untrusted, and a trusted UUID announced with another fingerprint is flagged', (t: TestContext) => {
  const self = selfOf();
  const peer = { uuid: newUuid(), fingerprint: fakeFingerprint() };
  const context = { self, trust: new Map([[peer.uuid, { fingerprint: peer.fingerprint }]]) };
  const seen = (uuid: string, fingerprint: string) => ({
    uuid,
    instance: newUuid(),
    fingerprintShort: fingerprint.slice(7, 23),
  });
  t.assert.strictEqual(classify(seen(peer.uuid, peer.fingerprint), context), 'trusted');
  t.assert.strictEqual(classify(seen(peer.uuid, fakeFingerprint()), context), 'mismatch');
  t.assert.strictEqual(classify(seen(newUuid(), fakeFingerprint()), context), 'untrusted');
  t.assert.strictEqual(
    classify(seen(self.uuid, fakeFingerprint()), context),
    'mismatch',
    'our UUID with another key',
  );
});

test('Discovery.start() refuses an interface it cannot multicast on instead of using the default route', async (t: TestContext) => {
  // 192.0.2.1 (TEST-NET-1) is on no interface of this machine: joining the group there fails.
  const discovery = new Discovery({ interface: '192.0.2.1', bind: '0.0.0.0', port: mdnsTestPort() });
  teardown(t).defer(() => discovery.close());
  await t.assert.rejects(discovery.start(), (err: unknown) => isArozError(err, 'ERR_MDNS_UNAVAILABLE'));
  t.assert.strictEqual(discovery.state, 'closed');
});

test('Discovery.close() during start() ends the start instead of leaving it waiting', async (t: TestContext) => {
  const discovery = new Discovery({ ...MDNS_LOOPBACK, port: mdnsTestPort(), self: selfOf() });
  const starting = discovery.start();
  await discovery.close();
  await t.assert.rejects(starting, (err: unknown) => isArozError(err, 'ERR_INTERRUPTED'));
  t.assert.strictEqual(discovery.state, 'closed');
});
