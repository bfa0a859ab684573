/**
 * The scrub (docs/store.md "Scrub and quarantine"): the node re-reads and re-hashes its own chunks in
 * the background, store by store in UUID order, at a bounded rate — fast enough to finish a pass in
 * `passSeconds` (default 30 days), never above `maxBytesPerSecond` — and pauses while transfers run.
 * A copy whose bytes no longer match its own record goes to its store's quarantine, with an audit
 * line. Progress (the last UUID checked per store) is saved to `<home>/scrub.json` after every batch,
 * so a restarted node resumes its pass instead of starting over. What it found shows in
 * `GET /v1/node` (`scrub`).
 */
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, isArozError, isProgrammingError } from '../errors.ts';
import type { AuditEntry } from '../home/audit.ts';
import { Pacer } from '../pace.ts';
import { PIECE_SIZE } from '../store/checks.ts';
import type { DiskStore } from '../store/disk-store.ts';
import { verifyCopy } from '../store/verify-copy.ts';
import { sleepLong } from '../timers.ts';
import type { NodeScrub } from '../transport/node-info.ts';

const DAY_S = 24 * 60 * 60;
export interface ScrubSettings {
  /** A full pass over the node's chunks takes about this long (the rate is spread to fit). */
  passSeconds: number;
  /** The scrub never reads faster than this; 0 turns it off. */
  maxBytesPerSecond: number;
  /** The first pass after a start waits this long (a restarted node resumes its pass then). */
  startDelayMs: number;
}

export const DEFAULT_SCRUB: ScrubSettings = {
  passSeconds: 30 * DAY_S,
  maxBytesPerSecond: 16 * 1024 * 1024,
  startDelayMs: 10 * 60 * 1000,
};
/** The scrub never crawls slower than this (so chunks stored during a pass are reached too). */
export const MIN_SCRUB_RATE = 256 * 1024;
const BATCH = 64;
/** A pass starts at least this long after the previous one ended (unless woken). */
export const MIN_PASS_GAP_MS = 60_000;
/** While a transfer runs, the scrub looks again this often. */
const PAUSE_MS = 1_000;
const DONE = '~'; // sorts after every UUID: the store is finished for this pass

/** Bytes per second for a pass over `usedBytes` (see ScrubSettings); pure. */
export function scrubRate(
  usedBytes: number,
  s: Pick<ScrubSettings, 'passSeconds' | 'maxBytesPerSecond'>,
): number {
  const spread = usedBytes / Math.max(1, s.passSeconds);
  return Math.min(s.maxBytesPerSecond, Math.max(MIN_SCRUB_RATE, spread));
}

interface Saved {
  version: 1;
  passStartedAt: string | null;
  lastPassAt: string | null;
  /** The last UUID checked per store id (DONE once the store is finished for this pass). */
  cursors: Record<string, string>;
  /** Corrupt copies found since the node was made. */
  corrupt: number;
}

export interface ScrubOptions {
  stores: () => readonly DiskStore[];
  statePath: string;
  settings: ScrubSettings;
  /** True while transfers run (the scrub pauses). */
  busy: () => boolean;
  audit: (entry: AuditEntry) => Promise<void>;
  log: (line: string) => void;
}

export class Scrubber {
  readonly settings: ScrubSettings;
  #options: ScrubOptions;
  #saved: Saved = { version: 1, passStartedAt: null, lastPassAt: null, cursors: {}, corrupt: 0 };
  #state: NodeScrub['state'] = 'waiting';
  #rate = MIN_SCRUB_RATE;
  #checked = 0;
  /** Milliseconds of waiting the pacing asked for since start (tests assert the pacing on it). */
  pacedMs = 0;
  /** Bytes the scrub read since start. */
  readBytes = 0;
  /** Full passes ended since start. */
  passes = 0;
  #abort = new AbortController();
  #wake = new AbortController();
  #woken = false;
  #running: Promise<void> | undefined;

  constructor(options: ScrubOptions) {
    this.#options = options;
    this.settings = options.settings;
    if (options.settings.maxBytesPerSecond <= 0) this.#state = 'off';
  }

  /** Reads the saved progress and starts the background loop. */
  async start(): Promise<void> {
    if (this.#state === 'off' || this.#running !== undefined) return;
    this.#saved = await readSaved(this.#options.statePath);
    this.#running = this.#loop(this.#abort.signal).catch((err: unknown) => {
      if (isProgrammingError(err)) throw err;
    });
  }

  async close(): Promise<void> {
    this.#abort.abort(new ArozError('ERR_INTERRUPTED', 'The node is stopping'));
    await this.#running;
    if (this.#running !== undefined) await this.#save().catch(() => {});
  }

  /** Starts the next pass now (or ends a start delay). */
  wake(): void {
    this.#woken = true;
    this.#wake.abort();
    this.#wake = new AbortController();
  }

  /** What GET /v1/node shows (quarantine counts come from the stores). */
  status(quarantine: { chunks: number; bytes: number }): NodeScrub {
    return {
      state: this.#state,
      rate: this.#state === 'off' ? 0 : this.#rate,
      checked: this.#checked,
      corrupt: this.#saved.corrupt,
      quarantined: quarantine,
      passStartedAt: this.#saved.passStartedAt,
      lastPassAt: this.#saved.lastPassAt,
    };
  }

  async #loop(signal: AbortSignal): Promise<void> {
    await this.#pause(this.settings.startDelayMs, signal);
    for (;;) {
      signal.throwIfAborted();
      const started = this.#saved.passStartedAt === null ? 0 : Date.parse(this.#saved.passStartedAt);
      const finished = this.#options.stores().every((s) => this.#saved.cursors[s.id] === DONE);
      if (this.#saved.passStartedAt === null || finished) {
        // Never back to back: with scrubPassSeconds 0 (or a pass slower than its period) an empty
        // or small store would otherwise start pass after pass, each saving scrub.json.
        const wait = Math.max(MIN_PASS_GAP_MS, started + this.settings.passSeconds * 1000 - Date.now());
        if (this.#saved.passStartedAt !== null) {
          this.#state = 'waiting';
          await this.#pause(wait, signal); // woken or not, a new pass starts now
        }
        this.#saved.passStartedAt = new Date().toISOString();
        this.#saved.cursors = {};
        this.#checked = 0;
        await this.#save();
      }
      this.#state = 'running';
      for (const store of this.#options.stores()) await this.#scrubStore(store, signal);
      // The pass is over, even for a store that was offline or failed: its turn is the next pass.
      for (const store of this.#options.stores()) this.#saved.cursors[store.id] = DONE;
      this.#saved.lastPassAt = new Date().toISOString();
      await this.#save();
      this.passes++;
      this.#state = 'waiting';
    }
  }

  /** Sleeps `ms` unless woken (false) or stopped (throws). */
  async #pause(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      if (!this.#woken) await sleepLong(ms, AbortSignal.any([signal, this.#wake.signal]));
    } catch (err) {
      signal.throwIfAborted();
      if (isProgrammingError(err)) throw err;
    }
    const woken = this.#woken;
    this.#woken = false;
    return !woken;
  }

  async #scrubStore(store: DiskStore, signal: AbortSignal): Promise<void> {
    const buffer = Buffer.allocUnsafeSlow(PIECE_SIZE);
    for (;;) {
      const after = this.#saved.cursors[store.id] ?? '';
      if (after === DONE) return;
      let batch: string[];
      try {
        const status = await store.status({ signal });
        if (!status.online) return; // an unmounted disk: its turn comes in a later pass
        this.#rate = scrubRate(status.used, this.settings);
        batch = await store.chunksAfter(after, BATCH);
      } catch (err) {
        if (!(err instanceof ArozError) || signal.aborted) throw err;
        this.#options.log(`Scrub: cannot read store "${store.id}": ${err.message} (${err.code})`);
        return;
      }
      const pacer = new Pacer(this.#rate, Math.min(PIECE_SIZE, this.#rate));
      for (const uuid of batch) {
        await this.#scrubOne(store, uuid, pacer, buffer, signal);
        this.#saved.cursors[store.id] = uuid;
      }
      if (batch.length < BATCH) this.#saved.cursors[store.id] = DONE;
      await this.#save();
    }
  }

  async #scrubOne(
    store: DiskStore,
    uuid: string,
    pacer: Pacer,
    buffer: Buffer,
    signal: AbortSignal,
  ): Promise<void> {
    await this.#waitIdle(signal);
    let verdict: Awaited<ReturnType<typeof verifyCopy>>;
    try {
      verdict = await verifyCopy(
        store,
        uuid,
        {},
        {
          signal,
          buffer,
          onBytes: async (n) => {
            this.readBytes += n;
            const wait = pacer.take(n, performance.now());
            this.pacedMs += wait;
            if (wait > 0) await sleep(wait, undefined, { signal });
            await this.#waitIdle(signal);
          },
        },
      );
    } catch (err) {
      if (!(err instanceof ArozError) || signal.aborted) throw err;
      this.#options.log(
        `Scrub: cannot read chunk "${uuid}" in store "${store.id}": ${err.message} (${err.code})`,
      );
      return;
    }
    this.#checked++;
    if (verdict.state !== 'corrupt' || verdict.recorded === undefined) return;
    if (!(await store.quarantine(uuid, verdict.recorded.sha256))) return;
    this.#saved.corrupt++;
    await this.#save();
    this.#options.log(`Scrub: chunk "${uuid}" in store "${store.id}" is corrupt: moved to its quarantine.`);
    await this.#options
      .audit({
        action: 'scrub-quarantine',
        chunkUuid: uuid,
        storeId: store.id,
        sha256: verdict.recorded.sha256,
        actual: verdict.actual,
        fingerprint: null,
        from: 'scrub',
      })
      .catch((err: unknown) => {
        if (!isArozError(err)) throw err;
        this.#options.log(`Scrub: cannot write the audit log: ${err.message}`);
      });
  }

  /** Pauses while transfers run. */
  async #waitIdle(signal: AbortSignal): Promise<void> {
    while (this.#options.busy()) {
      this.#state = 'paused';
      await sleep(PAUSE_MS, undefined, { signal });
    }
    this.#state = 'running';
  }

  async #save(): Promise<void> {
    await writeFileAtomic(this.#options.statePath, `${JSON.stringify(this.#saved)}\n`, {
      mode: 0o600,
      overwrite: true,
    });
  }
}

async function readSaved(path: string): Promise<Saved> {
  const fresh: Saved = { version: 1, passStartedAt: null, lastPassAt: null, cursors: {}, corrupt: 0 };
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return fresh; // none yet, or damaged: start a pass from the beginning
  }
  const v = value as Partial<Saved>;
  const time = (t: unknown) => (typeof t === 'string' && !Number.isNaN(Date.parse(t)) ? t : null);
  const cursors: Record<string, string> = {};
  if (typeof v.cursors === 'object' && v.cursors !== null) {
    for (const [id, at] of Object.entries(v.cursors))
      if (typeof at === 'string' && at.length <= 64) cursors[id] = at;
  }
  return {
    version: 1,
    passStartedAt: time(v.passStartedAt),
    lastPassAt: time(v.lastPassAt),
    cursors,
    corrupt: Number.isSafeInteger(v.corrupt) && (v.corrupt as number) >= 0 ? (v.corrupt as number) : 0,
  };
}
