/**
 * Waiting in tests without guessing how long something takes. A test never sleeps to let something
 * happen: it waits for an event, or polls for the state it needs with `until()`, which fails with a
 * message naming what it waited for. Deadlines are generous (the suite runs on busy machines); a test
 * that must show something is fast asserts the time it measured, separately.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface UntilOptions {
  /** How long to wait in all (default 30 s: a loaded machine runs several times slower). */
  timeoutMs?: number;
  /** Pause between two polls (default 50 ms). */
  intervalMs?: number;
  /** Stops waiting early (the test's `t.signal`, say). */
  signal?: AbortSignal;
}

/** A probe's answer: `undefined`, `null` or `false` mean "not yet"; anything else is the result. */
export type Probe<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/**
 * Polls `probe` until it answers, and returns the answer. An error thrown by the probe counts as
 * "not yet" (a daemon not listening yet, a file half written) and is named if the deadline passes.
 */
export async function until<T>(what: string, probe: Probe<T>, options: UntilOptions = {}): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 50;
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  let polls = 0;
  for (;;) {
    options.signal?.throwIfAborted();
    polls++;
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (performance.now() >= deadline) {
      const because = last === undefined ? '' : `; the last poll failed with: ${String(last)}`;
      throw new Error(`Timed out after ${timeoutMs} ms (${polls} polls) waiting for: ${what}${because}`, {
        cause: last,
      });
    }
    await sleep(intervalMs, undefined, options.signal ? { signal: options.signal } : {}).catch(
      (err: unknown) => {
        throw options.signal?.aborted ? options.signal.reason : err;
      },
    );
  }
}
