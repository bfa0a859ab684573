/**
 * StoreSet: the stores of one node (the default store plus external disks) behind one ChunkStore.
 * A new chunk goes to the online store with the most free space that can hold it; a UUID that a
 * store already holds (or is receiving) goes to that store, so one UUID never lands twice. Reads
 * and deletes look in every store; a store that goes offline is skipped and the set serves from the
 * rest. It never moves chunks between stores.
 */
import { ArozError, isArozError } from '../errors.ts';
import { assertUuid } from '../uuid.ts';
import { checkChunkUuid, checkMeta, checkSize, missingError, throwIfAborted } from './checks.ts';
import type * as T from './types.ts';

/** Errors after which the next store is tried. */
const SKIP = ['ERR_CHUNK_MISSING', 'ERR_STORE_OFFLINE', 'ERR_IO', 'ERR_PERMISSION_DENIED'] as const;

function skippable(err: unknown): boolean {
  return SKIP.some((code) => isArozError(err, code));
}

/**
 * The puts of one UUID in progress. The first put (the placer) chooses the store; the others wait
 * for that choice and join it. `users` counts the puts that write into the chosen store or wait to;
 * the entry leaves the map when the last of them settles. A placement that fails takes its entry out
 * of the map before it resolves `store` to undefined, so a waiter never meets a failed entry twice.
 */
interface Placing {
  store: Promise<T.ChunkStore | undefined>;
  users: number;
}

export class StoreSet implements T.ChunkStore {
  readonly id: string;
  #stores: T.ChunkStore[];
  #placing = new Map<string, Placing>();

  constructor(stores: readonly T.ChunkStore[], options: { id?: string } = {}) {
    this.#stores = [...stores];
    this.id = options.id ?? 'stores';
  }

  get stores(): readonly T.ChunkStore[] {
    return this.#stores;
  }

  /** Status of every store, online or not (for `GET /v1/node`). */
  statuses(options: T.SignalOptions = {}): Promise<T.StoreStatus[]> {
    return Promise.all(this.#stores.map((s) => s.status(options)));
  }

  /** Totals; `free` is the largest chunk one online store can take now. */
  async status(options: T.SignalOptions = {}): Promise<T.StoreStatus> {
    const all = (await this.statuses(options)).filter((s) => s.online);
    const sum = (f: (s: T.StoreStatus) => number) => all.reduce((n, s) => n + f(s), 0);
    const status: T.StoreStatus = {
      id: this.id,
      kind: 'set',
      online: all.length > 0,
      capacity: sum((s) => s.capacity),
      free: Math.max(0, ...all.map((s) => s.free)),
      used: sum((s) => s.used),
      reserved: sum((s) => s.reserved),
      chunks: sum((s) => s.chunks),
      trash: { chunks: sum((s) => s.trash.chunks), bytes: sum((s) => s.trash.bytes) },
    };
    if (all.length === 0) {
      status.reason = 'missing-folder';
      status.message =
        this.#stores.length === 0 ? 'the node has no store' : 'no store of this node is online';
    }
    return status;
  }

  async beginPut(uuid: string, options: T.PutOptions): Promise<T.ChunkWriter> {
    checkChunkUuid(uuid);
    checkSize(options.size, uuid);
    checkMeta(options.meta);
    throwIfAborted(options.signal, `The put of chunk "${uuid}"`);
    for (let entry = this.#placing.get(uuid); entry !== undefined; entry = this.#placing.get(uuid)) {
      // Another put of this UUID is being placed or written: join its store once it is chosen.
      // Counted before the wait, so the entry (and the choice) outlives a placer that settles first.
      entry.users++;
      const store = await entry.store;
      if (store !== undefined) return this.#tracked(uuid, entry, store.beginPut(uuid, options));
      // That placement failed and its entry is already gone: this put places by itself, or joins
      // one that started since. Every failed placement ends the put that made it, so with n puts
      // of the UUID a waiter turns here at most n times.
      throwIfAborted(options.signal, `The put of chunk "${uuid}"`);
    }
    let chosen: (store: T.ChunkStore | undefined) => void = () => {};
    const entry: Placing = { store: new Promise((resolve) => (chosen = resolve)), users: 1 };
    this.#placing.set(uuid, entry);
    try {
      const { store, writer } = await this.#place(uuid, options);
      chosen(store);
      return this.#tracked(uuid, entry, Promise.resolve(writer));
    } catch (err) {
      // Out of the map first: the waiters woken next must not find this entry again.
      if (this.#placing.get(uuid) === entry) this.#placing.delete(uuid);
      chosen(undefined);
      throw err;
    }
  }

  async get(uuid: string, options: T.GetOptions = {}): Promise<T.ChunkReader> {
    checkChunkUuid(uuid);
    const { value, failure } = await this.#first((store) => store.get(uuid, options));
    if (value !== undefined) return value;
    throw failure ?? missingError(uuid, 'any online store of this node');
  }

  async head(uuid: string, options: T.SignalOptions = {}): Promise<T.ChunkInfo | undefined> {
    checkChunkUuid(uuid);
    const { value, failure } = await this.#first((store) => store.head(uuid, options));
    if (value === undefined && failure !== undefined) throw failure;
    return value;
  }

  async has(uuid: string, options: T.SignalOptions = {}): Promise<boolean> {
    return (await this.head(uuid, options)) !== undefined;
  }

  /** Deletes every copy; checks the uploader of all of them before moving any. */
  async delete(uuid: string, options: T.DeleteOptions): Promise<void> {
    checkChunkUuid(uuid);
    const by = assertUuid(options.by, 'Deleting node UUID');
    const holders: T.ChunkStore[] = [];
    for (const store of this.#stores) {
      const info = await store.head(uuid, options).catch((err: unknown) => {
        if (skippable(err)) return undefined;
        throw err;
      });
      if (info === undefined) continue;
      if (info.uploader !== by) {
        throw new ArozError(
          'ERR_NOT_UPLOADER',
          `Node "${by}" may not delete chunk "${uuid}": only its uploader "${info.uploader}" may`,
        );
      }
      holders.push(store);
    }
    if (holders.length === 0) throw missingError(uuid, 'any online store of this node');
    for (const store of holders) await store.delete(uuid, options);
  }

  async purgeTrash(options: T.PurgeOptions = {}): Promise<number> {
    let purged = 0;
    for (const store of this.#stores) {
      purged += await store.purgeTrash(options).catch((err: unknown) => {
        if (isArozError(err, 'ERR_STORE_OFFLINE')) return 0;
        throw err;
      });
    }
    return purged;
  }

  async close(): Promise<void> {
    await Promise.all(this.#stores.map((s) => s.close()));
  }

  /** The store holding the UUID, else online stores by free space, most first. */
  async #place(uuid: string, options: T.PutOptions): Promise<{ store: T.ChunkStore; writer: T.ChunkWriter }> {
    const { value: holder } = await this.#first(async (s) => ((await s.has(uuid, options)) ? s : undefined));
    if (holder !== undefined) return { store: holder, writer: await holder.beginPut(uuid, options) };
    const statuses = await this.statuses(options);
    const candidates = statuses
      .map((status, i) => ({ status, store: this.#stores[i] as T.ChunkStore }))
      .filter(({ status }) => status.online && status.free >= options.size)
      .sort((a, b) => b.status.free - a.status.free);
    for (const { store } of candidates) {
      try {
        return { store, writer: await store.beginPut(uuid, options) };
      } catch (err) {
        if (!isArozError(err, 'ERR_NO_SPACE') && !skippable(err)) throw err;
      }
    }
    const online = statuses.filter((s) => s.online);
    if (online.length === 0) {
      throw new ArozError('ERR_STORE_OFFLINE', `No store of this node is online to take chunk "${uuid}"`);
    }
    const most = Math.max(...online.map((s) => s.free));
    throw new ArozError(
      'ERR_NO_SPACE',
      `No store of this node has ${options.size} bytes free for chunk "${uuid}" (most free: ${most})`,
    );
  }

  /**
   * Asks each store in turn until one answers a value. Skippable failures (offline, missing, I/O)
   * move on; the first one that is not "missing" or "offline" is returned for the caller to report.
   */
  async #first<R>(
    fn: (store: T.ChunkStore) => Promise<R | undefined>,
  ): Promise<{ value?: R; failure?: unknown }> {
    let failure: unknown;
    for (const store of this.#stores) {
      try {
        const value = await fn(store);
        if (value !== undefined) return { value };
      } catch (err) {
        if (!skippable(err)) throw err;
        if (!isArozError(err, 'ERR_CHUNK_MISSING') && !isArozError(err, 'ERR_STORE_OFFLINE')) failure ??= err;
      }
    }
    return failure === undefined ? {} : { failure };
  }

  /** Wraps a writer so the UUID's placement is forgotten when its last put settles. */
  async #tracked(uuid: string, entry: Placing, begun: Promise<T.ChunkWriter>): Promise<T.ChunkWriter> {
    let writer: T.ChunkWriter;
    try {
      writer = await begun;
    } catch (err) {
      this.#release(uuid, entry);
      throw err;
    }
    let done = false;
    const settle = <R>(p: Promise<R>): Promise<R> =>
      p.finally(() => {
        if (done) return;
        done = true;
        this.#release(uuid, entry);
      });
    return {
      uuid: writer.uuid,
      size: writer.size,
      get received() {
        return writer.received;
      },
      write: (piece) => writer.write(piece),
      finish: (sha256) => settle(writer.finish(sha256)),
      abort: (reason) => settle(writer.abort(reason)),
      [Symbol.asyncDispose]: () => settle(writer.abort()),
    };
  }

  /** One put of a placed UUID settled; the last one forgets the placement. */
  #release(uuid: string, entry: Placing): void {
    entry.users--;
    if (entry.users === 0 && this.#placing.get(uuid) === entry) this.#placing.delete(uuid);
  }
}
