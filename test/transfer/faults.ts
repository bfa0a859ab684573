/**
 * FaultStore: a real ChunkStore (MemoryStore or DiskStore) with faults switched on and off by a test —
 * it wraps, it never replaces: every byte that is stored goes through the real store. It also counts
 * the bytes written through it, so a test can tell what an upload sent.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ArozError, type ErrorCode } from '../../src/errors.ts';
import type * as T from '../../src/store/types.ts';
import { testInt } from '../helpers/random.ts';

export interface Faults {
  /** Put writes fail with `code` once this many bytes went through this store (all puts together). */
  dieAfterBytes?: { bytes: number; code: ErrorCode };
  /** The next N beginPut calls answer ERR_BUSY. */
  busyPuts?: number;
  /** Every call hangs (a frozen node): nothing resolves until the caller gives up. */
  frozen?: boolean;
  /** get() hands out the chunk with its first byte flipped. */
  corrupt?: boolean;
  /** Each write waits 0–`slowMs` ms before the real store copies the piece (a slow disk, in order). */
  slowMs?: number;
  /** Runs once, before the first write through this store reaches the real store (later ones queue). */
  onFirstWrite?: () => Promise<void>;
}

const forever = <V>(signal?: AbortSignal): Promise<V> =>
  new Promise<V>((_, reject) =>
    signal?.addEventListener('abort', () => reject(new ArozError('ERR_INTERRUPTED', 'gave up')), {
      once: true,
    }),
  );

export class FaultStore implements T.ChunkStore {
  readonly inner: T.ChunkStore;
  faults: Faults = {};
  /** Bytes handed to put writers of this store. */
  written = 0;
  /** write() calls on put writers of this store (counted when called, before any fault delay). */
  writeCalls = 0;
  /** get() calls. */
  gets = 0;

  constructor(inner: T.ChunkStore) {
    this.inner = inner;
  }

  get id(): string {
    return this.inner.id;
  }

  status(options?: T.SignalOptions): Promise<T.StoreStatus> {
    return this.inner.status(options);
  }

  async beginPut(uuid: string, options: T.PutOptions): Promise<T.ChunkWriter> {
    if (this.faults.frozen) return forever(options.signal);
    if ((this.faults.busyPuts ?? 0) > 0) {
      this.faults.busyPuts!--;
      throw new ArozError('ERR_BUSY', `Store "${this.id}" is busy`);
    }
    return new FaultWriter(this, await this.inner.beginPut(uuid, options));
  }

  async get(uuid: string, options?: T.GetOptions): Promise<T.ChunkReader> {
    this.gets++;
    if (this.faults.frozen) return new FrozenReader(await this.inner.get(uuid, options));
    const reader = await this.inner.get(uuid, options);
    return this.faults.corrupt ? new CorruptReader(reader) : reader;
  }

  head(uuid: string, options?: T.SignalOptions): Promise<T.ChunkInfo | undefined> {
    if (this.faults.frozen) return forever(options?.signal);
    return this.inner.head(uuid, options);
  }

  has(uuid: string, options?: T.SignalOptions): Promise<boolean> {
    return this.inner.has(uuid, options);
  }

  delete(uuid: string, options: T.DeleteOptions): Promise<void> {
    return this.inner.delete(uuid, options);
  }

  purgeTrash(options?: T.PurgeOptions): Promise<number> {
    return this.inner.purgeTrash(options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

class FaultWriter implements T.ChunkWriter {
  #store: FaultStore;
  #inner: T.ChunkWriter;
  /**
   * The write before this one. Calls are queued (ChunkWriter.write): a piece reaches the real writer
   * only after the one written before it, whatever each one's fault delay, as on a real connection.
   */
  #queue: Promise<void> = Promise.resolve();

  constructor(store: FaultStore, inner: T.ChunkWriter) {
    this.#store = store;
    this.#inner = inner;
  }

  get uuid(): string {
    return this.#inner.uuid;
  }

  get size(): number {
    return this.#inner.size;
  }

  get received(): number {
    return this.#inner.received;
  }

  write(piece: Uint8Array): Promise<void> {
    const store = this.#store;
    const { faults } = store;
    store.writeCalls++;
    const first = faults.onFirstWrite;
    delete faults.onFirstWrite;
    if (faults.frozen) return forever();
    // Bytes are counted (and dieAfterBytes decided) in call order, across all puts of this store.
    const die = faults.dieAfterBytes;
    const dies = die !== undefined && store.written + piece.byteLength > die.bytes ? die : undefined;
    if (dies === undefined) store.written += piece.byteLength;
    const run = this.#queue.then(async () => {
      await first?.();
      if (dies !== undefined) {
        await this.#inner.abort();
        throw new ArozError(dies.code, `Store "${store.id}" went away`);
      }
      if (faults.slowMs !== undefined) await sleep(testInt(0, faults.slowMs + 1));
      await this.#inner.write(piece);
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  finish(sha256: string): Promise<T.PutResult> {
    if (this.#store.faults.frozen) return forever();
    return this.#inner.finish(sha256);
  }

  abort(reason?: unknown): Promise<void> {
    return this.#inner.abort(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.abort();
  }
}

/** A reader over a real one, changing what it hands out or never handing anything out. */
abstract class WrappedReader implements T.ChunkReader {
  protected inner: T.ChunkReader;

  constructor(inner: T.ChunkReader) {
    this.inner = inner;
  }

  get info(): T.ChunkInfo {
    return this.inner.info;
  }
  get start(): number {
    return this.inner.start;
  }
  get end(): number {
    return this.inner.end;
  }
  get length(): number {
    return this.inner.length;
  }

  abstract read(into: Uint8Array): Promise<number>;

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    const buffer = Buffer.alloc(64 * 1024);
    for (let n = await this.read(buffer); n > 0; n = await this.read(buffer)) yield buffer.subarray(0, n);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

class CorruptReader extends WrappedReader {
  #flipped = false;

  async read(into: Uint8Array): Promise<number> {
    const n = await this.inner.read(into);
    if (n > 0 && !this.#flipped) {
      into[0] = (into[0] ?? 0) ^ 0xff;
      this.#flipped = true;
    }
    return n;
  }
}

class FrozenReader extends WrappedReader {
  #closed = new AbortController();

  read(): Promise<number> {
    return forever(this.#closed.signal);
  }

  override close(): Promise<void> {
    this.#closed.abort();
    return super.close();
  }
}
