/**
 * The daemon's cluster services (docs/cluster.md): the address book of trusted nodes,
 * this node's signed address record (sent first on every pinned connection it dials, re-signed when
 * its addresses change), heartbeats, "where is node X?" answers, and mDNS discovery. Discovery only
 * ever adds hints: trust comes from pairing, and only a pinned handshake verifies an address.
 */
import { randomUUID } from 'node:crypto';
import type { ClientHttp2Session } from 'node:http2';
import {
  AddressBook,
  type AddressRecord,
  AddressWatcher,
  type Announcement,
  advertisedAddresses,
  classify,
  Discovery,
  type DiscoveryOptions,
  encodeRecord,
  Heartbeat,
  type HostPort,
  type Resolution,
  SeqStore,
  signRecord,
  verifyTrustedRecord,
} from '../cluster/index.ts';
import { ArozError } from '../errors.ts';
import type { NodeHome } from '../home/open.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import { getJson, readBody } from '../transport/client.ts';
import type { PeerPool } from '../transport/pool.ts';
import type { PeerRequest } from '../transport/server.ts';
import { sendJson } from '../transport/wire.ts';
import { isUuid } from '../uuid.ts';

const RECORD_PATH = '/v1/cluster/record';
const RECORDS_PATH = '/v1/cluster/records/';
const MAX_RECORD_BODY = 8 * 1024;

export interface ClusterOptions {
  home: NodeHome;
  trust: TrustStore;
  /** The address book (the peer pool dials from it too); a new one if not given. */
  book?: AddressBook;
  pool: Pick<PeerPool, 'session' | 'drop'>;
  listen: () => HostPort;
  log: (line: string) => void;
  /** Heartbeat interval (default 10 s). */
  heartbeatMs?: number;
  /** mDNS settings, or false for `--no-discovery`. */
  discovery: false | Pick<DiscoveryOptions, 'interface' | 'bind' | 'port'>;
}

export class ClusterServices {
  readonly book: AddressBook;
  /** Per-boot instance id: tells a restarted node from a cloned one. */
  readonly instance = randomUUID();
  #options: ClusterOptions;
  #seq: SeqStore;
  #record: AddressRecord | undefined;
  #heartbeat: Heartbeat | undefined;
  #watcher: AddressWatcher | undefined;
  #discovery: Discovery | undefined;
  #duplicates: Announcement[] = [];
  #fingerprint = '';

  constructor(options: ClusterOptions) {
    this.#options = options;
    this.book = options.book ?? new AddressBook();
    this.#seq = new SeqStore(options.home.paths.addressSeq);
  }

  /** This node's key fingerprint (as announced). */
  get fingerprint(): string {
    return this.#fingerprint;
  }

  get discovery(): Discovery | undefined {
    return this.#discovery;
  }

  /** This node's current signed address record (undefined before `start`). */
  get record(): AddressRecord | undefined {
    return this.#record;
  }

  /** Another machine announcing this node's UUID (a cloned disk?), as heard. */
  get duplicates(): readonly Announcement[] {
    return this.#duplicates;
  }

  async start(): Promise<void> {
    const { trust } = this.#options;
    this.book.setTrusted(trust.list().map((p) => p.nodeUuid));
    trust.on('added', (peer) => this.book.trust(peer.nodeUuid));
    trust.on('removed', (peer) => this.book.untrust(peer.nodeUuid));
    // The watcher first: a wildcard listener (0.0.0.0, ::) signs the machine's real addresses, which
    // only the watcher knows; the listen address itself is not dialable.
    this.#watcher = new AddressWatcher({ listen: this.#options.listen() });
    await this.#sign();
    this.#watcher.on('change', () => {
      this.#options.log("This node's addresses changed: telling the other nodes.");
      void this.#sign().then(() => this.#heartbeat?.beat());
    });
    this.#watcher.start();
    this.#heartbeat = new Heartbeat({
      book: this.book,
      intervalMs: this.#options.heartbeatMs ?? 10_000,
      ping: (uuid, signal) => this.#ping(uuid, signal),
      onChange: (change) => this.#options.log(`Node ${change.node} is now ${change.to}.`),
    });
    this.#heartbeat.start(); // the first beat redials every peer now
    if (this.#options.discovery !== false) await this.#startDiscovery(this.#options.discovery);
  }

  async close(): Promise<void> {
    this.#heartbeat?.close();
    this.#watcher?.close();
    await this.#discovery?.close();
  }

  /** A static `--peer` address. */
  addStatic(uuid: string, address: HostPort): void {
    this.book.addStatic(uuid, address);
  }

  /** Sent first on every pinned connection this node dials: our record, and theirs back. */
  async exchange(uuid: string, session: ClientHttp2Session, signal?: AbortSignal): Promise<void> {
    const record = this.#record;
    if (record === undefined) return;
    const stream = session.request({
      ':method': 'POST',
      ':path': RECORD_PATH,
      'content-type': 'application/json',
    });
    stream.end(encodeRecord(record));
    const timeout = AbortSignal.any([AbortSignal.timeout(5_000), ...(signal ? [signal] : [])]);
    const answer = await new Promise<string>((resolve, reject) => {
      const onAbort = () => {
        stream.close(0x8);
        reject(new ArozError('ERR_TIMEOUT', `Node "${uuid}" did not answer with its address record`));
      };
      timeout.addEventListener('abort', onAbort, { once: true });
      stream.once('response', () => readBody(stream, MAX_RECORD_BODY).then(resolve, reject));
      stream.once('error', reject);
      stream.once('close', () => {
        timeout.removeEventListener('abort', onAbort);
        reject(new ArozError('ERR_PEER_UNREACHABLE', `Node "${uuid}" closed the address record exchange`));
      });
    });
    this.#accept(answer, uuid);
  }

  /** Handles the cluster routes of the node API; false when the path is not one of them. */
  async handle(req: PeerRequest): Promise<boolean> {
    const path = req.headers[':path'] ?? '';
    const method = req.headers[':method'];
    if (path === RECORD_PATH && method === 'POST') {
      const body = await readRequest(req);
      this.#accept(body, req.peer);
      sendJson(req.stream, 200, this.#record ?? {});
      return true;
    }
    if (path.startsWith(RECORDS_PATH) && method === 'GET') {
      const uuid = path.slice(RECORDS_PATH.length);
      if (!isUuid(uuid))
        throw new ArozError('ERR_INVALID_UUID', `"${String(uuid).slice(0, 60)}" is not a node UUID`);
      const record =
        uuid === this.#options.home.config.nodeUuid ? this.#record : this.book.resolve(uuid)?.record;
      if (record === undefined) throw new ArozError('ERR_PEER_NOT_FOUND', `No record of node "${uuid}" here`);
      sendJson(req.stream, 200, record);
      return true;
    }
    return false;
  }

  /**
   * The live address of a trusted node: what the book knows if a pinned handshake works there now;
   * otherwise asks every online peer for the node's own latest record, then tries again.
   */
  async resolve(uuid: string, signal: AbortSignal): Promise<Resolution | undefined> {
    if (this.#options.trust.get(uuid) === undefined) {
      throw new ArozError('ERR_PEER_NOT_FOUND', `Node "${uuid}" is not a trusted peer of this node`);
    }
    if (
      await this.#ping(uuid, signal).then(
        () => true,
        () => false,
      )
    )
      return this.book.resolve(uuid);
    const others = this.#options.trust
      .list()
      .filter((p) => p.nodeUuid !== uuid && this.book.state(p.nodeUuid) === 'online');
    await Promise.all(
      others.map(async (peer) => {
        try {
          const session = await this.#options.pool.session(peer.nodeUuid, { signal });
          const record = await getJson(session, `${RECORDS_PATH}${uuid}`, peer.nodeUuid, { signal });
          this.#accept(JSON.stringify(record), uuid);
        } catch (err) {
          if (!(err instanceof ArozError)) throw err;
        }
      }),
    );
    this.#options.pool.drop(uuid);
    await this.#ping(uuid, signal).catch(() => {});
    return this.book.resolve(uuid);
  }

  async #ping(uuid: string, signal: AbortSignal): Promise<void> {
    const session = await this.#options.pool.session(uuid, { signal });
    await getJson(session, '/v1/node', uuid, { signal });
    this.book.markSeen(uuid);
  }

  /** Takes a peer's record if it verifies against the key pinned for the node it names. */
  #accept(text: string, expectedNode: string): void {
    try {
      const record = verifyTrustedRecord(text, this.#options.trust, Date.now());
      // One sent on a connection must be the peer's own; a relayed one ("where is X?") must name X.
      if (record.node !== expectedNode)
        throw new ArozError(
          'ERR_RECORD_UNTRUSTED',
          `A record of "${record.node}" came instead of "${expectedNode}"`,
        );
      const outcome = this.book.accept(record);
      if (outcome.duplicate)
        this.#options.log(`Node ${record.node} seems to run on two machines at once (a cloned disk?).`);
    } catch (err) {
      if (!(err instanceof ArozError)) throw err;
      this.#options.log(`Ignored an address record: ${err.message}`);
    }
  }

  async #sign(): Promise<void> {
    const { home } = this.#options;
    const addresses = this.#watcher?.current() ?? advertisedAddresses(this.#options.listen());
    this.#record = signRecord(
      {
        node: home.config.nodeUuid,
        seq: await this.#seq.next(),
        addresses,
        instance: this.instance,
        now: Date.now(),
      },
      await home.activeKeyPair(),
    );
    this.#discovery?.setSelf(await this.#self());
  }

  async #self() {
    const { home } = this.#options;
    const listen = this.#options.listen();
    const pair = await home.activeKeyPair();
    this.#fingerprint = pair.fingerprint;
    return {
      uuid: home.config.nodeUuid,
      label: home.config.name,
      host: listen.host,
      port: listen.port,
      fingerprint: pair.fingerprint,
      instance: this.instance,
      addresses: (this.#watcher?.current() ?? []).map((a) => a.host),
    };
  }

  async #startDiscovery(settings: Pick<DiscoveryOptions, 'interface' | 'bind' | 'port'>): Promise<void> {
    const { trust, home } = this.#options;
    const discovery = new Discovery({
      ...settings,
      self: await this.#self(),
      keep: (uuid) => trust.get(uuid) !== undefined,
    });
    discovery.on('announcement', (a) => {
      const self = { uuid: home.config.nodeUuid, instance: this.instance, fingerprint: this.#fingerprint };
      const kind = classify(a, { self, trust });
      if (kind === 'trusted') this.book.addHint(a.uuid, { host: a.host, port: a.port }, 'mdns');
    });
    discovery.on('duplicate', (a) => {
      if (this.#duplicates.length < 16) this.#duplicates.push(a);
      this.#options.log(
        `Another machine announces this node's UUID from ${a.host}:${a.port} (a cloned disk?).`,
      );
    });
    await discovery.start();
    this.#discovery = discovery;
  }
}

async function readRequest(req: PeerRequest): Promise<string> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const piece of req.stream as AsyncIterable<Buffer>) {
    total += piece.length;
    if (total > MAX_RECORD_BODY) throw new ArozError('ERR_BAD_REQUEST', 'An address record is too large');
    parts.push(piece);
  }
  return Buffer.concat(parts).toString('utf8');
}
