/**
 * Heartbeats: every `intervalMs` each trusted node in the address book is pinged (the caller's `ping`
 * does a pinned request, e.g. `GET /v1/node`), and the book marks it online or offline. A beat that
 * is still running when the next is due is not doubled; every ping has a timeout; close() aborts the
 * pings in flight. It knows nothing of sockets: `ping` is the transport.
 */
import { isProgrammingError } from '../errors.ts';
import type { AddressBook, StateChange } from './address-book.ts';

export interface HeartbeatOptions {
  book: AddressBook;
  /** Resolves if the node answered over a pinned connection; rejects otherwise. */
  ping: (uuid: string, signal: AbortSignal) => Promise<void>;
  /** Default 30 s (the book counts a node offline after `offlineAfterMs`, 90 s by default). */
  intervalMs?: number;
  /** Per ping (default 5 s). */
  timeoutMs?: number;
  /** Told of every online/offline change. */
  onChange?: (change: StateChange) => void;
}

export class Heartbeat {
  #options: HeartbeatOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<StateChange[]> | undefined;
  #stop = new AbortController();

  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** Beats now and then every `intervalMs`, until `close()` or `signal` aborts. */
  start(signal?: AbortSignal): void {
    if (this.#timer !== undefined || this.#stop.signal.aborted || signal?.aborted) return;
    signal?.addEventListener('abort', () => this.close(), { once: true });
    void this.beat();
    this.#timer = setInterval(() => void this.beat(), this.#options.intervalMs ?? 30_000).unref();
  }

  /** Pings every trusted node once; resolves with the changes (shares a beat already running). */
  beat(): Promise<StateChange[]> {
    this.#running ??= this.#beat().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  close(): void {
    clearInterval(this.#timer);
    this.#stop.abort();
  }

  async #beat(): Promise<StateChange[]> {
    const { book, ping, onChange } = this.#options;
    const changes: StateChange[] = [];
    await Promise.all(
      book.nodes().map(async (uuid) => {
        if (this.#stop.signal.aborted) return;
        const signal = AbortSignal.any([
          this.#stop.signal,
          AbortSignal.timeout(this.#options.timeoutMs ?? 5_000),
        ]);
        let ok: boolean;
        try {
          await ping(uuid, signal);
          ok = true;
        } catch (err) {
          if (isProgrammingError(err)) throw err;
          ok = false;
        }
        if (this.#stop.signal.aborted) return; // closing is not the peer's failure
        const change = ok ? book.markSeen(uuid) : book.markUnreachable(uuid);
        if (change !== undefined) {
          changes.push(change);
          onChange?.(change);
        }
      }),
    );
    return changes;
  }
}
