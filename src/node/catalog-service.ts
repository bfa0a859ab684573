/**
 * The daemon's catalog (docs/catalog.md): the store at `<home>/catalog.db`, this node's own
 * statements (an `index` statement after each upload, a `tombstone` for `rm`), the two catalog
 * endpoints of the cluster port, and the sync that pulls from each trusted peer on connect and every
 * `intervalMs` — one task per peer at a time, every request bounded in time and size, so a frozen
 * peer stalls only its own task. When a tombstone is accepted (from a peer or from `rm` here), the
 * chunks of that file whose sidecar names the same file and uploader go to this node's trash.
 */
import { EventEmitter } from 'node:events';
import { readdir } from 'node:fs/promises';
import { debuglog } from 'node:util';
import {
  applyBatch,
  type CatalogKeys,
  type CatalogTombstone,
  catalogKeys,
  issueStatement,
  issueStatements,
  type OwnStatement,
  type Refusal,
  SqliteCatalogStore,
  wants,
} from '../catalog/index.ts';
import { ArozError, isProgrammingError } from '../errors.ts';
import type { NodeHome } from '../home/open.ts';
import {
  type IndexFile,
  isDistributedIndex,
  readIndexFile,
  storedObjects,
  storedObjectsOf,
} from '../index-file/index.ts';
import type { KeyPair, PublicKeyInfo } from '../keys/rsa.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { ChunkStore } from '../store/types.ts';
import type { PeerPool } from '../transport/pool.ts';
import type { PeerRequest } from '../transport/server.ts';
import { sendJson } from '../transport/wire.ts';
import {
  CHANGED_PATH,
  CHANGED_TIMEOUT_MS,
  fetchStatements,
  fetchSummary,
  parseStatementsQuery,
  STATEMENTS_PATH,
  SUMMARY_PATH,
  SUMMARY_TIMEOUT_MS,
  sendChanged,
} from './catalog-wire.ts';

const debug = debuglog('arozdfs');

/** New statements are announced to the peers this long after the first of them (more join it). */
const ANNOUNCE_DELAY_MS = 200;
/** Default seconds between two syncs with a peer (node.json `catalogSyncSeconds`). */
export const DEFAULT_CATALOG_SYNC_SECONDS = 60;
/** Chunks trashed at once for one tombstone. */
const TRASH_PARALLEL = 4;

export interface CatalogServiceOptions {
  home: NodeHome;
  trust: TrustStore;
  stores: ChunkStore;
  pool: Pick<PeerPool, 'session'>;
  log: (line: string) => void;
  intervalMs: number;
}

/** `change`: statements were stored here (issued by this node or pulled from a peer). */
export class CatalogService extends EventEmitter<{ change: [] }> {
  #options: CatalogServiceOptions;
  #store: SqliteCatalogStore | undefined;
  #ownKeys: PublicKeyInfo[] = [];
  readonly keys: CatalogKeys;
  #timer: NodeJS.Timeout | undefined;
  #stop = new AbortController();
  /** The running sync task of each peer (one at a time per peer). */
  #tasks = new Map<string, Promise<void>>();
  /** A peer asked for again while its task ran: one more round after it. */
  #again = new Set<string>();
  /** Refusals logged already (signer#seq:code), so each is logged once. */
  #logged = new Set<string>();
  #trashing = new Set<Promise<void>>();
  /** The holdings statement being issued per file (one at a time per file). */
  #holding = new Map<string, Promise<void>>();
  /** When the last complete sync with each peer started (ms since the epoch). */
  #syncedAt = new Map<string, number>();
  /** The pending announcement of new statements, and the peers being told (docs/catalog.md). */
  #announceTimer: NodeJS.Timeout | undefined;
  #announcing = new Set<string>();
  #announceAgain = new Set<string>();

  constructor(options: CatalogServiceOptions) {
    super();
    this.#options = options;
    const self = {
      nodeUuid: options.home.config.nodeUuid,
      get keys() {
        return ownKeys();
      },
    };
    const ownKeys = () => this.#ownKeys;
    this.keys = catalogKeys(self, options.trust);
  }

  /** The store (open between start and close). */
  get store(): SqliteCatalogStore {
    if (this.#store === undefined) throw new ArozError('ERR_INTERRUPTED', 'The catalog is not open');
    return this.#store;
  }

  get nodeUuid(): string {
    return this.#options.home.config.nodeUuid;
  }

  /** Opens the store, enters the kept indexes of earlier uploads, and starts the periodic sync. */
  async start(): Promise<void> {
    this.#store = await SqliteCatalogStore.open(this.#options.home.paths.catalog);
    await this.#refreshKeys();
    await this.#importKept();
    this.#timer = setInterval(() => this.syncAll(), this.#options.intervalMs);
    this.#timer.unref();
    // The first pull from each peer comes with its session (the daemon calls syncSoon on connect).
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    clearTimeout(this.#announceTimer);
    this.#stop.abort(new ArozError('ERR_INTERRUPTED', 'The node is shutting down'));
    await Promise.allSettled([...this.#tasks.values(), ...this.#trashing]);
    this.#store?.close();
    this.#store = undefined;
  }

  /** Signs an `index` statement for a file this node just uploaded. */
  async indexed(index: IndexFile): Promise<void> {
    await this.#issue({ kind: 'index', file: index.id, body: { index } });
  }

  /**
   * A batch's new indexes, signed and stored in one transaction (src/node/batch-jobs.ts); the
   * refusals by file id (an index over the cap, say), as `indexed` would have thrown them. `keyPair`:
   * the key pair the batch signed its indexes with (read once per batch); the statements are signed
   * with it, and this node's keys are read again from its home only when that key is not among them.
   */
  async indexedMany(indexes: readonly IndexFile[], keyPair?: KeyPair): Promise<Map<string, ArozError>> {
    if (keyPair === undefined || !this.#ownKeys.some((k) => k.fingerprint === keyPair.fingerprint))
      await this.#refreshKeys();
    const refused = issueStatements(
      this.store,
      indexes.map((index) => ({ kind: 'index', file: index.id, body: { index } })),
      {
        self: this.nodeUuid,
        keyPair: keyPair ?? (await this.#options.home.activeKeyPair()),
        keys: this.keys,
      },
    );
    this.#announce();
    this.emit('change');
    return refused;
  }

  /**
   * Signs a tombstone for file `id` (the caller checked this node uploaded it) and moves its chunks
   * here to the trash.
   */
  async remove(id: string): Promise<CatalogTombstone> {
    const file = this.store.getFile(id);
    if (file === undefined) throw new ArozError('ERR_NOT_FOUND', `No file "${id}" in the catalog`);
    const chunks = this.#chunksOf(id);
    await this.#issue({
      kind: 'tombstone',
      file: id,
      body: { revision: file.revision, deletedAt: new Date().toISOString() },
    });
    const tombstone = this.store.tombstoneOf(id);
    if (tombstone === undefined) throw new ArozError('ERR_INTERNAL', `The tombstone of "${id}" was not kept`);
    await this.#toTrash([tombstone], new Map([[id, chunks]]));
    return tombstone;
  }

  /**
   * States in a `holdings` statement which chunks of file `file` this node holds now: the chunks of
   * the file's newest index found in this node's stores (docs/repair.md). One statement at a time per
   * file, each computed when its turn comes, so the last one sees every copy stored before it. A file
   * this node does not know yet is pulled from the peers first; a deleted file gets none.
   */
  async held(file: string): Promise<void> {
    const before = this.#holding.get(file) ?? Promise.resolve();
    const turn = before.then(() => this.#stateHoldings(file));
    const settled = turn.catch(() => {});
    this.#holding.set(file, settled);
    try {
      await turn;
    } finally {
      if (this.#holding.get(file) === settled) this.#holding.delete(file);
    }
  }

  async #stateHoldings(file: string): Promise<void> {
    if (this.store.indexOf(file) === undefined && this.store.tombstoneOf(file) === undefined)
      await Promise.allSettled(this.#options.trust.list().map((p) => this.sync(p.nodeUuid)));
    const index = this.#store === undefined ? undefined : this.store.indexOf(file);
    if (index === undefined) return;
    const chunks: string[] = [];
    // Whole chunks, or the shards of an erasure-coded file.
    for (const object of storedObjectsOf(index).flat()) {
      const info = await this.#options.stores.head(object.uuid);
      if (info !== undefined && info.sha256 === object.sha256) chunks.push(object.uuid);
    }
    chunks.sort();
    try {
      await this.#issue({ kind: 'holdings', file, body: { chunks: [...new Set(chunks)] } });
    } catch (err) {
      if (isProgrammingError(err)) throw err;
      this.#options.log(`No holdings statement for file ${file}: ${(err as Error).message}`);
    }
  }

  /**
   * When this node's last complete sync with `peer` started (ms since the epoch; kept in memory, so
   * none after a restart until the first one ends): every statement the peer held then is here.
   */
  syncedAt(peer: string): number | undefined {
    return this.#syncedAt.get(peer);
  }

  /** Pulls from every trusted peer (each peer's own task; one at a time per peer). */
  syncAll(): void {
    for (const peer of this.#options.trust.list()) this.syncSoon(peer.nodeUuid);
  }

  /** Pulls from `peer` (after the pull in progress, if any); resolves when that round ends. */
  async sync(peer: string): Promise<void> {
    await this.#tasks.get(peer);
    this.syncSoon(peer);
    await this.#tasks.get(peer);
  }

  /** Pulls from `peer` now, or once more after the pull in progress. */
  syncSoon(peer: string): void {
    if (this.#stop.signal.aborted || this.#store === undefined) return;
    if (this.#tasks.has(peer)) {
      this.#again.add(peer);
      return;
    }
    const task = this.#syncPeer(peer)
      .catch((err: unknown) => {
        if (isProgrammingError(err)) throw err;
        debug('catalog: sync with %s: %s', peer, (err as Error).message);
      })
      .finally(() => {
        this.#tasks.delete(peer);
        if (this.#again.delete(peer)) this.syncSoon(peer);
      });
    this.#tasks.set(peer, task);
  }

  /** Handles the catalog routes of the cluster port; false when the path is not one of them. */
  async handle(req: PeerRequest): Promise<boolean> {
    const path = req.headers[':path'] ?? '';
    const method = req.headers[':method'];
    if (path === CHANGED_PATH) {
      if (method !== 'POST') throw new ArozError('ERR_ROUTE_NOT_FOUND', `No endpoint "${method} ${path}"`);
      // Only the caller is pulled from (its verified UUID), and pulls from one peer never overlap.
      this.syncSoon(req.peer);
      req.stream.respond({ ':status': 204 }, { endStream: true });
      return true;
    }
    if (path !== SUMMARY_PATH && !path.startsWith(`${STATEMENTS_PATH}?`) && path !== STATEMENTS_PATH)
      return false;
    if (method !== 'GET') throw new ArozError('ERR_ROUTE_NOT_FOUND', `No endpoint "${method} ${path}"`);
    if (path === SUMMARY_PATH) {
      sendJson(req.stream, 200, { signers: Object.fromEntries(this.store.summary()) });
      return true;
    }
    const { signer, after, limit } = parseStatementsQuery(path);
    const batch = this.store.statementsAfter(signer, after, { maxCount: limit });
    const header = JSON.stringify({
      signer,
      after,
      last: batch.last,
      more: batch.more,
      count: batch.statements.length,
    });
    const body = Buffer.concat([
      Buffer.from(`${header}\n`),
      ...batch.statements.flatMap((s) => [s, Buffer.from('\n')]),
    ]);
    req.stream.respond({
      ':status': 200,
      'content-type': 'application/x-ndjson',
      'content-length': body.length,
    });
    req.stream.end(body);
    return true;
  }

  async #issue(own: OwnStatement): Promise<void> {
    await this.#refreshKeys();
    issueStatement(this.store, own, {
      self: this.nodeUuid,
      keyPair: await this.#options.home.activeKeyPair(),
      keys: this.keys,
    });
    this.#announce();
    this.emit('change');
  }

  /**
   * Tells every trusted peer, soon, that this node has new statements, so they pull now instead of
   * at their next periodic sync: many statements in a short time make one announcement per peer,
   * one at a time per peer, each bounded by CHANGED_TIMEOUT_MS. A peer that cannot be reached
   * learns at its next pull, as before.
   */
  #announce(): void {
    if (this.#announceTimer !== undefined || this.#stop.signal.aborted) return;
    this.#announceTimer = setTimeout(() => {
      this.#announceTimer = undefined;
      for (const peer of new Set(this.#options.trust.list().map((p) => p.nodeUuid))) {
        if (peer === this.nodeUuid) continue;
        if (this.#announcing.has(peer)) {
          this.#announceAgain.add(peer);
          continue;
        }
        this.#announcing.add(peer);
        const signal = AbortSignal.any([this.#stop.signal, AbortSignal.timeout(CHANGED_TIMEOUT_MS)]);
        this.#options.pool
          .session(peer, { signal })
          .then((session) => sendChanged(session, peer, signal))
          .catch((err: unknown) => {
            if (isProgrammingError(err)) throw err;
            debug('catalog: announce to %s: %s', peer, (err as Error).message);
          })
          .finally(() => {
            this.#announcing.delete(peer);
            if (this.#announceAgain.delete(peer)) this.#announce();
          });
      }
    }, ANNOUNCE_DELAY_MS);
    this.#announceTimer.unref();
  }

  async #refreshKeys(): Promise<void> {
    this.#ownKeys = await this.#options.home.keys.list();
  }

  /** Every index in <home>/indexes/ that the catalog does not hold yet (uploads before the catalog). */
  async #importKept(): Promise<void> {
    const dir = this.#options.home.paths.indexes;
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      try {
        const index = await readIndexFile(`${dir}/${name}`);
        if (!isDistributedIndex(index) || index.createdBy !== this.nodeUuid) continue;
        const held = this.store.getFile(index.id);
        if (held !== undefined || this.store.tombstoneOf(index.id) !== undefined) continue;
        await this.#issue({ kind: 'index', file: index.id, body: { index } });
      } catch (err) {
        if (isProgrammingError(err)) throw err;
        this.#options.log(`Kept index "${name}" was not entered into the catalog: ${(err as Error).message}`);
      }
    }
  }

  async #syncPeer(peer: string): Promise<void> {
    const signal = this.#stop.signal;
    const started = Date.now();
    const session = await this.#options.pool.session(peer, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(SUMMARY_TIMEOUT_MS)]),
    });
    const remote = await fetchSummary(session, peer, signal);
    for (const want of wants(this.store.summary(), remote, this.keys)) {
      let after = want.after;
      for (;;) {
        signal.throwIfAborted();
        const answer = await fetchStatements(session, peer, want.signer, after, signal);
        if (answer.lines.length === 0 || this.#store === undefined) break;
        const chunks = this.#chunksOfTombstones(answer.lines);
        const result = applyBatch(this.store, this.keys, answer.lines, { signer: want.signer, after });
        for (const refusal of result.refused) this.#logRefusal(peer, want.signer, refusal);
        if (result.accepted > 0) this.emit('change');
        if (result.deleted.length > 0) this.#trashLater(result.deleted, chunks);
        if (result.stopped) return;
        if (!answer.more || answer.last <= after) break;
        after = answer.last;
      }
    }
    this.#syncedAt.set(peer, started);
  }

  /** The chunks of each file a tombstone in `lines` is about, read before the tombstone removes them. */
  #chunksOfTombstones(lines: readonly Buffer[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const line of lines) {
      if (!line.includes('"kind":"tombstone"')) continue;
      const file = /"file":"([0-9a-f-]{36})"/.exec(line.toString('utf8'))?.[1];
      if (file !== undefined) out.set(file, this.#chunksOf(file));
    }
    return out;
  }

  #chunksOf(file: string): string[] {
    return this.store.indexOf(file)?.chunks.flatMap((c) => storedObjects(c).map((o) => o.uuid)) ?? [];
  }

  #logRefusal(peer: string, signer: string, refusal: Refusal): void {
    const key = `${refusal.signer ?? signer}#${refusal.seq ?? '?'}:${refusal.code}`;
    if (this.#logged.has(key)) return;
    if (this.#logged.size > 10_000) this.#logged.clear();
    this.#logged.add(key);
    this.#options.log(
      `Refused a catalog statement of node ${signer} relayed by node ${peer}: ${refusal.message} (${refusal.code})`,
    );
  }

  #trashLater(tombstones: readonly CatalogTombstone[], chunks: Map<string, string[]>): void {
    const work = this.#toTrash(tombstones, chunks).finally(() => this.#trashing.delete(work));
    this.#trashing.add(work);
  }

  /** Moves to the trash each chunk of a deleted file whose sidecar names that file and its uploader. */
  async #toTrash(tombstones: readonly CatalogTombstone[], chunks: Map<string, string[]>): Promise<void> {
    const { stores } = this.#options;
    for (const tombstone of tombstones) {
      const list = [...(chunks.get(tombstone.id) ?? [])];
      let moved = 0;
      const worker = async () => {
        for (let uuid = list.pop(); uuid !== undefined; uuid = list.pop()) {
          try {
            const info = await stores.head(uuid);
            if (info?.indexId !== tombstone.id || info.uploader !== tombstone.uploader) continue;
            await stores.delete(uuid, { by: tombstone.uploader });
            moved++;
          } catch (err) {
            if (isProgrammingError(err)) throw err;
            debug('catalog: cannot trash chunk %s: %s', uuid, (err as Error).message);
          }
        }
      };
      await Promise.all(Array.from({ length: TRASH_PARALLEL }, worker));
      if (moved > 0)
        this.#options.log(`File ${tombstone.id} was deleted: ${moved} chunk(s) moved to the trash.`);
    }
  }
}
