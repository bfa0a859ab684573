/**
 * Staggered starts for a download's fetch workers. Fetches in flight share the bandwidth alike, so
 * workers that start together finish together: chunks k … k+parallel−1 landed at one moment, and the
 * whole-file hash (ordered-hash.ts), which can follow only the chunk at the front of the file as it
 * is written, still had the other parallel−1 chunks to read back after the last byte (181–188 MiB of
 * a 1 GiB download in bench:cluster, 0.3 s). So the first chunk of worker j waits until j/parallel of
 * a chunk has arrived; from then on the chunks land one after another, and at the end the hash is
 * close behind the last byte (docs/transfer.md, "The download's tail"). A worker never waits longer
 * than `maxStepMs` per step: a first chunk whose holder hangs (frozen, until the idle timeout) sends
 * no bytes, and the other workers must not wait for it.
 */
export class Stagger {
  #step: number;
  #arrived = 0;
  #open = false;
  #maxStepMs: number;
  #waiters: Array<{ need: number; resolve: () => void }> = [];

  /** `step`: the bytes that arrive between one worker's start and the next one's, or `maxStepMs`. */
  constructor(step: number, maxStepMs: number) {
    this.#step = step;
    this.#maxStepMs = maxStepMs;
  }

  /** `bytes` more arrived (a failed attempt's negative count is ignored: arrivals only grow). */
  arrived(bytes: number): void {
    if (bytes <= 0) return;
    this.#arrived += bytes;
    const ready = this.#waiters.filter((w) => w.need <= this.#arrived);
    this.#waiters = this.#waiters.filter((w) => w.need > this.#arrived);
    for (const w of ready) w.resolve();
  }

  /**
   * No wait any more, for anyone: a fetch ended (it may have been the only one in flight, and nothing
   * would arrive), or the download stops.
   */
  open(): void {
    this.#open = true;
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  /** Resolves once `k` steps of bytes have arrived, or after `k` × maxStepMs (at once for k = 0, or once open). */
  wait(k: number): Promise<void> {
    const need = k * this.#step;
    if (this.#open || need <= this.#arrived) return Promise.resolve();
    const { promise, resolve } = Promise.withResolvers<void>();
    const waiter = { need, resolve };
    this.#waiters.push(waiter);
    const late = setTimeout(() => {
      this.#waiters = this.#waiters.filter((w) => w !== waiter);
      resolve();
    }, k * this.#maxStepMs);
    return promise.finally(() => clearTimeout(late));
  }
}
