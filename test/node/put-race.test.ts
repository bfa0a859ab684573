/**
 * Concurrent puts of one chunk UUID against a real `arozdfs serve` process, over the pinned TLS node
 * API. Before the fix, three puts of a UUID whose first put failed (409, 507, offline, cancelled)
 * made the daemon spin at 100 % CPU for good: no port answered and SIGTERM was ignored. The daemon
 * runs as its own process so that this test keeps its deadline even then.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { ClientHttp2Session } from 'node:http2';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { NodeHome } from '../../src/home/open.ts';
import { makeNodeCertificate } from '../../src/keys/certificate.ts';
import { dialPeer } from '../../src/transport/client.ts';
import { newUuid } from '../../src/uuid.ts';
import { CLI } from '../helpers/cli.ts';
import { teardown } from '../helpers/context.ts';
import { pairAll, testnetTemplates } from '../helpers/testnet.ts';
import { codeOf, type Exchange, exchange } from './api-testnet.ts';

const templates = testnetTemplates(2);
/** How long the daemon may take to answer anything once the race is over. */
const DEADLINE_MS = 20_000;

interface Served {
  child: ChildProcess;
  nodeUuid: string;
  listen: string;
  exited: Promise<number | null>;
}

async function serve(t: TestContext, home: string): Promise<Served> {
  const args = [CLI, '--home', home, '--json', 'serve', '--listen', '127.0.0.2:0', '--no-discovery'];
  const child = spawn(process.execPath, [...args, '--web', 'off'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  teardown(t).defer(async () => {
    child.kill('SIGKILL');
    await exited;
  });
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const value = JSON.parse(line) as Record<string, unknown>;
      if (value['type'] === 'ready') resolve(value);
    });
    void exited.then((code) => reject(new Error(`serve exited with ${code} before it was ready`)));
  });
  return { child, exited, nodeUuid: String(ready['nodeUuid']), listen: String(ready['listen']) };
}

/** A pinned session to the served node, as the paired node of `home`. */
async function sessionTo(t: TestContext, home: string, served: Served): Promise<ClientHttp2Session> {
  const opened = await NodeHome.open(home);
  const cert = await makeNodeCertificate(opened.config.nodeUuid, await opened.activeKeyPair());
  const [host, port] = served.listen.split(':');
  const session = await dialPeer({
    uuid: served.nodeUuid,
    host: host!,
    port: Number(port),
    identity: { nodeUuid: opened.config.nodeUuid, ...cert },
    pins: await opened.trustStore(),
  });
  teardown(t).defer(() => session.destroy());
  return session;
}

/** `promise`, or a failure naming `what` once DEADLINE_MS has passed. */
async function within<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

function putChunk(session: ClientHttp2Session, uuid: string, body: Buffer): Promise<Exchange> {
  return exchange(
    session,
    { ':method': 'PUT', ':path': `/v1/chunks/${uuid}`, 'content-length': body.length },
    { body, trailers: { 'x-arozdfs-sha256': createHash('sha256').update(body).digest('hex') } },
  );
}

test('three concurrent puts of a UUID that holds other bytes: each answers 409, the daemon keeps serving and stops on SIGTERM', async (t: TestContext) => {
  const homes = await templates.homes(t);
  await pairAll(homes);
  const served = await serve(t, homes[0]!);
  const session = await sessionTo(t, homes[1]!, served);
  const uuid = newUuid();
  const first = await within('the first put', putChunk(session, uuid, Buffer.alloc(100, 1)));
  t.assert.strictEqual(first.status, 201);
  const bodies = [2, 3, 4].map((fill) => Buffer.alloc(200, fill));
  const race = await within('the three puts', Promise.all(bodies.map((b) => putChunk(session, uuid, b))));
  t.assert.deepStrictEqual(
    race.map((answer) => [answer.status, codeOf(answer)]),
    Array(3).fill([409, 'ERR_CHUNK_CONFLICT']),
  );
  const node = await within(
    'GET /v1/node after the race',
    exchange(session, { ':method': 'GET', ':path': '/v1/node' }),
  );
  t.assert.strictEqual(node.status, 200);
  t.assert.strictEqual(
    JSON.parse(node.body.toString('utf8')).stores[0].reserved,
    0,
    'nothing stays reserved',
  );
  const again = await within('a put of another UUID', putChunk(session, newUuid(), Buffer.alloc(50, 5)));
  t.assert.strictEqual(again.status, 201);
  served.child.kill('SIGTERM');
  t.assert.strictEqual(await within('the stop on SIGTERM', served.exited), 0);
});
