/**
 * Pairing hints are bounded, rate-limited and expiring, never name this node or a node it pins, and
 * come only from a socket that presented a valid node certificate (a real TLS handshake here).
 */
import { once } from 'node:events';
import { type TestContext, test } from 'node:test';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { fingerprintOf } from '../../src/keys/fingerprint.ts';
import { HINT_TTL_MS, MAX_HINTS, NEW_HINTS_PER_MINUTE, PairingHints } from '../../src/node/pairing-hints.ts';
import { newUuid } from '../../src/uuid.ts';
import { teardown } from '../helpers/context.ts';
import { makeIdentity } from '../helpers/identity.ts';

function clock() {
  const c = { now: 1_000_000, tick: (ms: number) => (c.now += ms) };
  return c;
}

test('hints: at most MAX_HINTS, new ones rate-limited per minute, each expiring', (t: TestContext) => {
  const c = clock();
  const self = newUuid();
  const pinned = newUuid();
  const hints = new PairingHints({ self, isKnown: (u) => u === pinned, now: () => c.now });
  t.assert.strictEqual(hints.record(self, 'SHA256:x', '127.0.0.1'), false, 'never this node');
  t.assert.strictEqual(hints.record(pinned, 'SHA256:x', '127.0.0.1'), false, 'never a pinned node');
  let made = 0;
  for (let i = 0; i < 5 * MAX_HINTS; i++) {
    if (hints.record(newUuid(), `SHA256:${i}`, '127.0.0.9')) made++;
    if (made % NEW_HINTS_PER_MINUTE === 0) c.tick(60_000);
  }
  t.assert.strictEqual(hints.list().length, MAX_HINTS);
  // A flood within one minute adds at most NEW_HINTS_PER_MINUTE.
  c.tick(60_000);
  const before = hints.list().map((h) => h.nodeUuid);
  let added = 0;
  for (let i = 0; i < 100; i++) if (hints.record(newUuid(), 'SHA256:flood', '127.0.0.7')) added++;
  t.assert.strictEqual(added, NEW_HINTS_PER_MINUTE);
  t.assert.strictEqual(hints.list().length, MAX_HINTS);
  t.assert.ok(
    before.some((u) => !hints.list().some((h) => h.nodeUuid === u)),
    'the oldest made room',
  );
  c.tick(HINT_TTL_MS + 1);
  t.assert.deepStrictEqual(hints.list(), [], 'expired');
});

test('hints: a repeated handshake refreshes its hint; trusting the node removes it', (t: TestContext) => {
  const c = clock();
  const trusted = new Set<string>();
  const hints = new PairingHints({ self: newUuid(), isKnown: (u) => trusted.has(u), now: () => c.now });
  const node = newUuid();
  let changes = 0;
  hints.on('change', () => changes++);
  t.assert.strictEqual(hints.record(node, 'SHA256:a', '127.0.0.3'), true);
  t.assert.strictEqual(hints.record(node, 'SHA256:a', '127.0.0.3'), false, 'a retry at once costs nothing');
  c.tick(HINT_TTL_MS - 1_000);
  t.assert.strictEqual(hints.record(node, 'SHA256:a', '127.0.0.4'), true);
  c.tick(2_000);
  t.assert.strictEqual(hints.list()[0]?.address, '127.0.0.4', 'refreshed, so not expired');
  trusted.add(node);
  t.assert.deepStrictEqual(hints.list(), []);
  hints.forget(node);
  t.assert.strictEqual(changes, 3);
});

test('hints: recorded from a TLS client that presented a node certificate; a client without one is ignored', async (t: TestContext) => {
  const server = makeIdentity();
  const client = makeIdentity();
  const hints = new PairingHints({ self: server.nodeUuid, isKnown: () => false });
  const tls = createServer({
    cert: server.certPem,
    key: server.keyPem,
    requestCert: true,
    rejectUnauthorized: false,
    minVersion: 'TLSv1.3',
    ALPNProtocols: ['h2'],
  });
  tls.on('secureConnection', (socket: TLSSocket) => {
    hints.refused(socket);
    socket.destroy();
  });
  tls.listen(0, '127.0.0.1');
  await once(tls, 'listening');
  teardown(t).defer(() => new Promise<void>((resolve) => tls.close(() => resolve())));
  const port = (tls.address() as { port: number }).port;
  const dial = async (identity?: { certPem: string; keyPem: string }) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      ...(identity ? { cert: identity.certPem, key: identity.keyPem } : {}),
    });
    await once(socket, 'close');
  };
  await dial();
  t.assert.deepStrictEqual(hints.list(), []);
  await dial(client);
  const [hint] = hints.list();
  t.assert.strictEqual(hint?.nodeUuid, client.nodeUuid);
  t.assert.strictEqual(hint?.fingerprint, fingerprintOf(client.spki));
});
