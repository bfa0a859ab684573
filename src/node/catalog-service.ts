/**
 * The daemon's catalog (docs/catalog.md): the store at `<home>/catalog.db`, this node's own
 * statements (an `index` statement after each upload, a `tombstone` for `rm`), the two catalog
 * endpoints of the cluster port, and the sync that pulls from each trusted peer on connect and every
 * `intervalMs` — one task per peer at a time, every request bounded in time and size, so a frozen
 * peer stalls only its own task. When a tombstone is accepted (from a peer or from `rm` here), the
 * chunks of that file whose sidecar names the same file and uploader go to this node's trash.
 */
import { readdir } from 'node:fs/promises';
import type { ClientHttp2Session } from 'node:http2';
import { debuglog } from 'node:util';
import {
  applyBatch,
  CATALOG_LIMITS,
  type CatalogKeys,
  type CatalogTombstone,
  catalogKeys,
  issueStatement,
  type OwnStatement,
  type Refusal,
  SqliteCatalogStore,
  wants,
} from '../catalog/index.ts';
import { ArozError, isProgrammingError } from '../errors.ts';
import type { NodeHome } from '../home/open.ts';
import { type IndexFile, isDistributedIndex, readIndexFile } from '../index-file/index.ts';
import type { PublicKeyInfo } from '../keys/rsa.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { ChunkStore } from '../store/types.ts';
import { readBody, request } from '../transport/client.ts';
import type { PeerPool } from '../transport/pool.ts';
import type { PeerRequest } from '../transport/server.ts';
import { errorFromWire, sendJson } from '../transport/wire.ts';
import { isUuid } from '../uuid.ts';

const debug = debuglog('arozdfs');

export const SUMMARY_PATH = '/v1/catalog/summary';
export const STATEMENTS_PATH = '/v1/catalog/statements';
/** Default seconds between two syncs with a peer (node.json `catalogSyncSeconds`). */
export const DEFAULT_CATALOG_SYNC_SECONDS = 60;
const SUMMARY_TIMEOUT_MS = 10_000;
const SUMMARY_MAX_BYTES = 1024 * 1024;
const STATEMENTS_IDLE_MS = 30_000;
const STATEMENTS_DEADLINE_MS = 120_000;
/** A whole answer: every statement of a full batch plus its header and newlines. */
const ANSWER_MAX_BYTES = CATALOG_LIMITS.maxBatchBytes + 64 * 1024;
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

export class CatalogService {
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

  constructor(options: CatalogServiceOptions) {
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
        if (result.deleted.length > 0) this.#trashLater(result.deleted, chunks);
        if (result.stopped || !answer.more || answer.last <= after) break;
        after = answer.last;
      }
    }
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
    return this.store.indexOf(file)?.chunks.map((c) => c.uuid) ?? [];
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

/** The query of a statements request: signer, after, limit, and nothing else (else 400). */
export function parseStatementsQuery(path: string): { signer: string; after: number; limit: number } {
  const query = new URLSearchParams(path.slice(STATEMENTS_PATH.length + 1));
  for (const key of query.keys()) {
    if (!['signer', 'after', 'limit'].includes(key) || query.getAll(key).length > 1)
      throw new ArozError('ERR_BAD_REQUEST', `Unexpected query parameter "${String(key).slice(0, 40)}"`);
  }
  const signer = query.get('signer') ?? '';
  if (!isUuid(signer))
    throw new ArozError(
      'ERR_INVALID_UUID',
      `"${query.get('signer')?.slice(0, 60) ?? ''}" is not a node UUID`,
    );
  const whole = (text: string | null, fallback: number, min: number, max: number, what: string) => {
    if (text === null) return fallback;
    const n = /^\d{1,16}$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max)
      throw new ArozError('ERR_BAD_REQUEST', `"${what}" must be a whole number from ${min} to ${max}`);
    return n;
  };
  return {
    signer,
    after: whole(query.get('after'), 0, 0, Number.MAX_SAFE_INTEGER, 'after'),
    limit: whole(query.get('limit'), CATALOG_LIMITS.maxBatchCount, 1, CATALOG_LIMITS.maxBatchCount, 'limit'),
  };
}

async function fetchSummary(
  session: ClientHttp2Session,
  peer: string,
  signal: AbortSignal,
): Promise<Map<string, number>> {
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(SUMMARY_TIMEOUT_MS)]);
  const res = await request(session, { ':method': 'GET', ':path': SUMMARY_PATH }, { signal: timeout });
  const onAbort = () => res.stream.close(0x8);
  timeout.addEventListener('abort', onAbort, { once: true });
  const text = await readBody(res.stream, SUMMARY_MAX_BYTES).finally(() =>
    timeout.removeEventListener('abort', onAbort),
  );
  timeout.throwIfAborted();
  if (res.status !== 200) throw errorFromWire(res.status, text, peer);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" answered a catalog summary that is not JSON`);
  }
  const signers = (body as { signers?: unknown } | null)?.signers;
  if (typeof signers !== 'object' || signers === null)
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" answered a catalog summary without "signers"`);
  const out = new Map<string, number>();
  for (const [signer, seq] of Object.entries(signers)) {
    if (isUuid(signer) && Number.isSafeInteger(seq) && (seq as number) > 0) out.set(signer, seq as number);
  }
  return out;
}

interface Answer {
  lines: Buffer[];
  last: number;
  more: boolean;
}

/**
 * One statements request: a 30 s no-progress timeout and a 120 s deadline; the answer is refused
 * over 16 MiB + 64 KiB, with a line over 16 MiB, or with more lines than its header's count.
 */
async function fetchStatements(
  session: ClientHttp2Session,
  peer: string,
  signer: string,
  after: number,
  signal: AbortSignal,
): Promise<Answer> {
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(STATEMENTS_DEADLINE_MS)]);
  const path = `${STATEMENTS_PATH}?signer=${signer}&after=${after}&limit=${CATALOG_LIMITS.maxBatchCount}`;
  const res = await request(
    session,
    { ':method': 'GET', ':path': path },
    { signal: deadline, timeoutMs: STATEMENTS_IDLE_MS },
  );
  if (res.status !== 200) throw errorFromWire(res.status, await readBody(res.stream), peer);
  const { stream } = res;
  const tooLarge = (what: string) => {
    stream.close(0x8);
    return new ArozError('ERR_CATALOG_TOO_LARGE', `Node "${peer}" sent a catalog answer ${what}`);
  };
  const pieces: Buffer[] = [];
  let total = 0;
  let idle: NodeJS.Timeout | undefined;
  const onAbort = () => stream.close(0x8);
  deadline.addEventListener('abort', onAbort, { once: true });
  try {
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(() => stream.close(0x8), STATEMENTS_IDLE_MS);
    };
    arm();
    for await (const piece of stream as AsyncIterable<Buffer>) {
      arm();
      total += piece.length;
      if (total > ANSWER_MAX_BYTES) throw tooLarge(`over ${ANSWER_MAX_BYTES} bytes`);
      pieces.push(piece);
    }
    if (!stream.readableEnded || stream.rstCode !== 0)
      throw new ArozError('ERR_TIMEOUT', `Node "${peer}" did not finish its catalog answer in time`);
  } finally {
    clearTimeout(idle);
    deadline.removeEventListener('abort', onAbort);
  }
  deadline.throwIfAborted();
  const all = Buffer.concat(pieces);
  const lines: Buffer[] = [];
  let start = 0;
  for (let nl = all.indexOf(10); nl !== -1; nl = all.indexOf(10, start)) {
    if (nl - start > CATALOG_LIMITS.maxStatementBytes) throw tooLarge('with a line over 16 MiB');
    lines.push(all.subarray(start, nl));
    start = nl + 1;
  }
  if (start !== all.length)
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" sent a cut catalog answer`);
  const headerLine = lines.shift();
  let header: { last?: unknown; more?: unknown; count?: unknown };
  try {
    header = JSON.parse(headerLine?.toString('utf8') ?? '') as typeof header;
  } catch {
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" sent a catalog answer without its header`);
  }
  const { last, more, count } = header ?? {};
  if (!Number.isSafeInteger(last) || typeof more !== 'boolean' || !Number.isSafeInteger(count))
    throw new ArozError('ERR_CATALOG_INVALID', `Node "${peer}" sent a bad catalog answer header`);
  if (lines.length !== count || lines.length > CATALOG_LIMITS.maxBatchCount)
    throw tooLarge(`with ${lines.length} statements where its header said ${String(count)}`);
  return { lines, last: last as number, more };
}
