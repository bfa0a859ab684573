/**
 * Waiting on peers without hanging: a no-progress timeout per operation (each read, write, connect or
 * answer gets `idleMs` of its own — not a deadline for the whole transfer), cancellation, and the
 * one-line form of what a node answered.
 */
import { setTimeout as sleepFor } from 'node:timers/promises';
import { ArozError, isProgrammingError } from '../errors.ts';
import type { NodeAnswer } from './types.ts';

/** ERR_INTERRUPTED naming what was being done, or the abort reason itself when it is an ArozError. */
export function interrupted(signal: AbortSignal, doing: string): ArozError {
  if (signal.reason instanceof ArozError) return signal.reason;
  return new ArozError('ERR_INTERRUPTED', `${doing} was cancelled`, { cause: signal.reason });
}

export function throwIfAborted(signal: AbortSignal, doing: string): void {
  if (signal.aborted) throw interrupted(signal, doing);
}

/**
 * Resolves as `work` does, unless `ms` pass first (rejects with `timeout()` after calling `onTimeout`,
 * which should cancel the work) or `signal` aborts (rejects with ERR_INTERRUPTED). The work is left
 * running; its late outcome is ignored.
 */
export async function idle<T>(
  work: Promise<T>,
  options: {
    ms: number;
    signal: AbortSignal;
    doing: string;
    timeout: () => ArozError;
    onTimeout?: () => void;
  },
): Promise<T> {
  const { signal } = options;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      options.onTimeout?.();
      reject(options.timeout());
    }, options.ms);
    onAbort = () => reject(interrupted(signal, options.doing));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, stop]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
  }
}

/**
 * `idle` for a run of operations on one source (the reads that fill a piece of a download): one timer
 * and one abort listener for all of them instead of one of each per operation. Each `race` gets `ms`
 * of its own, as with `idle`; time between operations (our own writes and hashes) is not counted.
 * Call `dispose` when the run is over.
 */
export class Watchdog {
  #options: Parameters<typeof idle>[1];
  #timer: NodeJS.Timeout;
  #waiting = false;
  #stop: Promise<never>;
  #reject!: (err: unknown) => void;
  /** Set once it fired or the signal aborted: every operation from then on fails with it. */
  #failure: unknown;
  #onAbort = (): void => this.#fail(interrupted(this.#options.signal, this.#options.doing));

  constructor(options: Parameters<typeof idle>[1]) {
    this.#options = options;
    this.#stop = new Promise<never>((_, reject) => {
      this.#reject = reject;
    });
    this.#stop.catch(() => {}); // seen through race; a run that never races again must not leak it
    this.#timer = setTimeout(() => {
      if (!this.#waiting) return; // fired between two operations: the next race re-arms it
      options.onTimeout?.();
      this.#fail(options.timeout());
    }, options.ms);
    if (options.signal.aborted) this.#onAbort();
    else options.signal.addEventListener('abort', this.#onAbort, { once: true });
  }

  /** Resolves as `work` does, unless `ms` pass first or the signal aborts (as `idle`). */
  async race<T>(work: Promise<T>): Promise<T> {
    if (this.#failure !== undefined) throw this.#failure;
    this.#waiting = true;
    this.#timer.refresh();
    try {
      return await Promise.race([work, this.#stop]);
    } finally {
      this.#waiting = false;
    }
  }

  #fail(err: unknown): void {
    this.#failure ??= err;
    this.#reject(err);
  }

  dispose(): void {
    clearTimeout(this.#timer);
    this.#options.signal.removeEventListener('abort', this.#onAbort);
  }
}

/**
 * Reads until `into` is full or the reader ends (a network read gives what has arrived, often one
 * 16 KiB frame), each read under `watch`; resolves with the bytes read.
 */
export async function readFull(
  reader: { read(into: Uint8Array): Promise<number> },
  into: Buffer,
  watch: Watchdog,
): Promise<number> {
  let n = 0;
  while (n < into.length) {
    const got = await watch.race(reader.read(into.subarray(n)));
    if (got === 0) break;
    n += got;
  }
  return n;
}

/** Waits `ms`, or rejects with ERR_INTERRUPTED when `signal` aborts. */
export async function sleep(ms: number, signal: AbortSignal, doing: string): Promise<void> {
  try {
    await sleepFor(ms, undefined, { signal });
  } catch (err) {
    if (signal.aborted) throw interrupted(signal, doing);
    throw err;
  }
}

/**
 * The failure of one node as a NodeAnswer. Programming errors are rethrown: they are bugs, not
 * answers. Anything that is not an ArozError (a raw network error from a store) becomes ERR_IO.
 */
export function answerOf(err: unknown, at: { i: number; uuid: string; node: string }): NodeAnswer {
  if (isProgrammingError(err)) throw err;
  if (err instanceof ArozError) return { ...at, code: err.code, message: err.message };
  return { ...at, code: 'ERR_IO', message: err instanceof Error ? err.message : String(err) };
}

/** `node "…": message (CODE)` for one-line error messages. */
export function formatAnswer(answer: NodeAnswer): string {
  const message = answer.message.replace(/[\r\n]+/g, ' ').slice(0, 200);
  return `node "${answer.node}": ${message} (${answer.code})`;
}

/** Errors a transfer must not treat as a node's answer: programming errors and cancellation. */
export function isFatal(err: unknown, signal: AbortSignal): boolean {
  return isProgrammingError(err) || signal.aborted;
}
