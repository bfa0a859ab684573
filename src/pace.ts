/**
 * Pacing at a byte rate (a token bucket kept as a schedule): each `take(bytes)` books the bytes after
 * the ones already booked and answers how long to wait before moving them, so over any stretch of
 * time the bytes moved stay under `rate × seconds + burst`. Pure: the caller passes the clock and
 * does the waiting (scrub, copy tasks), so tests assert the computed waits, not wall time.
 */
export class Pacer {
  readonly bytesPerSecond: number;
  readonly burstBytes: number;
  /** When (ms, the caller's clock) the bytes booked so far are all allowed. */
  #next = Number.NEGATIVE_INFINITY;

  constructor(bytesPerSecond: number, burstBytes = 0) {
    if (!(bytesPerSecond > 0)) throw new RangeError(`A pace must be above 0 bytes/s, got ${bytesPerSecond}`);
    this.bytesPerSecond = bytesPerSecond;
    this.burstBytes = burstBytes;
  }

  /** Books `bytes` at `nowMs`; answers the milliseconds to wait before moving them (0: at once). */
  take(bytes: number, nowMs: number): number {
    const burstMs = (this.burstBytes / this.bytesPerSecond) * 1000;
    const start = Math.max(this.#next, nowMs - burstMs);
    this.#next = start + (bytes / this.bytesPerSecond) * 1000;
    return Math.max(0, this.#next - nowMs);
  }
}
