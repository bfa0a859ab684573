/**
 * The persisted sequence number of this node's address records. Each `next()` returns a number larger
 * than every number it returned before, in this run or any earlier one: it is written durably (temp
 * file, fsync, rename, fsync the folder) before it is returned. It is also at least the current time in
 * milliseconds, so a home restored from an old backup still issues records newer than the ones its
 * peers hold (as long as the clock is not behind). A damaged file is refused rather than guessed at.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, fromSystemError, isProgrammingError } from '../errors.ts';

const MAX_FILE = 1024;

export interface SeqStoreOptions {
  /** Clock in ms since the epoch (tests inject one). */
  now?: () => number;
}

export class SeqStore {
  readonly path: string;
  #now: () => number;
  #last: number | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(path: string, options: SeqStoreOptions = {}) {
    this.path = path;
    this.#now = options.now ?? Date.now;
  }

  /** The last seq handed out (read from the file on first use); undefined before any. */
  async current(): Promise<number | undefined> {
    await this.#serial(() => this.#load());
    return this.#last === 0 ? undefined : this.#last;
  }

  /** Reserves the next seq: strictly greater than every earlier one, persisted before it returns. */
  next(options: { signal?: AbortSignal } = {}): Promise<number> {
    return this.#serial(async () => {
      options.signal?.throwIfAborted();
      const last = await this.#load();
      const seq = Math.max(last + 1, Math.floor(this.#now()));
      if (!Number.isSafeInteger(seq))
        throw new ArozError('ERR_HOME_INVALID', `The record seq in "${this.path}" is exhausted`);
      await writeFileAtomic(this.path, `${JSON.stringify({ version: 1, seq })}\n`, {
        mode: 0o600,
        overwrite: true,
      });
      this.#last = seq;
      return seq;
    });
  }

  async #load(): Promise<number> {
    if (this.#last !== undefined) return this.#last;
    let text: string;
    try {
      const bytes = await readFile(this.path);
      if (bytes.length > MAX_FILE) throw this.#damaged('it is too large');
      text = bytes.toString('utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#last = 0;
        return 0;
      }
      throw fromSystemError(err, `The record seq file "${this.path}"`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      if (isProgrammingError(err) && !(err instanceof SyntaxError)) throw err;
      throw this.#damaged('it is not JSON');
    }
    const seq = (parsed as { seq?: unknown } | null)?.seq;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
      throw this.#damaged('it holds no valid seq');
    this.#last = seq;
    return seq;
  }

  #damaged(why: string): ArozError {
    return new ArozError(
      'ERR_HOME_INVALID',
      `The record seq file "${this.path}" is damaged (${why}); delete it to continue from the clock`,
    );
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work, work);
    this.#queue = run.catch(() => {});
    return run;
  }
}
