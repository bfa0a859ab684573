/**
 * Serialises async work per key (a chunk UUID): commits and deletes of one UUID run one after
 * another, so "is it there? then link it" cannot interleave. Only within one process: a store is
 * written by one node process (its marker names the node).
 */
export class KeyedLock {
  #tails = new Map<string, Promise<unknown>>();

  async run<R>(key: string, fn: () => Promise<R>): Promise<R> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    this.#tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
