/**
 * The node daemon — the only composition root. Wiring happens here and nowhere else, in two steps
 * (as js-libp2p does: a components record first, services from it):
 *
 * 1. Components, in order: the home, the node identity (identity.ts: a certificate of the active
 *    key), the trust store, the chunk stores, the address book and static addresses
 *    (peer-addresses.ts), the peer pool (dials from both), the cluster port (cluster-port.ts: its
 *    requests go to the handlers registered on it), the cluster services (record exchange greets
 *    every new session), the settings (settings.ts), the catalog (a pull from each peer after the
 *    record exchange), the trash purger, the tasks peers ask of this node (verify, copy: tasks.ts),
 *    the scrub, the repair service, the node info (info-source.ts) and node API; the cluster port's
 *    handlers in order (cluster services, tasks, catalog, kept indexes, node API); the job manager
 *    (runners from the job registry), the metrics source (metrics.ts), the operations (ops.ts) and
 *    the control socket and web UI (web-ui.ts) over them. The scrub's and repair's `busy` read the
 *    job manager once the node runs (a repair job runs the repair service: the one cycle, closed
 *    by a function).
 * 2. Services, started by one loop in this order and stopped in reverse: the control socket (it also
 *    refuses a second daemon on this home before anything listens), the catalog (its store open
 *    before the cluster port serves it; closed after the jobs that write to it), the cluster port,
 *    the peer pool, the cluster services, the jobs, the upload staging folder, the web UI, the trash
 *    purger, the scrub, the repair service (repair.ts), the trust watcher (trust-watch.ts). The
 *    stores close last.
 *
 * What a start may set: daemon-options.ts. Services get the narrow parts they use, never the daemon.
 * While it runs it is the only writer of ADDC/.
 */
import { join } from 'node:path';
import { debuglog } from 'node:util';
import { AddressBook } from '../cluster/address-book.ts';
import { controlRoutes } from '../control/routes.ts';
import { ControlServer } from '../control/server.ts';
import { appendAudit } from '../home/audit.ts';
import { NodeHome } from '../home/open.ts';
import { isFinished, JobManager } from '../jobs/index.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { NodeOps } from '../ops/types.ts';
import { DiskStore } from '../store/disk-store.ts';
import type { StoreSet } from '../store/store-set.ts';
import { removeStreamScratch } from '../transfer/stream.ts';
import type { NodeInfo } from '../transport/node-info.ts';
import { type PeerAddress, PeerPool } from '../transport/pool.ts';
import type { NodeServer } from '../transport/server.ts';
import type { WebServer } from '../web/server.ts';
import { LiveStaging } from '../web/staging.ts';
import { tidyStaging } from '../web/upload.ts';
import { countFinished, settleLater } from '../young-gc.ts';
import { nodeApi } from './api.ts';
import { bulkApi } from './api-bulk.ts';
import { CatalogService } from './catalog-service.ts';
import { ClusterPort } from './cluster-port.ts';
import { ClusterServices } from './cluster-services.ts';
import { connector } from './connect.ts';
import type { DaemonOptions } from './daemon-options.ts';
import { formatHostPort, parseHostPort } from './host-port.ts';
import { type ActivateKey, keySwitch, nodeIdentity } from './identity.ts';
import { nodeInfoSource } from './info-source.ts';
import { jobRunners } from './job-runners.ts';
import { handleKept } from './kept.ts';
import { metricsSource } from './metrics.ts';
import { createNodeOps } from './ops.ts';
import { PeerAddresses } from './peer-addresses.ts';
import { RepairService } from './repair.ts';
import { Scrubber } from './scrub.ts';
import { daemonSettings } from './settings.ts';
import { openNodeStores } from './stores.ts';
import { TaskRunner } from './tasks.ts';
import { ChunkTraffic } from './traffic.ts';
import { TrashPurger } from './trash-purge.ts';
import { reloadTrust, trustWatcher } from './trust-watch.ts';
import { openWebUi } from './web-ui.ts';

const debug = debuglog('arozdfs');

const DEFAULT_LISTEN = '0.0.0.0:7420';

/** One long-lived part of the node, started and stopped by the daemon's loop. */
interface Service {
  name: string;
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
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
  readonly activateKey: ActivateKey;
  #log: (line: string) => void;
  #addresses: PeerAddresses;
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
    addresses: PeerAddresses;
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
    this.staticPeers = c.addresses.staticPeers;
    this.#addresses = c.addresses;
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
    const addresses = new PeerAddresses(book, (uuid, address) => cluster.addStatic(uuid, address));
    const pool = new PeerPool({ identity, pins: trust, ...addresses.dialing(listen) });
    const clusterPort = new ClusterPort({ identity, trust, listen });
    const { server, hints } = clusterPort;
    const cluster = new ClusterServices({
      home,
      trust,
      book,
      pool,
      listen: () => clusterPort.address(),
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
    const activateKey = keySwitch({ home, server, pool, log });
    const info = nodeInfoSource({ home, stores, trashPurge, scrub, orphans: () => repair.orphans });
    const api = nodeApi({ store: stores, info, idleMs, traffic });
    server.setBulk(bulkApi({ store: stores, idleMs, traffic }));
    clusterPort.use(
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
    const listenAddress = () => formatHostPort(clusterPort.address());
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
    // A finished job leaves its garbage (an upload receives nothing that would settle it).
    jobs.on('change', (job) => {
      if (!isFinished(job.state)) return;
      settleLater();
      countFinished();
    });
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
      staticPeers: addresses.staticPeers,
      info,
      metrics,
      listenAddress,
      ready: () => state.ready && !state.closing,
      activateKey,
      live: { hints, setStaticPeer: (uuid, address) => addresses.set(uuid, address) },
    });
    const control = new ControlServer(options.home, controlRoutes(ops));
    const web =
      options.web !== undefined && options.web !== false
        ? await openWebUi(options.web, { home, ops, staging, log })
        : undefined;
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
      addresses,
      info,
      activateKey,
      log,
      state,
    });
    addresses.load(home.config, options.peers ?? []);
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
      trustWatcher({
        trust: this.trust,
        remoteDir: this.home.paths.remote,
        server: this.server,
        pool: this.pool,
        reload: () => this.reloadTrust(),
        log: this.#log,
      }),
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
    settleLater(); // what starting up left behind
  }

  /** True once every service listens (the control socket answers before the rest has started). */
  get ready(): boolean {
    return this.#shared.ready && !this.#shared.closing;
  }

  /** Re-reads the trust store from disk; notices a key file deleted by hand. */
  async reloadTrust(): Promise<void> {
    await reloadTrust(this.trust, this.#log);
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
    this.#addresses.set(nodeUuid, address);
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
