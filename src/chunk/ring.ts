/**
 * A small ring of reused 1 MiB buffers in one block of shared memory (8 MiB, allocated once per slice or
 * merge), plus the worker thread that computes the whole-file SHA-256 from them (hash-worker.js).
 *
 * Each piece of data lives in one slot. A slot is handed out again only after everything that uses its
 * bytes is over: the write that sends them to disk and the worker's hash of them (`hold`). Slots are
 * handed out strictly in ring order, so the whole-file hash sees the pieces in the order they were
 * acquired. The first failure of any held operation is kept and thrown by the next `acquire`.
 */
import { Worker } from 'node:worker_threads';
import { ArozError } from '../errors.ts';

export const SLOT_SIZE = 1024 * 1024;
export const SLOT_COUNT = 8;
const WASM_PAGE = 65536;

type Reply = { ack: number } | { digest: string };

export class BufferRing {
  readonly slotSize: number;
  readonly slotCount: number;
  #memory: Buffer;
  #busy: Array<Promise<void>>;
  #next = 0;
  #worker: Worker;
  #acks: Array<() => void> = [];
  #digests: Array<{ resolve: (hex: string) => void; reject: (err: unknown) => void }> = [];
  #failure: unknown;
  #failed = false;
  #closed = false;

  constructor(slotCount = SLOT_COUNT, slotSize = SLOT_SIZE) {
    // copyRange reads one piece ahead of the one it hashes: with one slot they would share it.
    if (!Number.isInteger(slotCount) || slotCount < 2) throw new RangeError('A ring needs at least 2 slots');
    if (!Number.isInteger(slotSize) || slotSize <= 0 || slotSize % 4096 !== 0) {
      throw new RangeError('A slot is a whole number of 4 KiB pages');
    }
    this.slotSize = slotSize;
    this.slotCount = slotCount;
    // Shared WebAssembly memory is a SharedArrayBuffer that starts on a page boundary, so every slot
    // (a multiple of 4 KiB from the start) can be written with O_DIRECT (writer.ts).
    const pages = Math.ceil((slotCount * slotSize) / WASM_PAGE);
    const shared: unknown = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
    if (!(shared instanceof SharedArrayBuffer)) throw new Error('Shared WebAssembly memory is not available');
    this.#memory = Buffer.from(shared);
    this.#busy = Array.from({ length: slotCount }, () => Promise.resolve());
    this.#worker = new Worker(new URL('./hash-worker.js', import.meta.url), {
      workerData: { buffer: shared, slotSize },
    });
    this.#worker.on('message', (reply: Reply) => this.#onReply(reply));
    this.#worker.on('error', (err) => this.#workerGone(err));
    this.#worker.on('exit', (code) => {
      if (!this.#closed) this.#workerGone(new Error(`the hash worker exited with code ${code}`));
    });
  }

  /** The next slot in ring order, once its previous use is over. Throws the first failure seen. */
  async acquire(): Promise<number> {
    this.throwIfFailed();
    const slot = this.#next;
    this.#next = (slot + 1) % this.slotCount;
    await this.#busy[slot];
    this.throwIfFailed();
    return slot;
  }

  /** The first `length` bytes of a slot. */
  view(slot: number, length = this.slotSize): Buffer {
    const start = slot * this.slotSize;
    return this.#memory.subarray(start, start + length);
  }

  /** Feeds the slot's first `length` bytes to the whole-file hash; resolves when the worker is done. */
  hashWhole(slot: number, length: number): Promise<void> {
    if (this.#failed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#acks.push(resolve);
    this.#worker.postMessage({ slot, length });
    return promise;
  }

  /** Keeps `slot` from being handed out until every promise settles; a rejection is kept as the failure. */
  hold(slot: number, ...uses: Array<Promise<unknown>>): void {
    this.#busy[slot] = Promise.all(uses).then(
      () => {},
      (err: unknown) => this.fail(err),
    );
  }

  /** Records a failure (the first one wins); the next `acquire` throws it. */
  fail(err: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#failure = err;
  }

  throwIfFailed(): void {
    if (this.#failed) throw this.#failure;
  }

  /** Waits until no slot is in use (every write and hash is over), whatever their outcome. */
  async settle(): Promise<void> {
    await Promise.all(this.#busy);
  }

  /** The hex SHA-256 of every piece fed since the last digest; the hash then starts again. */
  async digest(): Promise<string> {
    await this.settle();
    this.throwIfFailed();
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    this.#digests.push({ resolve, reject });
    this.#worker.postMessage({ digest: true });
    return promise;
  }

  /** Stops the worker. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#worker.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onReply(reply: Reply): void {
    if ('ack' in reply) this.#acks.shift()?.();
    else this.#digests.shift()?.resolve(reply.digest);
  }

  /** The worker died: fail, and release everything waiting on it so nothing hangs. */
  #workerGone(err: unknown): void {
    this.fail(new ArozError('ERR_INTERNAL', `The hashing thread failed: ${String(err)}`, { cause: err }));
    for (const ack of this.#acks.splice(0)) ack();
    for (const waiter of this.#digests.splice(0)) waiter.reject(this.#failure);
  }
}
