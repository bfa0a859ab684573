/**
 * Waits of any length. Node's timers hold at most 2^31 − 1 ms (about 24.8 days): a longer delay fires
 * after 1 ms instead, with only a TimeoutOverflowWarning to say so. The scrub's default pass is 30
 * days and node.json allows intervals of years, so every wait that comes from a setting goes through
 * here. A long wait is a chain of timers that each hold at most the limit, measured on the monotonic
 * clock (a clock change neither shortens nor stretches it).
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** The longest delay one Node timer holds. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Resolves after `ms`, whatever its length; rejects like `timers/promises` when `signal` aborts. */
export async function sleepLong(ms: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  const options = signal === undefined ? {} : { signal };
  for (let left = ms; left > 0; left = until - performance.now()) {
    await sleep(Math.min(left, MAX_TIMER_MS), undefined, options);
  }
}

/** Calls `fn` every `ms`, whatever its length, on unref'd timers; returns what stops it. */
export function repeatEvery(ms: number, fn: () => void): () => void {
  if (ms <= MAX_TIMER_MS) {
    const timer = setInterval(fn, ms).unref();
    return () => clearInterval(timer);
  }
  let timer: NodeJS.Timeout | undefined;
  let due = performance.now() + ms;
  const arm = () => {
    const left = due - performance.now();
    if (left <= 0) {
      due = performance.now() + ms;
      fn();
    }
    timer = setTimeout(arm, Math.min(Math.max(due - performance.now(), 1), MAX_TIMER_MS)).unref();
  };
  arm();
  return () => clearTimeout(timer);
}
