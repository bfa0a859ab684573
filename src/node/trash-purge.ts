/**
 * The daemon empties its own trash: a deleted chunk (an uploader's delete, or the copies a failed
 * upload rolled back) stays in its store's trash for the grace period, then a purge removes it and
 * its space comes back. A pass runs when the daemon starts and then every hour, or every grace
 * period when that is shorter (at least a second apart). Nothing on the cluster port can make a node
 * purge (docs/protocol.md). The daemon's status shows what the trash holds and when it was last
 * emptied.
 */
import { ArozError } from '../errors.ts';
import type { PurgeOptions } from '../store/types.ts';

const HOUR_MS = 60 * 60 * 1000;
const MIN_INTERVAL_MS = 1000;

export interface TrashPurgeOptions {
  /** The node's stores (a StoreSet skips offline ones). */
  store: { purgeTrash(options?: PurgeOptions): Promise<number> };
  /** A chunk deleted at least this long ago is purged. */
  graceMs: number;
  /** One line for people. */
  log: (line: string) => void;
}

export interface TrashPurgeState {
  graceMs: number;
  /** When the last pass ended (ISO 8601), else null. */
  purgedAt: string | null;
  /** Chunks the last pass removed. */
  lastPurged: number;
}

export class TrashPurger {
  readonly graceMs: number;
  readonly intervalMs: number;
  #store: TrashPurgeOptions['store'];
  #log: (line: string) => void;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #abort = new AbortController();
  #purgedAt: string | null = null;
  #lastPurged = 0;
  #state: 'new' | 'running' | 'closed' = 'new';

  constructor(options: TrashPurgeOptions) {
    this.graceMs = options.graceMs;
    this.intervalMs = Math.max(MIN_INTERVAL_MS, Math.min(options.graceMs, HOUR_MS));
    this.#store = options.store;
    this.#log = options.log;
  }

  get state(): TrashPurgeState {
    return { graceMs: this.graceMs, purgedAt: this.#purgedAt, lastPurged: this.#lastPurged };
  }

  /** Starts a pass now (in the background) and one every interval. Idempotent. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    void this.purge();
    this.#timer = setInterval(() => void this.purge(), this.intervalMs);
    this.#timer.unref();
  }

  /**
   * One pass: purges what was deleted at least the grace period ago; returns how many chunks went.
   * A pass already running is joined, not doubled. A store that fails is reported, not thrown.
   */
  purge(): Promise<number> {
    if (this.#state === 'closed') return Promise.resolve(0);
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Stops the timer and waits for a pass in progress, which stops at its next chunk. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearInterval(this.#timer);
    this.#abort.abort(new ArozError('ERR_INTERRUPTED', 'The node is stopping'));
    await this.#running;
  }

  async #pass(): Promise<number> {
    let purged = 0;
    try {
      purged = await this.#store.purgeTrash({ olderThanMs: this.graceMs, signal: this.#abort.signal });
    } catch (err) {
      if (!(err instanceof ArozError)) throw err;
      if (err.code !== 'ERR_INTERRUPTED') this.#log(`Cannot empty the trash: ${err.message} (${err.code})`);
      return 0;
    }
    this.#purgedAt = new Date().toISOString();
    this.#lastPurged = purged;
    if (purged > 0) {
      this.#log(
        `Emptied the trash: ${purged} deleted chunk${purged === 1 ? '' : 's'} past the grace period.`,
      );
    }
    return purged;
  }
}
