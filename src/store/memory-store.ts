/**
 * MemoryStore: a ChunkStore in memory, for tests of other components (transport, upload,
 * download) where a real disk is not what the test is about. It passes the same compliance suite
 * as DiskStore: same checks, same errors, same reservations (against `limit`), same trash. Pieces
 * are copied as they arrive (the caller reuses its buffers). `setOnline(false)` plays an unmounted
 * disk.
 */
import { ArozError } from '../errors.ts';
import { assertUuid, newUuid } from '../uuid.ts';
import { CheckedWriter, ExistingTarget, type PutTarget } from './checked-writer.ts';
import {
  checkChunkUuid,
  checkMeta,
  checkRange,
  checkSize,
  compareExisting,
  missingError,
  offlineError,
  throwIfAborted,
} from './checks.ts';
import { type PositionalSource, RangeReader } from './range-reader.ts';
import { freeBytes, type Reservation, Reservations } from './space.ts';
import type * as T from './types.ts';

interface Stored {
  info: T.ChunkInfo;
  pieces: Buffer[];
  deletedAtMs?: number;
}

export interface MemoryStoreOptions {
  id?: string;
  /** Bytes the store may hold, chunks and trash (default 256 MiB). */
  limit?: number;
}

export class MemoryStore implements T.ChunkStore {
  readonly id: string;
  readonly limit: number;
  #chunks = new Map<string, Stored>();
  #trash = new Map<string, Stored>();
  #reservations = new Reservations();
  #writers = new Set<CheckedWriter>();
  #offline: { reason: T.OfflineReason; message: string } | undefined;

  constructor(options: MemoryStoreOptions = {}) {
    this.id = options.id ?? `memory-${newUuid()}`;
    this.limit = options.limit ?? 256 * 1024 * 1024;
  }

  /** Takes the store offline (like an unmounted disk) or back online. */
  setOnline(online: boolean): void {
    this.#offline = online
      ? undefined
      : { reason: 'missing-folder', message: 'taken offline by setOnline(false)' };
  }

  async status(_options: T.SignalOptions = {}): Promise<T.StoreStatus> {
    const base = { id: this.id, kind: 'memory' as const, limit: this.limit };
    if (this.#offline !== undefined) {
      const zero = { capacity: 0, free: 0, used: 0, reserved: 0, chunks: 0, trash: { chunks: 0, bytes: 0 } };
      return { ...base, online: false, ...this.#offline, ...zero };
    }
    return {
      ...base,
      online: true,
      capacity: this.limit,
      free: this.#free(),
      used: this.#used(),
      reserved: this.#reservations.reserved,
      chunks: this.#chunks.size,
      trash: { chunks: this.#trash.size, bytes: sizeOf(this.#trash) },
    };
  }

  async beginPut(uuid: string, options: T.PutOptions): Promise<T.ChunkWriter> {
    checkChunkUuid(uuid);
    const size = checkSize(options.size, uuid);
    const meta = checkMeta(options.meta);
    throwIfAborted(options.signal, `The put of chunk "${uuid}"`);
    this.#ensureOnline();
    const existing = this.#chunks.get(uuid)?.info;
    let target: PutTarget;
    if (existing !== undefined) {
      if (existing.size !== size) compareExisting(existing, '', size);
      target = new ExistingTarget(async () => this.#chunks.get(uuid)?.info, `store "${this.id}"`);
    } else {
      const free = this.#free();
      if (size > free) {
        throw new ArozError(
          'ERR_NO_SPACE',
          `Store "${this.id}" has ${free} bytes free; chunk "${uuid}" needs ${size}`,
        );
      }
      target = new MemoryPutTarget(this.#reservations.reserve(size), (stored) => this.#commit(stored));
    }
    const writer: CheckedWriter = new CheckedWriter(uuid, size, meta, target, {
      signal: options.signal,
      onSettled: () => this.#writers.delete(writer),
    });
    this.#writers.add(writer);
    return writer;
  }

  async get(uuid: string, options: T.GetOptions = {}): Promise<T.ChunkReader> {
    checkChunkUuid(uuid);
    throwIfAborted(options.signal, `The read of chunk "${uuid}"`);
    this.#ensureOnline();
    const stored = this.#chunks.get(uuid);
    if (stored === undefined) throw missingError(uuid, `store "${this.id}"`);
    const range = checkRange(options, stored.info.size, uuid);
    return new RangeReader({ ...stored.info }, range, piecesSource(stored.pieces), options.signal);
  }

  async head(uuid: string, _options: T.SignalOptions = {}): Promise<T.ChunkInfo | undefined> {
    checkChunkUuid(uuid);
    this.#ensureOnline();
    const info = this.#chunks.get(uuid)?.info;
    return info === undefined ? undefined : { ...info };
  }

  async has(uuid: string, options: T.SignalOptions = {}): Promise<boolean> {
    return (await this.head(uuid, options)) !== undefined;
  }

  async delete(uuid: string, options: T.DeleteOptions): Promise<void> {
    checkChunkUuid(uuid);
    const by = assertUuid(options.by, 'Deleting node UUID');
    this.#ensureOnline();
    const stored = this.#chunks.get(uuid);
    if (stored === undefined) throw missingError(uuid, `store "${this.id}"`);
    if (stored.info.uploader !== by) {
      throw new ArozError(
        'ERR_NOT_UPLOADER',
        `Node "${by}" may not delete chunk "${uuid}": only its uploader "${stored.info.uploader}" may`,
      );
    }
    this.#chunks.delete(uuid);
    this.#trash.set(uuid, { ...stored, deletedAtMs: Date.now() });
  }

  async purgeTrash(options: T.PurgeOptions = {}): Promise<number> {
    this.#ensureOnline();
    const cutoff = Date.now() - (options.olderThanMs ?? 0);
    let purged = 0;
    for (const [uuid, stored] of this.#trash) {
      if ((stored.deletedAtMs ?? 0) > cutoff) continue;
      this.#trash.delete(uuid);
      purged++;
    }
    return purged;
  }

  async close(): Promise<void> {
    this.#offline = { reason: 'closed', message: 'the store was closed' };
    await Promise.all([...this.#writers].map((w) => w.abort(new Error('store closed'))));
  }

  /** Synchronous, so two puts of one UUID cannot interleave here. */
  #commit(stored: Stored): T.PutResult {
    this.#ensureOnline();
    const existing = this.#chunks.get(stored.info.uuid);
    if (existing !== undefined) return compareExisting(existing.info, stored.info.sha256, stored.info.size);
    this.#chunks.set(stored.info.uuid, stored);
    return 'created';
  }

  #ensureOnline(): void {
    if (this.#offline !== undefined) throw offlineError(this.id, this.#offline.message);
  }

  #used(): number {
    return sizeOf(this.#chunks) + sizeOf(this.#trash);
  }

  #free(): number {
    return freeBytes({ limit: this.limit, used: this.#used(), reservations: this.#reservations });
  }
}

function sizeOf(map: Map<string, Stored>): number {
  let sum = 0;
  for (const { info } of map.values()) sum += info.size;
  return sum;
}

class MemoryPutTarget implements PutTarget {
  #pieces: Buffer[] = [];
  #reservation: Reservation;
  #commit: (stored: Stored) => T.PutResult;

  constructor(reservation: Reservation, commit: (stored: Stored) => T.PutResult) {
    this.#reservation = reservation;
    this.#commit = commit;
  }

  write(piece: Uint8Array): Promise<void> {
    this.#pieces.push(Buffer.from(piece));
    this.#reservation.written += piece.byteLength;
    return Promise.resolve();
  }

  async commit(info: T.ChunkInfo): Promise<T.PutResult> {
    try {
      return this.#commit({ info, pieces: this.#pieces });
    } finally {
      this.#reservation.release();
    }
  }

  async discard(): Promise<void> {
    this.#pieces = [];
    this.#reservation.release();
  }
}

/** Positional reads over a list of pieces. */
function piecesSource(pieces: readonly Buffer[]): PositionalSource {
  return {
    async read(into, length, position) {
      let skip = position;
      let copied = 0;
      for (const piece of pieces) {
        if (copied === length) break;
        if (skip >= piece.length) {
          skip -= piece.length;
          continue;
        }
        copied += piece.copy(into, copied, skip, Math.min(piece.length, skip + length - copied));
        skip = 0;
      }
      return copied;
    },
    close: () => Promise.resolve(),
  };
}
