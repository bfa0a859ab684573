/**
 * The node daemon — the only composition root. It opens the home, makes the node certificate from
 * the active key, loads the trust store, opens the chunk stores, and starts, in order: the cluster
 * port (pinned mTLS HTTP/2 node API), the peer pool, the trust watcher and the control socket. It
 * stops them in reverse order. While it runs it is the only writer of ADDC/.
 */
import { type FSWatcher, watch } from 'node:fs';
import { dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import { ControlServer } from '../control/server.ts';
import { ensureDir, writeFileAtomic } from '../durable/index.ts';
import { ArozError } from '../errors.ts';
import type { AuditSource } from '../home/audit.ts';
import { DEFAULT_TRASH_GRACE_SECONDS } from '../home/node-config.ts';
import { NodeHome } from '../home/open.ts';
import { JobManager } from '../jobs/index.ts';
import { makeNodeCertificate } from '../keys/certificate.ts';
import type { KeyPair } from '../keys/rsa.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { StoreSet } from '../store/store-set.ts';
import type { StoreStatus } from '../store/types.ts';
import { type PeerAddress, PeerPool } from '../transport/pool.ts';
import { NodeServer } from '../transport/server.ts';
import { VERSION } from '../version.ts';
import { WebAuth } from '../web/auth.ts';
import { isLoopback } from '../web/guard.ts';
import { webRoutes } from '../web/routes.ts';
import { WebServer } from '../web/server.ts';
import { openWebTls } from '../web/tls.ts';
import { tidyStaging } from '../web/upload.ts';
import { type NodeInfo, nodeApi } from './api.ts';
import { ClusterServices } from './cluster-services.ts';
import { controlRoutes } from './control-routes.ts';
import { formatHostPort, parseHostPort } from './host-port.ts';
import { openNodeStores } from './stores.ts';
import { downloadRunner, uploadRunner } from './transfers.ts';
import { TrashPurger } from './trash-purge.ts';

const debug = debuglog('arozdfs');

export const DEFAULT_LISTEN = '0.0.0.0:7420';
const TRUST_RELOAD_MS = 2_000;
const STATUS_CACHE_MS = 1_000;

export interface DaemonOptions {
  home: string;
  /** Cluster address `host:port` (else node.json's `listen`, else 0.0.0.0:7420). Port 0 picks one. */
  listen?: string;
  /** Extra store folders (registered in node.json the first time). */
  stores?: string[];
  /** Static peer addresses. */
  peers?: Array<{ uuid: string } & PeerAddress>;
  /** A request body that makes no progress for this long is abandoned. */
  idleMs?: number;
  /** mDNS: false for `--no-discovery`; else where to announce and browse (default: the LAN). */
  discovery?: false | { interface?: string; bind?: string; port?: number };
  /** Heartbeat interval in ms (default 10 s). */
  heartbeatMs?: number;
  /** Seconds a deleted chunk stays in the trash (default: node.json's `trashGraceSeconds`, else a day). */
  trashGraceSeconds?: number;
  /** One line for people (the daemon entry prints it). */
  log?: (line: string) => void;
  /**
   * The web UI: `host:port` (port 0 picks one), or false for none (the default here; `serve` passes
   * 127.0.0.1:7421). A non-loopback host, or `tls: true`, serves HTTPS with the web UI's own key and
   * certificate (ADDC/web-tls.pem, made the first time), never the node's identity key.
   */
  web?: false | { address: string; tls?: boolean; machine?: string };
}

export class Daemon {
  readonly home: NodeHome;
  readonly trust: TrustStore;
  readonly stores: StoreSet;
  readonly server: NodeServer;
  readonly pool: PeerPool;
  readonly control: ControlServer;
  readonly jobs: JobManager;
  readonly cluster: ClusterServices;
  /** Empties the stores' trash after the grace period. */
  readonly trashPurge: TrashPurger;
  /** The web UI, when it is on. */
  web: WebServer | undefined;
  /** Static addresses by node UUID (`--peer`); the cluster services add live ones. */
  readonly staticPeers = new Map<string, PeerAddress>();
  #log: (line: string) => void;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  #started = false;
  #statuses: { at: number; pending: Promise<StoreStatus[]> } | undefined;

  private constructor(parts: {
    home: NodeHome;
    trust: TrustStore;
    stores: StoreSet;
    server: NodeServer;
    pool: PeerPool;
    control: ControlServer;
    log: (line: string) => void;
    options: DaemonOptions;
  }) {
    this.home = parts.home;
    this.trust = parts.trust;
    this.stores = parts.stores;
    this.server = parts.server;
    this.pool = parts.pool;
    this.control = parts.control;
    this.#log = parts.log;
    this.cluster = new ClusterServices({
      home: parts.home,
      trust: parts.trust,
      pool: () => this.pool,
      listen: () => {
        const { address, port } = this.server.address();
        return { host: address, port };
      },
      log: parts.log,
      discovery: parts.options.discovery ?? {},
      ...(parts.options.heartbeatMs !== undefined ? { heartbeatMs: parts.options.heartbeatMs } : {}),
    });
    const graceSeconds =
      parts.options.trashGraceSeconds ?? parts.home.config.trashGraceSeconds ?? DEFAULT_TRASH_GRACE_SECONDS;
    this.trashPurge = new TrashPurger({ store: parts.stores, graceMs: graceSeconds * 1000, log: parts.log });
    this.jobs = new JobManager({
      dir: join(parts.home.paths.home, 'jobs'),
      runners: { upload: uploadRunner(this), download: downloadRunner(this) },
    });
  }

  get nodeUuid(): string {
    return this.home.config.nodeUuid;
  }

  /** Opens everything and starts listening. On failure, whatever was started is stopped. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const log = options.log ?? (() => {});
    const home = await NodeHome.open(options.home);
    const listen = parseHostPort(
      options.listen ?? home.config.listen ?? DEFAULT_LISTEN,
      'The listen address',
    );
    const keyPair = await home.activeKeyPair();
    const { certPem, keyPem } = await makeNodeCertificate(home.config.nodeUuid, keyPair);
    const identity = { nodeUuid: home.config.nodeUuid, certPem, keyPem };
    const trust = await home.trustStore();
    const stores = await openNodeStores(home, options.stores ?? []);
    let daemon: Daemon | undefined;
    const info = (): Promise<NodeInfo> => daemon!.info();
    const api = nodeApi({ store: stores, info, idleMs: options.idleMs ?? 30_000 });
    const server = new NodeServer({
      identity,
      pins: trust,
      host: listen.host,
      port: listen.port,
      handler: async (req) => {
        if (!(await daemon!.cluster.handle(req))) await api(req);
      },
    });
    const pool = new PeerPool({
      identity,
      pins: trust,
      addressesOf: (uuid) => daemon!.addressesOf(uuid),
      onSession: (uuid, session, signal) => daemon!.cluster.exchange(uuid, session, signal),
      onDial: (uuid, address, error) => {
        if (error === undefined) daemon!.cluster.book.markSuccess(uuid, address);
        else daemon!.cluster.book.markFailure(uuid, address);
      },
      ...(listen.host !== '0.0.0.0' && listen.host !== '::' ? { localAddress: listen.host } : {}),
    });
    const control = new ControlServer(options.home, {});
    daemon = new Daemon({ home, trust, stores, server, pool, control, log, options });
    if (options.web !== undefined && options.web !== false) {
      const { web } = options;
      const at = parseHostPort(web.address, 'The web UI address');
      const auth = await WebAuth.open(home.paths.addc);
      daemon.web = new WebServer({
        host: at.host,
        port: at.port,
        tls:
          web.tls === true || !isLoopback(at.host)
            ? await openWebTls(home.paths.addc, home.config.nodeUuid)
            : undefined,
        nodeUuid: home.config.nodeUuid,
        auth,
        routes: webRoutes(daemon, auth),
        ...(web.machine !== undefined ? { machine: web.machine } : {}),
      });
    }
    for (const peer of options.peers ?? [])
      daemon.addPeerAddress(peer.uuid, { host: peer.host, port: peer.port });
    try {
      await daemon.#start();
    } catch (err) {
      await daemon.close();
      throw err;
    }
    return daemon;
  }

  async #start(): Promise<void> {
    this.#state = 'running';
    // The control socket first: it also refuses a second daemon on this home before anything listens.
    this.control.setRoutes(controlRoutes(this));
    await this.control.start();
    await this.server.start();
    await this.cluster.start();
    await this.jobs.start();
    await tidyStaging(this, this.#log);
    await this.web?.start();
    this.trashPurge.start();
    this.trust.on('removed', (peer) => {
      this.server.dropPeer(peer.nodeUuid);
      this.pool.drop(peer.nodeUuid);
      this.#log(`No longer trusting node ${peer.nodeUuid}: its connections were closed.`);
    });
    this.#watcher = watch(this.home.paths.remote, () => void this.reloadTrust());
    this.#watcher.on('error', () => {});
    this.#timer = setInterval(() => void this.reloadTrust(), TRUST_RELOAD_MS);
    this.#timer.unref();
    this.#started = true;
  }

  /** True once every service listens (the control socket answers before the rest has started). */
  get ready(): boolean {
    return this.#started && this.#state === 'running';
  }

  /** Re-reads the trust store from disk; notices a key file deleted by hand. */
  async reloadTrust(): Promise<void> {
    try {
      await this.trust.reload();
    } catch (err) {
      if (!(err instanceof ArozError)) throw err;
      this.#log(`Cannot reload the trust store: ${err.message}`);
    }
  }

  /** Switches the identity key; live connections are closed and new ones use the new certificate. */
  async activateKey(
    keyUuid: string,
    from: AuditSource = 'control-socket',
  ): Promise<{ pair: KeyPair; previous: string }> {
    const result = await this.home.activateKey(keyUuid, from);
    if (result.previous !== keyUuid) {
      const { certPem, keyPem } = await makeNodeCertificate(this.nodeUuid, result.pair);
      const identity = { nodeUuid: this.nodeUuid, certPem, keyPem };
      this.server.setIdentity(identity);
      this.pool.setIdentity(identity);
      // The web UI keeps its own certificate (ADDC/web-tls.pem): browsers need not accept a new one.
      this.#log(`Switched the identity key to ${keyUuid}: every peer must pair again.`);
    }
    return result;
  }

  /** True once the daemon is shutting down (a job cut now must resume later, not clean up). */
  get closing(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  /** Keeps a copy of an index this node signed in `<home>/indexes/` (the way back to the data). */
  async keepIndex(path: string, text: string): Promise<void> {
    await ensureDir(dirname(path), 0o700);
    await writeFileAtomic(path, text, { mode: 0o600, overwrite: true });
  }

  /** The bound cluster address as `host:port`. */
  listenAddress(): string {
    const { address, port } = this.server.address();
    return formatHostPort({ host: address, port });
  }

  /** A static address of a peer (`--peer`). */
  addPeerAddress(nodeUuid: string, address: PeerAddress): void {
    this.staticPeers.set(nodeUuid, address);
    this.cluster.addStatic(nodeUuid, address);
  }

  /** Where to dial a node, best first: the address book's candidates, then static addresses. */
  addressesOf(nodeUuid: string): PeerAddress[] {
    const found = this.cluster.book.endpoints(nodeUuid, { dueOnly: true });
    const fixed = this.staticPeers.get(nodeUuid);
    if (fixed !== undefined && !found.some((a) => a.host === fixed.host && a.port === fixed.port))
      found.push(fixed);
    return found;
  }

  /**
   * What `GET /v1/node` answers. Store status (a marker read and a statfs per store, through the
   * libuv pool that transfers keep busy) is shared by the calls of one second, so status requests
   * stay fast during a job; puts still check the marker themselves every time.
   */
  async info(): Promise<NodeInfo> {
    const now = Date.now();
    if (this.#statuses === undefined || now - this.#statuses.at > STATUS_CACHE_MS) {
      const pending = this.stores.statuses();
      this.#statuses = { at: now, pending };
      pending.catch(() => {
        if (this.#statuses?.pending === pending) this.#statuses = undefined;
      });
    }
    const stores = await this.#statuses.pending;
    const online = stores.filter((s) => s.online);
    return {
      uuid: this.nodeUuid,
      name: this.home.config.name,
      version: VERSION,
      stores,
      trash: {
        chunks: online.reduce((n, s) => n + s.trash.chunks, 0),
        bytes: online.reduce((n, s) => n + s.trash.bytes, 0),
        graceSeconds: Math.round(this.trashPurge.graceMs / 1000),
        purgedAt: this.trashPurge.state.purgedAt,
      },
    };
  }

  /** Stops in reverse start order; in-flight requests get `graceMs` to finish, then are aborted. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    clearInterval(this.#timer);
    this.#watcher?.close();
    await this.trashPurge.close();
    await this.web?.close();
    await this.jobs.close(); // running jobs stay queued on disk and resume at the next start
    await this.cluster.close();
    this.pool.close();
    const grace = setTimeout(() => this.server.destroy(), graceMs);
    try {
      await this.server.close();
    } finally {
      clearTimeout(grace);
    }
    await this.control.close();
    await this.stores.close();
    this.#state = 'closed';
    debug('daemon closed');
  }
}
