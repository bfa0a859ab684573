/**
 * In-process nodes for the node API tests: each node has a real identity (an RSA key and the
 * certificate `makeNodeCertificate` makes), a real TrustStore in its own temp home pinning the other
 * nodes, a chunk store (a DiskStore in the home unless given one), and a NodeServer running `nodeApi`
 * on 127.0.0.x, and bulk reads (`bulkApi`) unless told not to. `node.idle()` waits until every request the node received has been handled, so a test
 * can look at the store after the peer side of a cancelled request is cleaned up.
 */
import { mkdir } from 'node:fs/promises';
import type { ClientHttp2Session, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { makeNodeCertificate } from '../../src/keys/certificate.ts';
import type { KeyPair } from '../../src/keys/rsa.ts';
import { TrustStore } from '../../src/keys/trust-store.ts';
import { nodeApi } from '../../src/node/api.ts';
import { bulkApi } from '../../src/node/api-bulk.ts';
import { DiskStore } from '../../src/store/disk-store.ts';
import type { ChunkStore } from '../../src/store/types.ts';
import { dialPeer } from '../../src/transport/client.ts';
import type { PinSource } from '../../src/transport/peer-identity.ts';
import { PeerPool } from '../../src/transport/pool.ts';
import { RemoteStore, type RemoteStoreOptions } from '../../src/transport/remote-store.ts';
import { type Identity, NodeServer, type RequestHandler } from '../../src/transport/server.ts';
import { newUuid } from '../../src/uuid.ts';
import { VERSION } from '../../src/version.ts';
import { teardown, tmpDir } from '../helpers/context.ts';
import { testKeyPair } from '../helpers/keys.ts';

export interface Member {
  uuid: string;
  name: string;
  keyPair: KeyPair;
  identity: Identity;
}

export interface ApiNode extends Member {
  home: string;
  trust: TrustStore;
  store: ChunkStore;
  /** The DiskStore's folder, when the node made its own store. */
  storeDir: string | undefined;
  server: NodeServer;
  host: string;
  port: number;
  /** Requests the handler has started so far. */
  readonly requests: number;
  /** Resolves once every request received so far has been handled. */
  idle(): Promise<void>;
}

export interface NodeOptions {
  /** The store behind the API (default: a DiskStore in the node's home, with `limit`). */
  store?: ChunkStore;
  limit?: number;
  idleMs?: number;
  /** Listen address (default 127.0.0.2 + the node's position). */
  host?: string;
  /** Serve bulk reads (default true), closing a bulk connection after `bulkWaitMs` without a request. */
  bulk?: boolean;
  bulkWaitMs?: number;
}

/** A node identity made from the process's k-th test key (keys are shared; UUIDs are new). */
export async function member(k: number, uuid = newUuid()): Promise<Member> {
  const keyPair = await testKeyPair(k);
  const { certPem, keyPem } = await makeNodeCertificate(uuid, keyPair);
  return { uuid, name: `node-${k}`, keyPair, identity: { nodeUuid: uuid, certPem, keyPem } };
}

/** Starts `members[i]` as a node that pins every other member, for each i in `serving`. */
export async function startNodes(
  t: TestContext,
  members: Member[],
  options: NodeOptions = {},
  serving: number[] = members.map((_, k) => k),
): Promise<ApiNode[]> {
  const nodes: ApiNode[] = [];
  for (const k of serving) {
    const me = members[k] as Member;
    nodes.push(await startNode(t, me, members, { host: `127.0.0.${2 + k}`, ...options }));
  }
  return nodes;
}

export async function startNode(
  t: TestContext,
  me: Member,
  peers: Member[],
  options: NodeOptions = {},
): Promise<ApiNode> {
  const home = await tmpDir(t, 'arozdfs-api-');
  const trust = await trustStore(home, me, peers);
  let store = options.store;
  let storeDir: string | undefined;
  if (store === undefined) {
    await mkdir(join(home, 'stores'), { mode: 0o700 });
    storeDir = join(home, 'stores', 'default');
    const disk = await DiskStore.create(storeDir, me.uuid, {
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    });
    teardown(t).defer(() => disk.close());
    store = disk;
  }
  const chunkStore = store;
  const api = nodeApi({
    store: chunkStore,
    idleMs: options.idleMs ?? 30_000,
    info: async () => ({
      uuid: me.uuid,
      name: me.name,
      version: VERSION,
      stores: [await chunkStore.status()],
    }),
  });
  const inFlight = new Set<Promise<void>>();
  let requests = 0;
  const handler: RequestHandler = (request) => {
    requests++;
    const work = api(request);
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work)).catch(() => {});
    return work;
  };
  const server = new NodeServer({
    identity: me.identity,
    pins: trust,
    handler,
    host: options.host ?? '127.0.0.2',
    port: 0,
  });
  if (options.bulk !== false) {
    server.setBulk(
      bulkApi({
        store: chunkStore,
        idleMs: options.idleMs ?? 30_000,
        ...(options.bulkWaitMs !== undefined ? { waitMs: options.bulkWaitMs } : {}),
      }),
    );
  }
  teardown(t).defer(() => server.destroy());
  const { address, port } = await server.start();
  return {
    ...me,
    home,
    trust,
    store: chunkStore,
    storeDir,
    server,
    host: address,
    port,
    get requests() {
      return requests;
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
  };
}

/** A real trust store in `<home>/ADDC/keypairs/remote` pinning every peer but `me`. */
async function trustStore(home: string, me: Member, peers: Member[]): Promise<TrustStore> {
  const dir = join(home, 'ADDC', 'keypairs', 'remote');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const trust = await new TrustStore(dir, {
    root: home,
    selfUuid: me.uuid,
    selfKeys: [me.keyPair.spkiDer],
  }).load();
  for (const peer of peers) {
    if (peer.uuid !== me.uuid) await trust.add(peer.uuid, peer.keyPair, peer.name);
  }
  return trust;
}

/**
 * A pinned session from `from` to node `to` (through `from`'s trust store when it is a node, else
 * pinning `to` alone), destroyed after the test.
 */
export async function connect(
  t: TestContext,
  from: Member | ApiNode,
  to: Pick<ApiNode, 'uuid' | 'host' | 'port' | 'keyPair'>,
): Promise<ClientHttp2Session> {
  const session = await dialPeer({
    uuid: to.uuid,
    host: to.host,
    port: to.port,
    identity: from.identity,
    pins: pinsOf(from, to),
  });
  teardown(t).defer(() => session.destroy());
  return session;
}

function pinsOf(from: Member | ApiNode, to: Pick<ApiNode, 'uuid' | 'keyPair'>): PinSource {
  if ('trust' in from) return from.trust;
  return { isPinned: (uuid, spki) => uuid === to.uuid && to.keyPair.spkiDer.equals(spki) };
}

/** A PeerPool of `from` that reaches node `to` at its address, closed after the test. */
export function peerPool(t: TestContext, from: Member | ApiNode, to: ApiNode): PeerPool {
  const pool = new PeerPool({
    identity: from.identity,
    pins: pinsOf(from, to),
    addressesOf: () => [{ host: to.host, port: to.port }],
  });
  teardown(t).defer(() => pool.close());
  return pool;
}

/**
 * A RemoteStore of `from` onto node `to` whose reads go over bulk lanes (through a PeerPool, as in a
 * daemon), closed after the test.
 */
export async function bulkRemoteStore(
  t: TestContext,
  from: Member,
  to: ApiNode,
  options: RemoteStoreOptions = {},
): Promise<{ store: RemoteStore; pool: PeerPool }> {
  const pool = peerPool(t, from, to);
  const store = new RemoteStore(await pool.session(to.uuid), to.uuid, {
    ...options,
    bulk: {
      lane: (signal) => pool.lane(to.uuid, signal ? { signal } : {}),
      refused: () => pool.bulkRefused(to.uuid),
    },
  });
  teardown(t).defer(() => store.close());
  return { store, pool };
}

/** A RemoteStore of `from` onto node `to`, closed after the test. */
export async function remoteStore(
  t: TestContext,
  from: Member,
  to: ApiNode,
  options: RemoteStoreOptions = {},
): Promise<RemoteStore> {
  const store = new RemoteStore(await connect(t, from, to), to.uuid, options);
  teardown(t).defer(() => store.close());
  return store;
}

export interface Exchange {
  /** The final status, if one arrived. */
  status: number | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether the peer said "100 Continue". */
  continued: boolean;
  /** RST_STREAM code the stream closed with (0: none). */
  rstCode: number | undefined;
}

/**
 * One raw request, as a client that does not play by our rules would send it: any headers, an
 * optional body (sent at once, without waiting for "100 Continue") and optional trailers; or `hold`:
 * send the headers only and keep the request open until the answer is in.
 */
export function exchange(
  session: ClientHttp2Session,
  headers: OutgoingHttpHeaders,
  options: { body?: Buffer; trailers?: OutgoingHttpHeaders; hold?: boolean } = {},
): Promise<Exchange> {
  const { body, trailers, hold = false } = options;
  return new Promise((resolve) => {
    const result: Exchange = {
      status: undefined,
      headers: {},
      body: Buffer.alloc(0),
      continued: false,
      rstCode: 0,
    };
    const parts: Buffer[] = [];
    const stream = session.request(headers, {
      endStream: body === undefined && trailers === undefined && !hold,
      ...(trailers !== undefined ? { waitForTrailers: true } : {}),
    });
    stream.on('continue', () => {
      result.continued = true;
    });
    stream.on('response', (h) => {
      result.status = Number(h[':status']);
      result.headers = h;
    });
    stream.on('data', (d: Buffer) => parts.push(d));
    // Held open (headers only): once the answer is in, cancel the body that was never sent.
    stream.on('end', () => hold && !stream.closed && stream.close(0x8));
    stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? {}));
    stream.on('error', () => {});
    stream.on('close', () => {
      result.body = Buffer.concat(parts);
      result.rstCode = stream.rstCode;
      resolve(result);
    });
    if (body !== undefined) stream.end(body);
    else if (trailers !== undefined) stream.end();
  });
}

/** The `code` of a JSON error body (or of a HEAD answer's x-arozdfs-error header). */
export function codeOf(answer: Exchange): string | undefined {
  const header = answer.headers['x-arozdfs-error'];
  if (typeof header === 'string') return header;
  try {
    return (JSON.parse(answer.body.toString('utf8')) as { code?: string }).code;
  } catch {
    return undefined;
  }
}
