/**
 * The node daemon — the only composition root. Wiring happens here and nowhere else, in two steps
 * (as js-libp2p does: a components record first, services from it):
 *
 * 1. Components, in order: the home, the node identity (a certificate of the active key), the trust
 *    store, the chunk stores, the address book, the peer pool (dials from the book), the cluster
 *    port (its requests go to the handlers registered on it), the cluster services (record exchange
 *    greets every new session), the settings (src/node/settings.ts), the catalog (a pull from each
 *    peer after the record exchange), the trash purger, the tasks peers ask of this node (verify,
 *    copy: src/node/tasks.ts), the scrub, the repair service, the node API; the cluster port's
 *    handlers in order (cluster services, tasks, catalog, kept indexes, node API); the job manager
 *    (runners from the job registry), the metrics source (src/node/metrics.ts), the operations
 *    (src/node/ops.ts) and the control socket and web UI over them. The scrub's and repair's `busy` read the job manager once the node runs (a repair
 *    job runs the repair service: the one cycle, closed by a function).
 * 2. Services, started by one loop in this order and stopped in reverse: the control socket (it also
 *    refuses a second daemon on this home before anything listens), the catalog (its store open
 *    before the cluster port serves it; closed after the jobs that write to it), the cluster port, the peer pool,
 *    the cluster services, the jobs, the upload staging folder, the web UI, the trash purger, the
 *    scrub, the repair service (src/node/repair.ts), the trust watcher. The stores close last.
 *
 * Services get the narrow parts they use, never the daemon. While it runs it is the only writer of ADDC/.
 */
import { type FSWatcher, watch } from 'node:fs';
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { AddressBook } from '../cluster/address-book.ts';
import { controlRoutes } from '../control/routes.ts';
import { ControlServer } from '../control/server.ts';
import { ArozError } from '../errors.ts';
import { type AuditSource, appendAudit } from '../home/audit.ts';
import { NodeHome } from '../home/open.ts';
import { JobManager } from '../jobs/index.ts';
import { makeNodeCertificate } from '../keys/certificate.ts';
import type { KeyPair } from '../keys/rsa.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { NodeOps } from '../ops/types.ts';
import { DiskStore } from '../store/disk-store.ts';
import type { StoreSet } from '../store/store-set.ts';
import type { StoreStatus } from '../store/types.ts';
import { removeStreamScratch } from '../transfer/stream.ts';
import type { NodeInfo, NodeOrphans } from '../transport/node-info.ts';
import { type PeerAddress, PeerPool } from '../transport/pool.ts';
import { type Identity, NodeServer, type RequestHandler } from '../transport/server.ts';
import { isUuid } from '../uuid.ts';
import { VERSION } from '../version.ts';
import { WebAuth } from '../web/auth.ts';
import { isLoopback } from '../web/guard.ts';
import { metricsRoutes } from '../web/metrics.ts';
import { webRoutes } from '../web/routes.ts';
import { WebServer } from '../web/server.ts';
import { LiveStaging } from '../web/staging.ts';
import { openWebTls } from '../web/tls.ts';
import { tidyStaging } from '../web/upload.ts';
import { nodeApi } from './api.ts';
import { CatalogService } from './catalog-service.ts';
import { ClusterServices } from './cluster-services.ts';
import { connector } from './connect.ts';
import { formatHostPort, parseHostPort } from './host-port.ts';
import { jobRunners } from './job-runners.ts';
import { handleKept } from './kept.ts';
import { metricsSource } from './metrics.ts';
import { createNodeOps } from './ops.ts';
import { PairingHints } from './pairing-hints.ts';
import { RepairService } from './repair.ts';
import { Scrubber, type ScrubSettings } from './scrub.ts';
import { daemonSettings } from './settings.ts';
import { openNodeStores } from './stores.ts';
import { type TaskLimits, TaskRunner } from './tasks.ts';
import { ChunkTraffic } from './traffic.ts';
import { TrashPurger } from './trash-purge.ts';

const debug = debuglog('arozdfs');

const DEFAULT_LISTEN = '0.0.0.0:7420';
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
  /** Milliseconds between two catalog syncs with each peer (default: node.json's `catalogSyncSeconds`, else 60 s). */
  catalogSyncMs?: number;
  /** One line for people (the daemon entry prints it). */
  log?: (line: string) => void;
  /**
   * The web UI: `host:port` (port 0 picks one), or false for none (the default here; `serve` passes
   * 127.0.0.1:7421). A non-loopback host, or `tls: true`, serves HTTPS with the web UI's own key and
   * certificate (ADDC/web-tls.pem, made the first time), never the node's identity key.
   */
  web?: false | { address: string; tls?: boolean; machine?: string };
  /** Limits of the node-to-node tasks this node runs for its peers (docs/protocol.md "Tasks"). */
  tasks?: Partial<TaskLimits>;
  /** The scrub (docs/store.md): node.json's `scrubPassSeconds` and `scrubMaxBytesPerSecond`, else defaults. */
  scrub?: Partial<ScrubSettings>;
  /**
   * Repair (docs/repair.md): ms a peer may be unreachable before its copies count no more, and ms
   * between two periodic passes (0: none). Else node.json's `repairGoneSeconds` and
   * `repairIntervalSeconds`, else 15 and 10 minutes; the orphans' safety age, else node.json's
   * `orphanAgeSeconds`, else 24 hours.
   */
  repair?: { goneMs?: number; intervalMs?: number; orphanAgeMs?: number };
}

/** One long-lived part of the node, started and stopped by the daemon's loop. */
interface Service {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

async function nodeIdentity(home: NodeHome, pair: KeyPair): Promise<Identity> {
  const { certPem, keyPem } = await makeNodeCertificate(home.config.nodeUuid, pair);
  return { nodeUuid: home.config.nodeUuid, certPem, keyPem };
}

/**
 * What `GET /v1/node` answers. Store status (a marker read and a statfs per store, through the libuv
 * pool that transfers keep busy) is shared by the calls of one second, so status requests stay fast
 * during a job; puts still check the marker themselves every time.
 */
function nodeInfoSource(parts: {
  home: NodeHome;
  stores: StoreSet;
  trashPurge: TrashPurger;
  scrub: Scrubber;
  /** The last full repair pass's orphan figures, once there was one. */
  orphans: () => NodeOrphans | undefined;
}) {
  let statuses: { at: number; pending: Promise<StoreStatus[]> } | undefined;
  return async (): Promise<NodeInfo> => {
    const now = Date.now();
    if (statuses === undefined || now - statuses.at > STATUS_CACHE_MS) {
      const pending = parts.stores.statuses();
      statuses = { at: now, pending };
      pending.catch(() => {
        if (statuses?.pending === pending) statuses = undefined;
      });
    }
    const stores = await statuses.pending;
    const online = stores.filter((s) => s.online);
    return {
      uuid: parts.home.config.nodeUuid,
      name: parts.home.config.name,
      version: VERSION,
      stores,
      trash: {
        chunks: online.reduce((n, s) => n + s.trash.chunks, 0),
        bytes: online.reduce((n, s) => n + s.trash.bytes, 0),
        graceSeconds: Math.round(parts.trashPurge.graceMs / 1000),
        purgedAt: parts.trashPurge.state.purgedAt,
      },
      scrub: parts.scrub.status({
        chunks: online.reduce((n, s) => n + (s.quarantine?.chunks ?? 0), 0),
        bytes: online.reduce((n, s) => n + (s.quarantine?.bytes ?? 0), 0),
      }),
      orphans: parts.orphans() ?? { collected: 0, kept: 0, at: null },
    };
  };
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
  /** The cluster's catalog of files, and its sync with the peers. */
  readonly catalog: CatalogService;
  /** Empties the stores' trash after the grace period. */
  readonly trashPurge: TrashPurger;
  /** What the node can be asked to do; the control socket and the web UI adapt it. */
  readonly ops: NodeOps;
  /** The verify and copy tasks this node runs for its peers. */
  readonly tasks: TaskRunner;
  /** Chunk requests in flight and the chunk bytes moved per peer. */
  readonly traffic: ChunkTraffic;
  /** Re-reads this node's chunks in the background; quarantines corrupt copies. */
  readonly scrub: Scrubber;
  /** Keeps every file at its number of copies (docs/repair.md). */
  readonly repair: RepairService;
  /** The web UI, when it is on. */
  readonly web: WebServer | undefined;
  /** Static addresses by node UUID (`--peer`); the cluster services add live ones. */
  readonly staticPeers: Map<string, PeerAddress>;
  readonly info: () => Promise<NodeInfo>;
  /** Switches the identity key; live connections are closed and new ones use the new certificate. */
  readonly activateKey: (keyUuid: string, from: AuditSource) => Promise<{ pair: KeyPair; previous: string }>;
  #log: (line: string) => void;
  #services: Service[];
  #started: Service[] = [];
  #state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  /** What the operations and the jobs read: every service started; shutting down. */
  #shared: { closing: boolean; ready: boolean };

  private constructor(c: {
    home: NodeHome;
    trust: TrustStore;
    stores: StoreSet;
    server: NodeServer;
    pool: PeerPool;
    control: ControlServer;
    jobs: JobManager;
    cluster: ClusterServices;
    catalog: CatalogService;
    trashPurge: TrashPurger;
    ops: NodeOps;
    tasks: TaskRunner;
    traffic: ChunkTraffic;
    scrub: Scrubber;
    repair: RepairService;
    web: WebServer | undefined;
    staticPeers: Map<string, PeerAddress>;
    info: () => Promise<NodeInfo>;
    activateKey: Daemon['activateKey'];
    log: (line: string) => void;
    state: { closing: boolean; ready: boolean };
  }) {
    this.home = c.home;
    this.trust = c.trust;
    this.stores = c.stores;
    this.server = c.server;
    this.pool = c.pool;
    this.control = c.control;
    this.jobs = c.jobs;
    this.cluster = c.cluster;
    this.catalog = c.catalog;
    this.trashPurge = c.trashPurge;
    this.ops = c.ops;
    this.tasks = c.tasks;
    this.traffic = c.traffic;
    this.scrub = c.scrub;
    this.repair = c.repair;
    this.web = c.web;
    this.staticPeers = c.staticPeers;
    this.info = c.info;
    this.activateKey = c.activateKey;
    this.#log = c.log;
    this.#shared = c.state;
    this.#services = this.#serviceList();
  }

  get nodeUuid(): string {
    return this.home.config.nodeUuid;
  }

  /** Opens everything and starts listening. On failure, whatever was started is stopped. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const log = options.log ?? (() => {});
    // Components, each from the ones before it.
    const home = await NodeHome.open(options.home);
    const listen = parseHostPort(
      options.listen ?? home.config.listen ?? DEFAULT_LISTEN,
      'The listen address',
    );
    const identity = await nodeIdentity(home, await home.activeKeyPair());
    const trust = await home.trustStore();
    const stores = await openNodeStores(home, options.stores ?? []);
    const nodeUuid = home.config.nodeUuid;
    const book = new AddressBook();
    const staticPeers = new Map<string, PeerAddress>();
    const pool = new PeerPool({
      identity,
      pins: trust,
      // Where to dial a node, best first: the address book's candidates, then static addresses.
      addressesOf: (uuid) => {
        const found = book.endpoints(uuid, { dueOnly: true });
        const fixed = staticPeers.get(uuid);
        if (fixed !== undefined && !found.some((a) => a.host === fixed.host && a.port === fixed.port))
          found.push(fixed);
        return found;
      },
      onDial: (uuid, address, error) => {
        if (error === undefined) book.markSuccess(uuid, address);
        else book.markFailure(uuid, address);
      },
      ...(listen.host !== '0.0.0.0' && listen.host !== '::' ? { localAddress: listen.host } : {}),
    });
    /** The cluster port's handlers, asked in order; the first that takes a request answers it. */
    const handlers: Array<(request: Parameters<RequestHandler>[0]) => Promise<boolean>> = [];
    // Nodes that dialled this one with a key it does not trust: shown as pairing hints, never trusted.
    const hints = new PairingHints({ self: nodeUuid, isKnown: (uuid) => trust.get(uuid) !== undefined });
    const server = new NodeServer({
      identity,
      pins: trust,
      host: listen.host,
      port: listen.port,
      onRefused: (socket) => hints.refused(socket),
      handler: async (request) => {
        for (const handle of handlers) if (await handle(request)) return;
      },
    });
    const cluster = new ClusterServices({
      home,
      trust,
      book,
      pool,
      listen: () => {
        const { address, port } = server.address();
        return { host: address, port };
      },
      log,
      discovery: options.discovery ?? {},
      ...(options.heartbeatMs !== undefined ? { heartbeatMs: options.heartbeatMs } : {}),
    });
    const settings = daemonSettings(options, home.config);
    const catalog = new CatalogService({
      home,
      trust,
      stores,
      pool,
      log,
      intervalMs: settings.catalogSyncMs,
    });
    // Every new session: the address records first, then a catalog pull from that peer.
    pool.greet(async (uuid, session, signal) => {
      try {
        await cluster.exchange(uuid, session, signal);
      } finally {
        setImmediate(() => catalog.syncSoon(uuid));
      }
    });
    const trashPurge = new TrashPurger({ store: stores, graceMs: settings.trashGraceMs, log });
    const traffic = new ChunkTraffic();
    const idleMs = options.idleMs ?? 30_000;
    const connect = connector({ nodeUuid, stores, trust, pool }, idleMs);
    const diskStores = () => stores.stores.filter((s) => s instanceof DiskStore);
    const tasks = new TaskRunner({
      nodeUuid,
      stores,
      connect,
      ...(options.tasks !== undefined ? { limits: options.tasks } : {}),
      // A copy stored here: this node says so in the catalog (no node speaks for another).
      onHeld: async (_chunk, file) => {
        if (file !== undefined)
          await catalog.held(file).catch((err: unknown) => log(`${(err as Error).message}`));
      },
    });
    // The scrub and repair give way to this node's own jobs, and the job manager runs repair jobs:
    // their `busy` reads `jobs` (made below) only once the node runs.
    const scrub = new Scrubber({
      stores: diskStores,
      statePath: join(home.paths.home, 'scrub.json'),
      settings: settings.scrub,
      // Transfers go first: node API chunk requests, tasks, and this node's own running jobs.
      busy: () => traffic.inFlight > 0 || tasks.active > 0 || jobs.list().some((j) => j.state === 'running'),
      audit: (entry) => appendAudit(home.paths.auditLog, entry),
      log,
    });
    const repair = new RepairService({
      nodeUuid,
      stores,
      trust,
      pool,
      catalog,
      connect,
      // This node's own transfers go first (a repair job itself does not count).
      busy: () => jobs.list().some((j) => j.state === 'running' && j.kind !== 'repair'),
      listable: diskStores,
      uploading: () =>
        jobs.list().some((j) => j.kind === 'upload' && (j.state === 'queued' || j.state === 'running')),
      keptIndexes: home.paths,
      ...settings.repair,
      log,
    });
    const info = nodeInfoSource({ home, stores, trashPurge, scrub, orphans: () => repair.orphans });
    const api = nodeApi({ store: stores, info, idleMs, traffic });
    handlers.push(
      (request) => cluster.handle(request),
      (request) => tasks.handle(request),
      (request) => catalog.handle(request),
      (request) => handleKept(home.paths, request),
      async (request) => {
        await api(request);
        return true;
      },
    );
    const state = { closing: false, ready: false };
    // Web uploads still arriving: their jobs start at once and read the staging file as it grows.
    const staging = new LiveStaging();
    const listenAddress = () => {
      const { address, port } = server.address();
      return formatHostPort({ host: address, port });
    };
    const jobs = new JobManager({
      dir: home.paths.jobs,
      concurrency: settings.jobConcurrency,
      runners: jobRunners({
        nodeUuid,
        home,
        trust,
        stores,
        pool,
        catalog,
        repair,
        closing: () => state.closing,
        stagingSource: (path) => staging.source(path),
      }),
    });
    const activateKey: Daemon['activateKey'] = async (keyUuid, from) => {
      const result = await home.activateKey(keyUuid, from);
      if (result.previous !== keyUuid) {
        const next = await nodeIdentity(home, result.pair);
        server.setIdentity(next);
        pool.setIdentity(next);
        // The web UI keeps its own certificate (ADDC/web-tls.pem): browsers need not accept a new one.
        log(`Switched the identity key to ${keyUuid}: every peer must pair again.`);
      }
      return result;
    };
    const metrics = metricsSource({
      nodeUuid,
      name: () => home.config.name,
      info,
      traffic,
      jobs,
      repair,
      trust,
      book,
      catalog: { counts: () => catalog.store.counts() },
      discovery: () => cluster.discovery,
    });
    const ops = createNodeOps({
      nodeUuid,
      home,
      trust,
      stores,
      pool,
      jobs,
      cluster,
      catalog,
      staticPeers,
      info,
      metrics,
      listenAddress,
      ready: () => state.ready && !state.closing,
      activateKey,
      live: {
        hints,
        setStaticPeer: (uuid, address) => {
          if (address === null) staticPeers.delete(uuid);
          else {
            staticPeers.set(uuid, address);
            cluster.addStatic(uuid, address);
          }
        },
      },
    });
    const control = new ControlServer(options.home, controlRoutes(ops));
    let web: WebServer | undefined;
    if (options.web !== undefined && options.web !== false) {
      const at = parseHostPort(options.web.address, 'The web UI address');
      const auth = await WebAuth.open(home.paths.addc);
      web = new WebServer({
        host: at.host,
        port: at.port,
        tls:
          options.web.tls === true || !isLoopback(at.host)
            ? await openWebTls(home.paths.addc, nodeUuid, { host: at.host })
            : undefined,
        nodeUuid,
        auth,
        routes: {
          ...webRoutes(ops, auth, { staging }),
          // `/metrics` (off unless node.json says "metrics": true): docs/web.md "Metrics".
          ...metricsRoutes(ops, {
            enabled: home.config.metrics === true,
            tokenSha256: home.config.metricsTokenSha256,
          }),
        },
        ...(options.web.machine !== undefined ? { machine: options.web.machine } : {}),
      });
    }
    const daemon = new Daemon({
      home,
      trust,
      stores,
      server,
      pool,
      control,
      jobs,
      cluster,
      catalog,
      trashPurge,
      ops,
      tasks,
      traffic,
      scrub,
      repair,
      web,
      staticPeers,
      info,
      activateKey,
      log,
      state,
    });
    // Addresses set on the web UI (node.json), then `--peer` (which wins for the same node).
    for (const [uuid, address] of Object.entries(home.config.peerAddresses ?? {})) {
      if (isUuid(uuid)) daemon.addPeerAddress(uuid, parseHostPort(address, `The address of peer ${uuid}`));
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

  /** The services, in start order (stopped in reverse). */
  #serviceList(): Service[] {
    let watcher: FSWatcher | undefined;
    let timer: NodeJS.Timeout | undefined;
    const onRemoved = (peer: { nodeUuid: string }) => {
      this.server.dropPeer(peer.nodeUuid);
      this.pool.drop(peer.nodeUuid);
      this.#log(`No longer trusting node ${peer.nodeUuid}: its connections were closed.`);
    };
    return [
      { name: 'control socket', start: () => this.control.start(), stop: () => this.control.close() },
      // Before the cluster port: its catalog endpoints answer from the open store.
      { name: 'catalog', start: () => this.catalog.start(), stop: () => this.catalog.close() },
      {
        name: 'cluster port',
        start: () => this.server.start(),
        stop: async () => {
          const grace = setTimeout(() => this.server.destroy(), this.#graceMs);
          try {
            await this.server.close();
          } finally {
            clearTimeout(grace);
          }
        },
      },
      { name: 'peer pool', start: () => {}, stop: () => this.pool.close() },
      { name: 'cluster services', start: () => this.cluster.start(), stop: () => this.cluster.close() },
      // Running jobs stay queued on disk and resume at the next start.
      { name: 'jobs', start: () => this.jobs.start(), stop: () => this.jobs.close() },
      {
        name: 'upload staging',
        start: async () => {
          await tidyStaging(this.home.paths.uploads, this.jobs, this.#log);
          await removeStreamScratch(this.home.paths.downloads);
        },
        stop: () => {},
      },
      { name: 'web UI', start: () => this.web?.start(), stop: () => this.web?.close() },
      { name: 'trash purger', start: () => this.trashPurge.start(), stop: () => this.trashPurge.close() },
      { name: 'scrub', start: () => this.scrub.start(), stop: () => this.scrub.close() },
      { name: 'repair', start: () => this.repair.start(), stop: () => this.repair.close() },
      {
        name: 'trust watcher',
        start: () => {
          this.trust.on('removed', onRemoved);
          watcher = watch(this.home.paths.remote, () => void this.reloadTrust());
          watcher.on('error', () => {});
          timer = setInterval(() => void this.reloadTrust(), TRUST_RELOAD_MS);
          timer.unref();
        },
        stop: () => {
          clearInterval(timer);
          watcher?.close();
          this.trust.off('removed', onRemoved);
        },
      },
    ];
  }

  #graceMs = 5_000;

  async #start(): Promise<void> {
    this.#state = 'running';
    for (const service of this.#services) {
      this.#started.push(service);
      debug('starting %s', service.name);
      await service.start();
    }
    this.#shared.ready = true;
  }

  /** True once every service listens (the control socket answers before the rest has started). */
  get ready(): boolean {
    return this.#shared.ready && !this.#shared.closing;
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

  /** True once the daemon is shutting down (a job cut now must resume later, not clean up). */
  get closing(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  /** The bound cluster address as `host:port`. */
  listenAddress(): string {
    return this.ops.listenAddress();
  }

  /** A static address of a peer (`--peer`). */
  addPeerAddress(nodeUuid: string, address: PeerAddress): void {
    this.staticPeers.set(nodeUuid, address);
    this.cluster.addStatic(nodeUuid, address);
  }

  /** Stops in reverse start order; in-flight requests get `graceMs` to finish, then are aborted. */
  async close(graceMs = 5_000): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    this.#shared.closing = true;
    this.#graceMs = graceMs;
    for (const service of this.#started.reverse()) {
      debug('stopping %s', service.name);
      await service.stop();
    }
    this.#started = [];
    await this.stores.close();
    this.#state = 'closed';
    debug('daemon closed');
  }
}
