/**
 * DiskStore: chunks in a marked folder (docs/store.md). Online only while the folder holds this
 * node's `.arozdfs-store` marker — checked at open, before every put and delete, and on status;
 * never on the data path. Used bytes come from a scan when the store comes online and are kept in
 * memory; free space is statfs minus reservations, capped by `limit`.
 */
import type { StatsFs } from 'node:fs';
import { stat, statfs } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ArozError, fromSystemError } from '../errors.ts';
import { assertUuid } from '../uuid.ts';
import { CheckedWriter, ExistingTarget } from './checked-writer.ts';
import {
  checkChunkUuid,
  checkMeta,
  checkSize,
  compareExisting,
  missingError,
  offlineError,
  throwIfAborted,
} from './checks.ts';
import { markerHealth, writeMarker } from './disk-health.ts';
import { chunkPath, exists, isNotFound, readSidecar, TRASH_DIR } from './disk-layout.ts';
import { commitChunkFile, DiskPutTarget, ensureShard } from './disk-put.ts';
import { chunksAfter, moveToQuarantine } from './disk-quarantine.ts';
import { openChunkReader } from './disk-read.ts';
import { moveToTrash, purgeTrashDir } from './disk-trash.ts';
import { StoreWatch } from './disk-watch.ts';
import { KeyedLock } from './keyed-lock.ts';
import { diskBytes, freeBytes, Reservations } from './space.ts';
import type * as T from './types.ts';

/** Allowance per chunk on the filesystem for its sidecar, the sidecar's temp file and rounding. */
const OVERHEAD = 16 * 1024;

export interface DiskStoreOptions extends T.SignalOptions {
  /** Bytes the store may use for chunks and trash (default: the whole filesystem). */
  limit?: number;
  /** The store UUID the node's configuration expects; a marker naming another is foreign. */
  storeUuid?: string;
}

export class DiskStore implements T.ChunkStore {
  readonly id: string;
  readonly path: string;
  readonly nodeUuid: string;
  readonly limit: number | undefined;
  #watch: StoreWatch;
  #reservations = new Reservations();
  #writers = new Set<CheckedWriter>();
  #locks = new KeyedLock();

  private constructor(path: string, nodeUuid: string, id: string, options: DiskStoreOptions) {
    this.path = path;
    this.nodeUuid = nodeUuid;
    this.id = id;
    this.limit = options.limit;
    this.#watch = new StoreWatch(path, nodeUuid, options.storeUuid);
  }

  /** Opens a store folder; a missing or foreign marker gives an offline store (never written). */
  static async open(dir: string, nodeUuid: string, options: DiskStoreOptions = {}): Promise<DiskStore> {
    assertUuid(nodeUuid, 'Node UUID');
    if (options.storeUuid !== undefined) assertUuid(options.storeUuid, 'Store UUID');
    const { limit } = options;
    if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
      throw new ArozError('ERR_INVALID_SIZE', `Store limit ${JSON.stringify(limit)} is not a byte count`);
    }
    const path = resolve(dir);
    const first = await markerHealth(path, nodeUuid, options.storeUuid);
    const id = options.storeUuid ?? (first.online ? first.storeUuid : path);
    const store = new DiskStore(path, nodeUuid, id, options);
    await store.#watch.check(options.signal);
    return store;
  }

  /** Makes `dir` (new or empty) a store of this node by writing its marker, then opens it. */
  static async create(dir: string, nodeUuid: string, options: DiskStoreOptions = {}): Promise<DiskStore> {
    assertUuid(nodeUuid, 'Node UUID');
    const storeUuid = await writeMarker(resolve(dir), nodeUuid, options.storeUuid);
    return DiskStore.open(dir, nodeUuid, { ...options, storeUuid });
  }

  async status(options: T.SignalOptions = {}): Promise<T.StoreStatus> {
    const health = await this.#watch.check(options.signal);
    const base = { id: this.id, kind: 'disk' as const, path: this.path };
    const limit = this.limit === undefined ? {} : { limit: this.limit };
    if (!health.online) {
      const { reason, message } = health;
      const zero = { capacity: 0, free: 0, used: 0, reserved: 0, chunks: 0, trash: { chunks: 0, bytes: 0 } };
      return { ...base, online: false, reason, message, ...limit, ...zero };
    }
    const fs = await this.#statfs();
    const { counts } = this.#watch;
    return {
      ...base,
      online: true,
      ...limit,
      capacity: this.limit ?? fs.blocks * fs.bsize,
      free: this.#free(fs),
      filesystem: { id: fs.device, free: diskBytes(fs.bavail * fs.bsize, this.#reservations, OVERHEAD) },
      used: this.#watch.used,
      reserved: this.#reservations.reserved,
      chunks: counts.chunks,
      trash: { chunks: counts.trashChunks, bytes: counts.trashBytes },
      quarantine: { chunks: counts.quarantineChunks, bytes: counts.quarantineBytes },
    };
  }

  /** Up to `limit` chunk UUIDs after `after` ('' for the first), ascending: the scrub's walk. */
  async chunksAfter(after: string, limit: number): Promise<string[]> {
    await this.#ensureReadable();
    return chunksAfter(this.path, after, limit).catch(async (err: unknown) => {
      throw await this.#failure(err, `Cannot list the chunks of store "${this.id}"`);
    });
  }

  /**
   * Moves chunk `uuid` into the quarantine if it still has the record `sha256` (not replaced since it
   * was found corrupt); answers whether it moved. It is then neither served nor counted as held.
   */
  async quarantine(uuid: string, sha256: string): Promise<boolean> {
    checkChunkUuid(uuid);
    await this.#ensureOnline();
    return this.#locks.run(uuid, async () => {
      const info = await this.#head(uuid);
      if (info === undefined || info.sha256 !== sha256) return false;
      try {
        await moveToQuarantine(this.path, uuid);
      } catch (err) {
        throw await this.#failure(err, `Cannot quarantine chunk "${uuid}" in store "${this.id}"`);
      }
      const { counts } = this.#watch;
      counts.chunks--;
      counts.bytes -= info.size;
      counts.quarantineChunks++;
      counts.quarantineBytes += info.size;
      return true;
    });
  }

  async beginPut(uuid: string, options: T.PutOptions): Promise<T.ChunkWriter> {
    checkChunkUuid(uuid);
    const size = checkSize(options.size, uuid);
    const meta = checkMeta(options.meta);
    const { signal } = options;
    throwIfAborted(signal, `The put of chunk "${uuid}"`);
    await this.#ensureOnline(signal);
    const existing = await this.#head(uuid);
    if (existing !== undefined) {
      if (existing.size !== size) compareExisting(existing, '', size);
      const target = new ExistingTarget(() => this.#head(uuid), `store "${this.id}"`);
      return this.#track(uuid, size, meta, target, signal);
    }
    const free = this.#free(await this.#statfs());
    if (size > free) {
      throw new ArozError(
        'ERR_NO_SPACE',
        `Store "${this.id}" has ${free} bytes free; chunk "${uuid}" needs ${size}`,
      );
    }
    const reservation = this.#reservations.reserve(size);
    try {
      const shard = await ensureShard(this.path, uuid);
      const target = await DiskPutTarget.create(shard, uuid, size, reservation, (temp, info) =>
        this.#locks.run(uuid, () => this.#commitFile(temp, info)),
      );
      return this.#track(uuid, size, meta, target, signal);
    } catch (err) {
      reservation.release();
      throw await this.#failure(err, `Cannot start chunk "${uuid}" in store "${this.id}"`);
    }
  }

  async get(uuid: string, options: T.GetOptions = {}): Promise<T.ChunkReader> {
    checkChunkUuid(uuid);
    throwIfAborted(options.signal, `The read of chunk "${uuid}"`);
    await this.#ensureReadable(options.signal);
    return openChunkReader(this.path, uuid, `store "${this.id}"`, options);
  }

  async head(uuid: string, options: T.SignalOptions = {}): Promise<T.ChunkInfo | undefined> {
    checkChunkUuid(uuid);
    await this.#ensureReadable(options.signal);
    return this.#head(uuid);
  }

  async has(uuid: string, options: T.SignalOptions = {}): Promise<boolean> {
    return (await this.head(uuid, options)) !== undefined;
  }

  async delete(uuid: string, options: T.DeleteOptions): Promise<void> {
    checkChunkUuid(uuid);
    const by = assertUuid(options.by, 'Deleting node UUID');
    await this.#ensureOnline(options.signal);
    await this.#locks.run(uuid, async () => {
      const info = await this.#head(uuid);
      if (info === undefined) throw missingError(uuid, `store "${this.id}"`);
      if (info.uploader !== by) {
        throw new ArozError(
          'ERR_NOT_UPLOADER',
          `Node "${by}" may not delete chunk "${uuid}": only its uploader "${info.uploader}" may`,
        );
      }
      try {
        const replaced = await moveToTrash(this.path, uuid);
        const { counts } = this.#watch;
        counts.chunks--;
        counts.bytes -= info.size;
        counts.trashChunks += replaced > 0 ? 0 : 1;
        counts.trashBytes += info.size - replaced;
      } catch (err) {
        throw await this.#failure(err, `Cannot delete chunk "${uuid}" in store "${this.id}"`);
      }
    });
  }

  async purgeTrash(options: T.PurgeOptions = {}): Promise<number> {
    await this.#ensureOnline(options.signal);
    const cutoff = Date.now() - (options.olderThanMs ?? 0);
    try {
      const purged = await purgeTrashDir(join(this.path, TRASH_DIR), cutoff, options.signal);
      for (const entry of purged) {
        this.#watch.counts.trashChunks--;
        this.#watch.counts.trashBytes -= entry.size;
      }
      return purged.length;
    } catch (err) {
      throw await this.#failure(err, `Cannot purge the trash of store "${this.id}"`);
    }
  }

  async close(): Promise<void> {
    this.#watch.close();
    this.#reservations.leaveFilesystem();
    await Promise.all([...this.#writers].map((w) => w.abort(new Error('store closed'))));
  }

  #track(
    uuid: string,
    size: number,
    meta: T.ChunkMeta,
    target: ExistingTarget | DiskPutTarget,
    signal?: AbortSignal,
  ) {
    const writer: CheckedWriter = new CheckedWriter(uuid, size, meta, target, {
      signal,
      onSettled: () => this.#writers.delete(writer),
    });
    this.#writers.add(writer);
    return writer;
  }

  /** Runs under the UUID's lock: makes a synced temp file the chunk, never replacing one. */
  async #commitFile(temp: string, info: T.ChunkInfo): Promise<T.PutResult> {
    const existing = await this.#head(info.uuid);
    if (existing !== undefined) return compareExisting(existing, info.sha256, info.size);
    try {
      await commitChunkFile(this.path, temp, info);
    } catch (err) {
      throw await this.#failure(err, `Cannot store chunk "${info.uuid}" in store "${this.id}"`);
    }
    this.#watch.counts.bytes += info.size;
    this.#watch.counts.chunks++;
    return 'created';
  }

  async #head(uuid: string): Promise<T.ChunkInfo | undefined> {
    try {
      const info = await readSidecar(this.path, uuid);
      if (info === undefined || !(await exists(chunkPath(this.path, uuid)))) return undefined;
      return info;
    } catch (err) {
      throw fromSystemError(err, `Cannot read chunk "${uuid}" in store "${this.id}"`);
    }
  }

  async #ensureOnline(signal?: AbortSignal): Promise<void> {
    const health = await this.#watch.check(signal);
    if (!health.online) throw offlineError(this.id, health.message);
  }

  /** Reads trust the last check: no marker read per get; an offline store is re-checked. */
  async #ensureReadable(signal?: AbortSignal): Promise<void> {
    if (!this.#watch.health.online) await this.#ensureOnline(signal);
  }

  /** The filesystem's figures, and its device number (its free space is shared with the stores on it). */
  async #statfs(): Promise<StatsFs & { device: string }> {
    try {
      const [fs, st] = await Promise.all([statfs(this.path), stat(this.path)]);
      const device = String(st.dev);
      this.#reservations.joinFilesystem(device);
      return Object.assign(fs, { device });
    } catch (err) {
      throw await this.#failure(err, `Cannot read the free space of store "${this.id}"`);
    }
  }

  #free(fs: StatsFs): number {
    return freeBytes({
      limit: this.limit,
      used: this.#watch.used,
      reservations: this.#reservations,
      diskFree: fs.bavail * fs.bsize,
      overhead: OVERHEAD,
    });
  }

  /** A vanished path means the store may be gone: re-check and report it offline if so. */
  async #failure(err: unknown, what: string): Promise<unknown> {
    if (isNotFound(err)) {
      const health = await this.#watch.check();
      if (!health.online) return offlineError(this.id, health.message);
    }
    return fromSystemError(err, what);
  }
}
