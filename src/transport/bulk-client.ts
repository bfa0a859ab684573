/**
 * The client side of bulk reads (docs/protocol.md, "Bulk reads"): a `BulkLane` is one pinned TLS
 * connection to a peer's cluster port without HTTP/2, on which chunk reads run one after another.
 *
 * Why it exists: Node hands every piece HTTP/2 receives to JavaScript in a fresh Buffer, which lives
 * in the malloc heap until the garbage collector finds it dead; a downloading node paid for that in
 * memory and collections. A lane reads with Node's `onread` option instead: TLS decrypts straight
 * into the lane's own 1 MiB receive buffer, reused for every read, and `read(into)` copies from it
 * once 256 KiB (or the rest it asked for) have come. Nothing is allocated per piece received. Flow
 * control is TCP's: when 768 KiB wait unread, the lane stops reading the socket until the reader
 * catches up.
 *
 * A read that ends cleanly leaves the lane ready for the next request (the pool keeps it); a read
 * closed early, timed out or aborted destroys the lane, since its bytes would still be on the way.
 */
import type { TLSSocket } from 'node:tls';
import { BufferPool } from '../buffer-pool.ts';
import { ArozError } from '../errors.ts';
import { interrupted } from '../store/checks.ts';
import type { ChunkInfo, ChunkReader } from '../store/types.ts';
import { settleLater } from '../young-gc.ts';
import { type BulkRequest, MAX_ANSWER_LINE, parseAnswerLine, requestLine } from './bulk-wire.ts';
import { type DialOptions, dialTls } from './client.ts';
import { LIMITS } from './limits.ts';

/** The receive buffer; it is moved to its start when less than `ROOM` is left at its end. */
const RX = 1024 * 1024;
const ROOM = 64 * 1024;
/** Unread bytes at which the lane stops reading the socket (TLS may still hand over what it holds). */
const PAUSE_AT = RX - 256 * 1024;
/** The receive buffer never grows beyond this (a peer that sends what nobody asked for). */
const MAX_RX = 4 * RX;
/**
 * A body read waits for this much (or the rest of what it asked for) before it is woken: TLS hands
 * over one 16 KiB record at a time, and a wake per record cost a download about 50 MiB of garbage
 * (promises, races) per GiB.
 */
const WAKE_AT = 256 * 1024;
/**
 * Receive buffers of closed lanes, and the iteration buffers of readers, for the next ones (a few
 * each): a node downloading one file after another does not allocate them per lane or per read.
 */
const rxPool = new BufferPool(RX, 8, { for: 'download' });
const piecePool = new BufferPool(RX, 8, { for: 'download' });

type State = 'idle' | 'answer' | 'body' | 'dead';

export class BulkLane {
  /** The peer's node UUID. */
  readonly peer: string;
  /** Called when a read ended cleanly and the lane can take the next request. */
  onIdle: ((lane: BulkLane) => void) | undefined;
  /** Called once when the lane closes. */
  onDead: ((lane: BulkLane) => void) | undefined;
  /** Requests sent on this lane, and whether the latest one was answered. */
  requests = 0;
  answered = false;
  #socket: TLSSocket | undefined;
  #rx = rxPool.take();
  /** Whether the receive buffer goes back to the pool when the lane closes (`retire`: not). */
  #pooled = true;
  #head = 0;
  #tail = 0;
  #given = 0;
  #state: State = 'idle';
  /** Body bytes not yet handed to the reader (state 'body'). */
  #expected = 0;
  /** The lane stopped reading the socket (TCP holds the rest) until the reader catches up. */
  #paused = false;
  /** The node closed the connection; what it sent before is still read. */
  #ended = false;
  #error: ArozError | undefined;
  #wake: (() => void) | undefined;
  /** Unread bytes at which a waiting read is woken (1 for the answer line). */
  #need = 1;
  #timer: NodeJS.Timeout | undefined;
  #idleMs: number = LIMITS.requestTimeoutMs;

  private constructor(peer: string) {
    this.peer = peer;
  }

  /** Dials `options.host:port` and checks that the peer holds the key pinned for `options.uuid`. */
  static async dial(options: DialOptions): Promise<BulkLane> {
    const lane = new BulkLane(options.uuid);
    lane.#socket = await dialTls(options, {
      onread: { buffer: () => lane.#nextBuffer(), callback: (n: number) => lane.#onRead(n) },
    });
    const socket = lane.#socket;
    socket.on('error', (err) => lane.#fail(lane.#brokeOff(err)));
    socket.on('close', () => lane.#closed());
    socket.on('end', () => lane.#closed());
    return lane;
  }

  /** The receive buffer's size (1 MiB unless TLS once handed over more than there was room for). */
  get bufferSize(): number {
    return this.#rx.length;
  }

  /** True once the node closed the connection (what it sent before is still read). */
  get ended(): boolean {
    return this.#ended || this.#state === 'dead';
  }

  /** True while the lane can take a request. */
  get usable(): boolean {
    return this.#state === 'idle' && this.#error === undefined;
  }

  /**
   * Reads `request` from the peer: resolves once the peer's answer line says which bytes follow, with
   * a reader of them; throws the peer's error (the lane stays usable) or a failure of the lane.
   */
  async get(
    request: BulkRequest,
    options: { signal?: AbortSignal; idleMs?: number } = {},
  ): Promise<ChunkReader> {
    if (!this.usable)
      throw this.#error ?? new ArozError('ERR_INTERNAL', 'A bulk lane took two requests at once');
    this.#idleMs = options.idleMs ?? LIMITS.requestTimeoutMs;
    this.#state = 'answer';
    this.requests++;
    this.answered = false;
    const { signal } = options;
    const onAbort = () => {
      if (signal) this.#fail(interrupted(signal, `The read of chunk "${request.uuid}"`));
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.#socket?.write(requestLine(request));
      const line = await this.#line();
      this.answered = true;
      let answer: ReturnType<typeof parseAnswerLine>;
      try {
        answer = parseAnswerLine(line, request.uuid, this.peer);
      } catch (err) {
        // The node's own error answer: nothing follows it, the lane is ready for another request.
        if (err instanceof ArozError && err.code !== 'ERR_BAD_REQUEST' && this.#error === undefined)
          this.#ready();
        else this.destroy(err instanceof ArozError ? err : undefined);
        throw err;
      }
      const wanted = { start: request.start ?? 0, end: request.end ?? answer.info.size };
      if (answer.start !== wanted.start || answer.end !== wanted.end) {
        const err = new ArozError(
          'ERR_BAD_REQUEST',
          `Node "${this.peer}" answered chunk "${request.uuid}" with another byte range`,
        );
        this.destroy(err);
        throw err;
      }
      this.#state = 'body';
      this.#expected = answer.end - answer.start;
      this.#checkExcess();
      if (this.#error !== undefined) throw this.#error;
      if (this.#expected === 0) this.#ready();
      return new BulkChunkReader(this, answer.info, answer.start, answer.end, signal);
    } catch (err) {
      if (this.#error !== undefined && err !== this.#error) throw this.#error;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Closes the connection; a read in progress fails with `error` (default: the lane was closed). */
  destroy(error?: ArozError): void {
    this.#fail(
      error ?? new ArozError('ERR_INTERRUPTED', `The bulk connection to node "${this.peer}" was closed`),
    );
  }

  /** Closes an idle lane for good: its receive buffer is not kept for another lane (an upload starts). */
  retire(): void {
    this.#pooled = false;
    this.destroy();
  }

  /** Copies up to `into.length` received body bytes into `into`; 0 once the body is complete. */
  async readBody(into: Uint8Array): Promise<number> {
    if (this.#state === 'body' && this.#expected === 0) return 0;
    const want = Math.min(into.byteLength, this.#expected);
    if (want === 0) {
      if (this.#error !== undefined) throw this.#error;
      return 0;
    }
    const need = Math.min(want, WAKE_AT);
    while (this.#tail - this.#head < need) {
      if (this.#error !== undefined) throw this.#error;
      if (this.#ended && this.#tail > this.#head) break; // what came before the close
      this.#need = need;
      try {
        await this.#next();
      } finally {
        this.#need = 1;
      }
    }
    if (this.#error !== undefined) throw this.#error;
    const n = Math.min(want, this.#tail - this.#head);
    this.#rx.copy(into, 0, this.#head, this.#head + n);
    this.#head += n;
    this.#expected -= n;
    if (this.#paused && this.#tail - this.#head < PAUSE_AT / 2) {
      this.#paused = false;
      this.#socket?.resume();
    }
    if (this.#expected === 0) this.#ready();
    return n;
  }

  /** Arms the body's abort signal: an abort destroys the lane. Returns the disarm function. */
  watch(signal: AbortSignal | undefined, what: string): () => void {
    if (signal === undefined) return () => {};
    const onAbort = () => this.#fail(interrupted(signal, what));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * The node closed the connection. What it sent before is still read (a node that closes after its
   * last answer); the read fails only when it needs more, and the lane closes after the answer.
   */
  #closed(): void {
    if (this.#state !== 'answer' && this.#state !== 'body') {
      this.#fail(this.#brokeOff());
      return;
    }
    this.#ended = true;
    this.#wake?.();
  }

  /** The body is over: back to idle, and to the pool. */
  #ready(): void {
    settleLater();
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#ended) {
      this.destroy();
      return;
    }
    this.#state = 'idle';
    this.#expected = 0;
    if (this.#head !== this.#tail) {
      this.destroy(new ArozError('ERR_BAD_REQUEST', `Node "${this.peer}" sent more than it announced`));
      return;
    }
    this.onIdle?.(this);
  }

  /** The answer line, at most MAX_ANSWER_LINE bytes; what follows it stays in the buffer. */
  async #line(): Promise<string> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error;
      const at = this.#rx.subarray(this.#head, this.#tail).indexOf(10);
      if (at !== -1) {
        const line = this.#rx.toString('utf8', this.#head, this.#head + at);
        this.#head += at + 1;
        return line;
      }
      if (this.#tail - this.#head >= MAX_ANSWER_LINE) {
        const err = new ArozError(
          'ERR_BAD_REQUEST',
          `Node "${this.peer}" sent an answer line over ${MAX_ANSWER_LINE} bytes`,
        );
        this.destroy(err);
        throw err;
      }
      await this.#next();
    }
  }

  /** Resolves at the next thing that happens; fails the lane after idleMs of nothing (one timer). */
  #next(): Promise<void> {
    if (this.#ended) {
      this.#fail(this.#brokeOff()); // nothing more can come
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.#wake = () => {
        this.#wake = undefined;
        resolve();
      };
      if (this.#timer === undefined) {
        this.#timer = setTimeout(() => {
          if (this.#wake === undefined) {
            this.#timer = undefined; // not waiting: the next wait starts it again
            return;
          }
          this.#fail(new ArozError('ERR_TIMEOUT', `Node "${this.peer}" sent nothing for ${this.#idleMs} ms`));
        }, this.#idleMs);
      } else this.#timer.refresh();
    });
  }

  #nextBuffer(): Buffer {
    if (this.#head === this.#tail) {
      this.#head = 0;
      this.#tail = 0;
    } else if (this.#rx.length - this.#tail < ROOM) {
      this.#rx.copy(this.#rx, 0, this.#head, this.#tail);
      this.#tail -= this.#head;
      this.#head = 0;
    }
    if (this.#rx.length - this.#tail < ROOM) {
      // TLS handed over more after the pause than there was room for: grow, within bounds.
      const bigger = Buffer.allocUnsafeSlow(Math.min(MAX_RX, this.#rx.length * 2));
      this.#rx.copy(bigger, 0, this.#head, this.#tail);
      this.#tail -= this.#head;
      this.#head = 0;
      this.#rx = bigger;
    }
    this.#given = this.#tail;
    return this.#rx.subarray(this.#tail);
  }

  #onRead(n: number): boolean {
    this.#tail = this.#given + n;
    if (this.#state === 'idle' || this.#state === 'dead') {
      this.destroy(new ArozError('ERR_BAD_REQUEST', `Node "${this.peer}" sent bytes nobody asked for`));
      return false;
    }
    if (this.#state === 'body') this.#checkExcess();
    if (this.#tail - this.#head > MAX_RX - ROOM) {
      this.destroy(new ArozError('ERR_BAD_REQUEST', `Node "${this.peer}" sent far more than was read`));
      return false;
    }
    if (this.#tail - this.#head >= this.#need) this.#wake?.();
    else this.#timer?.refresh(); // bytes came: that is progress, even before the read wakes
    if (this.#tail - this.#head < PAUSE_AT) return true;
    this.#paused = true;
    return false;
  }

  /** In a body: more bytes than the body has left is a peer that broke the protocol. */
  #checkExcess(): void {
    if (this.#tail - this.#head > this.#expected) {
      this.destroy(new ArozError('ERR_BAD_REQUEST', `Node "${this.peer}" sent more than it announced`));
    }
  }

  #brokeOff(cause?: unknown): ArozError {
    return new ArozError('ERR_PEER_UNREACHABLE', `Node "${this.peer}" closed the bulk connection`, { cause });
  }

  #fail(error: ArozError): void {
    if (this.#state === 'dead') return;
    this.#state = 'dead';
    this.#error = error;
    clearTimeout(this.#timer);
    this.#socket?.destroy();
    this.#wake?.();
    this.onDead?.(this);
    // Its receive buffer goes back once TLS can no longer write into it (the socket is gone).
    const rx = this.#rx;
    const release = () => {
      if (this.#pooled) rxPool.give(rx); // not one that grew past RX
    };
    if (this.#socket === undefined || this.#socket.closed) release();
    else this.#socket.once('close', release);
  }
}

/** One read on a lane: the ChunkReader contract over the lane's receive buffer. */
class BulkChunkReader implements ChunkReader {
  readonly info: ChunkInfo;
  readonly start: number;
  readonly end: number;
  #lane: BulkLane;
  #given = 0;
  #closed = false;
  #disarm: () => void;

  constructor(lane: BulkLane, info: ChunkInfo, start: number, end: number, signal: AbortSignal | undefined) {
    this.#lane = lane;
    this.info = info;
    this.start = start;
    this.end = end;
    this.#disarm = lane.watch(signal, `The read of chunk "${info.uuid}"`);
    if (this.length === 0) this.#finish();
  }

  get length(): number {
    return this.end - this.start;
  }

  async read(into: Uint8Array): Promise<number> {
    if (this.#closed) return 0;
    const n = await this.#lane.readBody(into);
    this.#given += n;
    if (this.#given === this.length) this.#finish();
    return n;
  }

  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    return piecePool.pieces(this);
  }

  /** Stops reading; a body not read to its end destroys the lane. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    if (this.#given < this.length) this.#lane.destroy();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #finish(): void {
    this.#closed = true;
    this.#disarm();
  }
}
