/**
 * The catalog client against a peer that answers badly (a real NodeServer over pinned TLS whose
 * handler writes the answers below): more lines than its header says, an answer over its byte cap,
 * and an answer without a header are refused with their codes before anything is verified or stored.
 */
import { type TestContext, test } from 'node:test';
import { CATALOG_LIMITS } from '../../src/catalog/index.ts';
import { isArozError } from '../../src/errors.ts';
import { fetchStatements } from '../../src/node/catalog-wire.ts';
import { NodeServer } from '../../src/transport/server.ts';
import { teardown } from '../helpers/context.ts';
import { connect, member } from './api-testnet.ts';

/** A peer whose statements answer is `body`; returns a pinned session to it. */
async function lyingPeer(t: TestContext, body: () => Buffer) {
  const [me, peer] = await Promise.all([member(0), member(1)]);
  const server = new NodeServer({
    identity: peer.identity,
    pins: { isPinned: (uuid, spki) => uuid === me.uuid && me.keyPair.spkiDer.equals(spki) },
    host: '127.0.0.3',
    port: 0,
    handler: async ({ stream }) => {
      const bytes = body();
      stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
      stream.end(bytes);
    },
  });
  teardown(t).defer(() => server.destroy());
  const { address, port } = await server.start();
  const session = await connect(t, me, { uuid: peer.uuid, host: address, port, keyPair: peer.keyPair });
  return { session, peer };
}

async function codeOf(work: Promise<unknown>): Promise<string> {
  return work.then(
    () => 'ok',
    (err: unknown) => (isArozError(err) ? err.code : String(err)),
  );
}

const header = (count: number) => `${JSON.stringify({ last: 5, more: false, count })}\n`;

test('a statements answer with more lines than its header says is refused (ERR_CATALOG_TOO_LARGE)', async (t: TestContext) => {
  const { session, peer } = await lyingPeer(t, () => Buffer.from(`${header(1)}{}\n{}\n`));
  const signal = AbortSignal.timeout(30_000);
  t.assert.strictEqual(
    await codeOf(fetchStatements(session, peer.uuid, peer.uuid, 0, signal)),
    'ERR_CATALOG_TOO_LARGE',
  );
});

test('a statements answer over 16 MiB + 64 KiB is refused as it arrives (ERR_CATALOG_TOO_LARGE)', async (t: TestContext) => {
  const line = `${'x'.repeat(1024 * 1024)}\n`;
  const { session, peer } = await lyingPeer(t, () =>
    Buffer.from(header(17) + line.repeat(CATALOG_LIMITS.maxBatchBytes / (1024 * 1024) + 1)),
  );
  const signal = AbortSignal.timeout(30_000);
  t.assert.strictEqual(
    await codeOf(fetchStatements(session, peer.uuid, peer.uuid, 0, signal)),
    'ERR_CATALOG_TOO_LARGE',
  );
});

test('a statements answer without its header line is refused (ERR_CATALOG_INVALID)', async (t: TestContext) => {
  const { session, peer } = await lyingPeer(t, () => Buffer.from('not json\n'));
  const signal = AbortSignal.timeout(30_000);
  t.assert.strictEqual(
    await codeOf(fetchStatements(session, peer.uuid, peer.uuid, 0, signal)),
    'ERR_CATALOG_INVALID',
  );
});
