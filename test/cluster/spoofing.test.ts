/**
 * Attack test of discovery (docs/cluster.md, "3. Signed address records") with real sockets: an impostor with its own key announces a trusted
 * node's UUID (copying its TXT record, fingerprint included) at another address. The announcement
 * becomes a hint; dialling it fails the pinned handshake; the verified address stays first and wins
 * again as soon as the real node answers. Nothing reaches the impostor's request handler.
 */
import type { ClientHttp2Session } from 'node:http2';
import { type TestContext, test } from 'node:test';
import { AddressBook } from '../../src/cluster/address-book.ts';
import { classify } from '../../src/cluster/classify.ts';
import { Discovery, MDNS_LOOPBACK } from '../../src/cluster/discovery.ts';
import type { Announcement } from '../../src/cluster/mdns-packets.ts';
import { isArozError } from '../../src/errors.ts';
import { fingerprintOf } from '../../src/keys/index.ts';
import { dialPeer } from '../../src/transport/client.ts';
import { NodeServer } from '../../src/transport/server.ts';
import { sendJson } from '../../src/transport/wire.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { makeIdentity, Pins, type TestIdentity } from '../helpers/identity.ts';
import { loopbackMulticastProblem, mdnsTestPort, T0, waitForEvent } from './helpers.ts';

/** Set when this machine cannot multicast on loopback: those tests are skipped with the reason. */
const noMulticast = await loopbackMulticastProblem();

const me = makeIdentity();
const peer = makeIdentity();
const impostor = makeIdentity({ uuid: peer.nodeUuid }); // same UUID, its own key

async function serve(t: TestContext, id: TestIdentity, host: string, port = 0) {
  const calls = { count: 0 };
  const server = new NodeServer({
    identity: id,
    pins: new Pins(me),
    host,
    port,
    handler: async ({ stream }) => {
      calls.count++;
      sendJson(stream, 200, {});
    },
  });
  teardown(t).defer(() => server.destroy());
  return { server, calls, port: (await server.start()).port };
}

/** What the daemon's dialler does: try candidates in order, teach the book every outcome. */
async function dialFirst(
  book: AddressBook,
  uuid: string,
  errors: string[],
): Promise<ClientHttp2Session | undefined> {
  for (const { host, port } of book.endpoints(uuid, { dueOnly: true })) {
    try {
      const session = await dialPeer({
        uuid,
        host,
        port,
        localAddress: '127.0.0.1',
        identity: me,
        pins: new Pins(peer),
      });
      book.markSuccess(uuid, { host, port });
      return session;
    } catch (err) {
      if (!isArozError(err)) throw err;
      errors.push(`${host}:${err.code}`);
      book.markFailure(uuid, { host, port });
    }
  }
  return undefined;
}

test('a spoofed announcement of a trusted UUID never redirects traffic: the pinned handshake fails, the verified address stays', {
  skip: noMulticast ?? false,
}, async (t: TestContext) => {
  const clock = { now: T0 };
  const book = new AddressBook({ now: () => clock.now });
  book.trust(peer.nodeUuid);
  const real = await serve(t, peer, '127.0.0.2');
  const fake = await serve(t, impostor, '127.0.0.3');

  // 1. This node dials the real peer once: its address is verified.
  book.addStatic(peer.nodeUuid, { host: '127.0.0.2', port: real.port });
  const first = await dialFirst(book, peer.nodeUuid, []);
  t.assert.ok(first !== undefined);
  first.destroy();
  book.markClosed(peer.nodeUuid, { host: '127.0.0.2', port: real.port });

  // 2. The impostor announces the peer's UUID and copies its short fingerprint, at its own address.
  const port = mdnsTestPort();
  const watcher = new Discovery({ ...MDNS_LOOPBACK, port });
  teardown(t).defer(() => watcher.close());
  await watcher.start();
  const spoofHeard = waitForEvent<Announcement>(
    watcher,
    'announcement',
    (a) => a.uuid === peer.nodeUuid,
    AbortSignal.timeout(20_000),
  );
  const spoofer = new Discovery({
    ...MDNS_LOOPBACK,
    port,
    self: {
      uuid: peer.nodeUuid,
      label: 'peer',
      host: '127.0.0.3',
      port: fake.port,
      fingerprint: fingerprintOf(peer.spki),
      instance: newUuid(),
    },
  });
  teardown(t).defer(() => spoofer.close());
  await spoofer.start();
  const spoof = await spoofHeard;
  const context = {
    self: { uuid: me.nodeUuid, instance: newUuid(), fingerprint: fingerprintOf(me.spki) },
    trust: new Map([[peer.nodeUuid, { fingerprint: fingerprintOf(peer.spki) }]]),
  };
  t.assert.strictEqual(
    classify(spoof, context),
    'trusted',
    'a copied TXT looks trusted: announcements prove nothing',
  );
  book.addHint(spoof.uuid, { host: spoof.host, port: spoof.port }, 'mdns');

  // 3. The verified address is dialled first and answers: the impostor is never even tried.
  const second = await dialFirst(book, peer.nodeUuid, []);
  t.assert.ok(second !== undefined);
  second.destroy();
  book.markClosed(peer.nodeUuid, { host: '127.0.0.2', port: real.port });

  // 4. The real peer goes down: the hint is tried and its pinned handshake fails.
  real.server.destroy();
  const errors: string[] = [];
  t.assert.strictEqual(await dialFirst(book, peer.nodeUuid, errors), undefined);
  t.assert.deepStrictEqual(errors, ['127.0.0.2:ERR_PEER_UNREACHABLE', '127.0.0.3:ERR_PEER_UNTRUSTED']);
  const after = book.candidates(peer.nodeUuid);
  t.assert.deepStrictEqual(
    after.map((c) => [c.host, c.verified]),
    [
      ['127.0.0.2', true],
      ['127.0.0.3', false],
    ],
    'the verified address stays, and first',
  );

  // 5. The real peer is back at its address: once due again, it wins.
  await serve(t, peer, '127.0.0.2', real.port);
  clock.now += 60_000;
  const third = await dialFirst(book, peer.nodeUuid, []);
  t.assert.ok(third !== undefined);
  third.destroy();
  t.assert.strictEqual(book.candidates(peer.nodeUuid)[0]?.host, '127.0.0.2');
  t.assert.strictEqual(fake.calls.count, 0, 'no request ever reached the impostor');
});
