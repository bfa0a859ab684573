/**
 * A small ring of reused 1 MiB buffers in one block of shared memory (8 MiB), plus the worker thread
 * that computes the whole-file SHA-256 from them (hash-worker.js). A ring that closes cleanly leaves
 * its memory and worker for the next ring of the same shape for 10 s: a daemon running one job after
 * another maps no fresh memory and starts no thread per job (each thread's start-up and its heap
 * used to add to the RSS job after job).
 *
 * Each piece of data lives in one slot. A slot is handed out again only after everything that uses its
 * bytes is over: the write that sends them to disk and the worker's hash of them (`hold`). Slots are
 * handed out strictly in ring order, so the whole-file hash sees the pieces in the order they were
 * acquired. The first failure of any held operation is kept and thrown by the next `acquire`.
 */
import { Worker } from 'node:worker_threads';
import { ArozError } from '../errors.ts';
import { markPageAligned } from './aligned.ts';

export const SLOT_SIZE = 1024 * 1024;
export const SLOT_COUNT = 8;
const WASM_PAGE = 65536;
/** The hash worker's script (scripts/build-exe.ts replaces this one expression in the executable). */
const WORKER_URL = new URL('./hash-worker.js', import.meta.url);
/** How long a closed ring's memory and worker wait for the next ring of the same shape. */
const IDLE_MS = 10_000;

type Reply = ({ ack: number } | { digest: string } | { range: string } | { collected: true }) & {
  lane?: number;
};
type Request =
  | { slot: number; length: number; range?: boolean; whole?: false }
  | { digest: true }
  | { rangeDigest: true }
  | { reset: true };

/** A ring's shared memory and hash worker, which outlive one ring when it closes cleanly. */
interface RingParts {
  shape: string;
  memory: Buffer;
  worker: Worker;
  /** The ring using them now; undefined while idle. */
  owner: { reply: (reply: Reply) => void; gone: (err: unknown) => void } | undefined;
  stopped: boolean;
  /** Kept for the next ring when clean; a HashThread's lane is not (its pool reuses the ring). */
  shared: boolean;
  post: (request: Request) => void;
  stop: () => Promise<void>;
}

/** At most one idle set of parts per shape (slot count × size). */
const idleParts = new Map<string, { parts: RingParts; timer: NodeJS.Timeout }>();

function newMemory(slotCount: number, slotSize: number): SharedArrayBuffer {
  // Shared WebAssembly memory is a SharedArrayBuffer that starts on a page boundary, so every slot
  // (a multiple of 4 KiB from the start) can be written with O_DIRECT (writer.ts).
  const pages = Math.ceil((slotCount * slotSize) / WASM_PAGE);
  const shared: unknown = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }).buffer;
  if (!(shared instanceof SharedArrayBuffer)) throw new Error('Shared WebAssembly memory is not available');
  markPageAligned(shared); // whole 4 KiB pieces of it may go to the disk with O_DIRECT (writer.ts)
  return shared;
}

function newParts(slotCount: number, slotSize: number): RingParts {
  const shared = newMemory(slotCount, slotSize);
  const worker = new Worker(WORKER_URL, {
    workerData: { buffer: shared, slotSize },
  });
  const parts: RingParts = {
    shape: `${slotCount}x${slotSize}`,
    memory: Buffer.from(shared),
    worker,
    owner: undefined,
    stopped: false,
    shared: false,
    post: (request) => worker.postMessage(request),
    stop: async () => {
      if (parts.stopped) return;
      parts.stopped = true;
      forgetIdle(parts);
      await worker.terminate();
    },
  };
  worker.on('message', (reply: Reply) => parts.owner?.reply(reply));
  worker.on('error', (err) => {
    forgetIdle(parts);
    parts.owner?.gone(err);
  });
  worker.on('exit', (code) => {
    forgetIdle(parts);
    if (!parts.stopped) parts.owner?.gone(new Error(`the hash worker exited with code ${code}`));
    parts.stopped = true;
  });
  return parts;
}

function takeIdle(slotCount: number, slotSize: number): RingParts | undefined {
  const shape = `${slotCount}x${slotSize}`;
  const idle = idleParts.get(shape);
  if (idle === undefined) return undefined;
  idleParts.delete(shape);
  clearTimeout(idle.timer);
  idle.parts.worker.ref();
  return idle.parts;
}

/** Keeps clean parts for the next ring; false when there is no room (the caller stops them). */
function giveIdle(parts: RingParts): boolean {
  if (parts.stopped || parts.shared || idleParts.has(parts.shape)) return false;
  // A failed or cut job may have fed part of a file: start the next ring's hash afresh.
  parts.post({ reset: true });
  parts.worker.unref();
  const timer = setTimeout(() => void parts.stop(), IDLE_MS);
  timer.unref();
  idleParts.set(parts.shape, { parts, timer });
  return true;
}

function forgetIdle(parts: RingParts): void {
  const idle = idleParts.get(parts.shape);
  if (idle?.parts !== parts) return;
  idleParts.delete(parts.shape);
  clearTimeout(idle.timer);
}

/**
 * One hash worker for several rings (a batch's pool, src/node/batch-jobs.ts): each ring is a lane
 * with its own memory and hash, so six rings cost one thread (about 13 MiB each) instead of six.
 * The rings' messages share one queue, in order; the whole-file hashes of all the rings then run
 * on one core, at most ~1 GB/s, well above what small files move. Closing it stops the worker;
 * a ring still using it then fails as it would when its own worker dies.
 */
export class HashThread {
  #worker: Worker | undefined;
  #unref: boolean;
  /** Requests posted and not answered yet. */
  #awaited = 0;

  /** `unref`: the thread alone does not keep the process alive (a pool that outlives its jobs). */
  constructor(options: { unref?: boolean } = {}) {
    this.#unref = options.unref === true;
  }
  #lanes = new Map<number, NonNullable<RingParts['owner']> | undefined>();
  #next = 1;
  #gone: unknown;
  /** Callers of `collect` waiting for the thread's answer, in order. */
  #collects: Array<() => void> = [];

  #start(): Worker {
    if (this.#worker !== undefined) return this.#worker;
    const worker = new Worker(WORKER_URL, { workerData: { slotSize: 0 } });
    worker.on('message', (reply: Reply) => {
      // Held (ref'd) only while an answer is awaited: an idle thread never keeps a process alive.
      if (--this.#awaited === 0 && this.#unref) worker.unref();
      if ('collected' in reply) this.#collects.shift()?.();
      else this.#lanes.get(reply.lane ?? 0)?.reply(reply);
    });
    const gone = (err: unknown) => {
      this.#gone ??= err;
      for (const owner of this.#lanes.values()) owner?.gone(err);
      for (const done of this.#collects.splice(0)) done();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => gone(new Error(`the hash worker exited with code ${code}`)));
    // After the listeners: adding a 'message' listener refs the worker again.
    if (this.#unref) worker.unref();
    this.#worker = worker;
    return worker;
  }

  /** Parts of a ring on this thread: fresh memory, a lane of its own. */
  parts(slotCount: number, slotSize: number): RingParts {
    if (this.#gone !== undefined) throw new ArozError('ERR_INTERNAL', 'The hashing thread is stopped');
    const worker = this.#start();
    const buffer = newMemory(slotCount, slotSize);
    const lane = this.#next++;
    const lanes = this.#lanes;
    lanes.set(lane, undefined);
    worker.postMessage({ lane, buffer, slotSize });
    const parts: RingParts = {
      shape: `${slotCount}x${slotSize}#${lane}`,
      memory: Buffer.from(buffer),
      worker,
      get owner() {
        return lanes.get(lane);
      },
      set owner(owner) {
        if (lanes.has(lane)) lanes.set(lane, owner);
      },
      stopped: false,
      shared: true,
      post: (request) => {
        if ('slot' in request || 'digest' in request || 'rangeDigest' in request) {
          if (this.#awaited++ === 0) worker.ref(); // each of these is answered once
        }
        worker.postMessage({ ...request, lane });
      },
      stop: async () => {
        if (parts.stopped) return;
        parts.stopped = true;
        lanes.delete(lane);
        if (this.#gone === undefined) worker.postMessage({ lane, drop: true });
      },
    };
    return parts;
  }

  /**
   * Runs a full collection on the thread now and resolves once it is done: the shared memory of the
   * lanes dropped before is then held by this thread no more (the main thread's collection frees it).
   */
  collect(): Promise<void> {
    const worker = this.#worker;
    if (worker === undefined || this.#gone !== undefined) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#collects.push(resolve);
    if (this.#awaited++ === 0) worker.ref();
    worker.postMessage({ collect: true });
    return promise;
  }

  /** True once the thread was closed or died: it gives no new lanes. */
  get stopped(): boolean {
    return this.#gone !== undefined;
  }

  /** Stops the worker (idempotent). */
  async close(): Promise<void> {
    const worker = this.#worker;
    this.#gone ??= new ArozError('ERR_INTERRUPTED', 'The hashing thread was closed');
    if (worker !== undefined) await worker.terminate();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export class BufferRing {
  readonly slotSize: number;
  readonly slotCount: number;
  #parts: RingParts;
  #memory: Buffer;
  #busy: Array<Promise<void>>;
  #next = 0;
  #worker: Worker;
  #acks: Array<() => void> = [];
  #rangeDigests: Array<{ resolve: (hex: string) => void; reject: (err: unknown) => void }> = [];
  #digests: Array<{ resolve: (hex: string) => void; reject: (err: unknown) => void }> = [];
  #failure: unknown;
  #failed = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  /** A second thread for the range hash (splitRangeHash), over the same memory. */
  #rangeWorker: Worker | undefined;
  #rangeAcks: Array<() => void> = [];

  /** `thread`: hash on that shared worker (a lane of its own) instead of a worker of the ring's own. */
  constructor(slotCount = SLOT_COUNT, slotSize = SLOT_SIZE, thread?: HashThread) {
    // copyRange reads one piece ahead of the one it hashes: with one slot they would share it.
    if (!Number.isInteger(slotCount) || slotCount < 2) throw new RangeError('A ring needs at least 2 slots');
    if (!Number.isInteger(slotSize) || slotSize <= 0 || slotSize % 4096 !== 0) {
      throw new RangeError('A slot is a whole number of 4 KiB pages');
    }
    this.slotSize = slotSize;
    this.slotCount = slotCount;
    const parts =
      thread?.parts(slotCount, slotSize) ?? takeIdle(slotCount, slotSize) ?? newParts(slotCount, slotSize);
    this.#parts = parts;
    this.#memory = parts.memory;
    this.#worker = parts.worker;
    this.#busy = Array.from({ length: slotCount }, () => Promise.resolve());
    parts.owner = {
      reply: (reply) => this.#onReply(reply),
      gone: (err) => this.#workerGone(err),
    };
  }

  /** The hash worker's thread id (a ring reusing an idle worker has its predecessor's). */
  get threadId(): number {
    return this.#worker.threadId;
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

  /**
   * Feeds the slot's first `length` bytes to the whole-file hash, and to the range hash when `range`
   * (see rangeDigest); resolves when the worker is done with the slot.
   */
  hashWhole(slot: number, length: number, range = false): Promise<void> {
    // After close the worker may serve another ring: nothing more goes to it from this one.
    if (this.#failed || this.#closed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#acks.push(resolve);
    const split = this.#rangeWorker;
    if (range && split !== undefined) {
      this.#parts.post({ slot, length });
      const other = Promise.withResolvers<void>();
      this.#rangeAcks.push(other.resolve);
      split.postMessage({ slot, length, range: true, whole: false });
      return Promise.all([promise, other.promise]).then(() => {});
    }
    this.#parts.post(range ? { slot, length, range } : { slot, length });
    return promise;
  }

  /**
   * Runs the range hash on a thread of its own from now on, over the same memory, so the two hashes
   * of every piece run on two cores at once (slice: a chunk's hash and the file's; the main thread
   * then only moves the bytes). The thread is stopped when the ring closes. Call before any range
   * piece is fed.
   */
  splitRangeHash(): void {
    if (this.#rangeWorker !== undefined || this.#closed) return;
    const worker = new Worker(WORKER_URL, {
      workerData: { buffer: this.#memory.buffer, slotSize: this.slotSize },
    });
    worker.on('message', (reply: Reply) => {
      if ('ack' in reply) this.#rangeAcks.shift()?.();
      else if ('range' in reply) this.#rangeDigests.shift()?.resolve(reply.range);
    });
    const gone = (err: unknown) => {
      this.#workerGone(err);
      for (const ack of this.#rangeAcks.splice(0)) ack();
    };
    worker.on('error', gone);
    worker.on('exit', (code) => {
      if (this.#rangeWorker === worker) gone(new Error(`the hash worker exited with code ${code}`));
    });
    this.#rangeWorker = worker;
  }

  /**
   * Feeds the slot's first `length` bytes to the range hash only (a download's chunk, whose pieces do
   * not come in file order); resolves when the worker is done with the slot.
   */
  hashRange(slot: number, length: number): Promise<void> {
    if (this.#failed || this.#closed) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#acks.push(resolve);
    this.#parts.post({ slot, length, range: true, whole: false });
    return promise;
  }

  /** Starts both hashes afresh (a new attempt at a range); ordered after every piece fed before. */
  restartHashes(): void {
    if (this.#failed || this.#closed) return;
    this.#parts.post({ reset: true });
  }

  /**
   * The hex SHA-256 of the pieces fed with `range` since the last range digest (an upload's chunk);
   * the range hash then starts again. Call it right after the range's last hashWhole: the worker
   * answers in order, so pieces fed after this call belong to the next range.
   */
  rangeDigest(): Promise<string> {
    if (this.#failed) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ArozError('ERR_INTERNAL', 'The buffer ring is closed'));
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    this.#rangeDigests.push({ resolve, reject });
    if (this.#rangeWorker !== undefined) this.#rangeWorker.postMessage({ rangeDigest: true });
    else this.#parts.post({ rangeDigest: true });
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

  /** True once a failure was recorded (the ring is then never reused). */
  get failed(): boolean {
    return this.#failed;
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
    if (this.#closed) throw new ArozError('ERR_INTERNAL', 'The buffer ring is closed');
    const { promise, resolve, reject } = Promise.withResolvers<string>();
    this.#digests.push({ resolve, reject });
    this.#parts.post({ digest: true });
    return promise;
  }

  /**
   * Gives the memory and the worker back for the next ring of this shape (kept IDLE_MS, so successive
   * jobs neither map fresh memory nor start a thread), or stops the worker when this ring failed or
   * still waits for it. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const parts = this.#parts;
    // Reused only once nothing can touch a slot any more (a write still in flight would land in
    // the next ring's data).
    const settled = await Promise.race([
      this.settle().then(() => true),
      new Promise<boolean>((resolve) => setTimeout(resolve, 1000, false).unref()),
    ]);
    this.#closed = true;
    parts.owner = undefined;
    const split = this.#rangeWorker;
    this.#rangeWorker = undefined;
    if (split !== undefined) await split.terminate();
    const clean =
      settled &&
      !this.#failed &&
      this.#acks.length === 0 &&
      this.#rangeAcks.length === 0 &&
      this.#digests.length === 0 &&
      this.#rangeDigests.length === 0;
    if (!clean || !giveIdle(parts)) {
      await parts.stop();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onReply(reply: Reply): void {
    if ('ack' in reply) this.#acks.shift()?.();
    else if ('range' in reply) this.#rangeDigests.shift()?.resolve(reply.range);
    else if ('digest' in reply) this.#digests.shift()?.resolve(reply.digest);
  }

  /** The worker died: fail, and release everything waiting on it so nothing hangs. */
  #workerGone(err: unknown): void {
    this.fail(new ArozError('ERR_INTERNAL', `The hashing thread failed: ${String(err)}`, { cause: err }));
    for (const ack of this.#acks.splice(0)) ack();
    for (const waiter of this.#digests.splice(0)) waiter.reject(this.#failure);
    for (const waiter of this.#rangeDigests.splice(0)) waiter.reject(this.#failure);
  }
}
