/**
 * The nodes of one transfer run: each node's store is asked for once (through the caller's `connect`,
 * with a no-progress timeout) and kept. A node whose connect failed, or that later stopped answering,
 * is dead for the rest of the run: asking it again answers its failure at once instead of waiting
 * another timeout. Strikes count other failures so a download can try reliable holders first.
 */
import { ArozError } from '../errors.ts';
import type { ChunkStore } from '../store/types.ts';
import { idle } from './idle.ts';
import type { Connect } from './types.ts';

/** Failures after which a node is not asked again in this run. */
const DEADLY = new Set(['ERR_PEER_UNREACHABLE', 'ERR_PEER_UNTRUSTED', 'ERR_PEER_NOT_FOUND', 'ERR_TIMEOUT']);

export class RunNodes {
  #connect: Connect;
  #signal: AbortSignal;
  #idleMs: number;
  #stores = new Map<string, Promise<ChunkStore>>();
  #dead = new Map<string, unknown>();
  #strikes = new Map<string, number>();

  constructor(connect: Connect, signal: AbortSignal, idleMs: number) {
    this.#connect = connect;
    this.#signal = signal;
    this.#idleMs = idleMs;
  }

  /** The node's store; rejects at once for a dead node. */
  store(node: string): Promise<ChunkStore> {
    const dead = this.#dead.get(node);
    if (dead !== undefined) return Promise.reject(dead);
    let store = this.#stores.get(node);
    if (store === undefined) {
      const controller = new AbortController();
      const signal = AbortSignal.any([this.#signal, controller.signal]);
      const doing = `Connecting to node "${node}"`;
      store = idle(
        Promise.resolve().then(() => this.#connect(node, signal)),
        {
          ms: this.#idleMs,
          signal: this.#signal,
          doing,
          timeout: () =>
            new ArozError('ERR_TIMEOUT', `Node "${node}" did not answer within ${this.#idleMs} ms`),
          onTimeout: () => controller.abort(),
        },
      );
      this.#stores.set(node, store);
      store.catch((err: unknown) => {
        if (this.#signal.aborted) this.#stores.delete(node);
        else this.#dead.set(node, err);
      });
    }
    return store;
  }

  /** Records a failure of `node`; failures that mean "unreachable" make it dead for this run. */
  failed(node: string, err: unknown): void {
    this.#strikes.set(node, (this.#strikes.get(node) ?? 0) + 1);
    if (err instanceof ArozError && DEADLY.has(err.code) && !this.#signal.aborted) this.#dead.set(node, err);
  }

  isDead(node: string): boolean {
    return this.#dead.has(node);
  }

  strikes(node: string): number {
    return this.#strikes.get(node) ?? 0;
  }
}
