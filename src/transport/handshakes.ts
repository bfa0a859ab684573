/**
 * TLS handshakes in progress on the cluster port, bounded in number and in time, so clients that
 * never finish a handshake cannot keep paired peers out. A handshake is counted from the TCP accept
 * until it completes (`secureConnection`), fails, or the socket closes; established sessions are not
 * counted. Each handshake has an absolute deadline (a client trickling bytes does not extend it).
 * When a source address (an IPv6 /64) already has `perSource` handshakes in progress, its oldest one
 * is dropped to make room; when `total` are in progress, the oldest handshake of the source with the
 * most is dropped. A paired peer's handshake takes milliseconds, so silent connections cannot crowd
 * it out: they only evict each other.
 */
import { isIPv4, isIPv6, type Socket } from 'node:net';

export interface HandshakeLimits {
  /** Handshakes in progress across all sources. */
  total: number;
  /** Handshakes in progress from one source address (IPv6: one /64). */
  perSource: number;
  /** A handshake not complete after this time is closed. */
  timeoutMs: number;
}

interface Pending {
  key: string;
  source: string;
  socket: Socket;
  timer: NodeJS.Timeout;
}

/** What a handshake is counted against: the IPv4 address, or the /64 of an IPv6 address. */
export function sourceOf(address: string | undefined): string {
  if (address === undefined) return 'unknown';
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain)?.[1];
  if (mapped !== undefined) return mapped;
  if (isIPv4(plain) || !isIPv6(plain)) return plain;
  const [head = '', tail] = plain.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

function connectionKey(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }) {
  const s = socket as Socket;
  return `${s.remoteAddress}|${s.remotePort}|${s.localAddress}|${s.localPort}`;
}

export class HandshakeGate {
  #limits: HandshakeLimits;
  #bySource = new Map<string, Set<Pending>>();
  #byKey = new Map<string, Pending>();
  #evicted = 0;
  #timedOut = 0;

  constructor(limits: HandshakeLimits) {
    this.#limits = limits;
  }

  /** Handshakes in progress now. */
  get inProgress(): number {
    return this.#byKey.size;
  }

  /** Handshakes dropped to make room, and closed at their deadline, since start. */
  get stats(): { inProgress: number; evicted: number; timedOut: number } {
    return { inProgress: this.inProgress, evicted: this.#evicted, timedOut: this.#timedOut };
  }

  /** Counts a newly accepted TCP connection (the raw socket of the server's `connection` event). */
  admit(socket: Socket): void {
    const source = sourceOf(socket.remoteAddress);
    const mine = this.#bySource.get(source);
    if (mine !== undefined && mine.size >= this.#limits.perSource) this.#evict(mine);
    else if (this.#byKey.size >= this.#limits.total) this.#evictBusiest();
    const key = connectionKey(socket);
    const stale = this.#byKey.get(key);
    if (stale !== undefined) this.#drop(stale);
    const pending: Pending = {
      key,
      source,
      socket,
      timer: setTimeout(() => {
        this.#timedOut++;
        this.#drop(pending);
        socket.destroy();
      }, this.#limits.timeoutMs),
    };
    pending.timer.unref();
    this.#byKey.set(key, pending);
    let set = this.#bySource.get(source);
    if (set === undefined) {
      set = new Set();
      this.#bySource.set(source, set);
    }
    set.add(pending);
    socket.once('close', () => this.#drop(pending));
  }

  /** The handshake of this TLS socket completed (the server's `secureConnection`). */
  completed(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): void {
    const pending = this.#byKey.get(connectionKey(socket));
    if (pending !== undefined) this.#drop(pending);
  }

  /** Closes every handshake in progress (the server is closing). */
  clear(): void {
    for (const pending of [...this.#byKey.values()]) {
      this.#drop(pending);
      pending.socket.destroy();
    }
  }

  #evict(set: Set<Pending>): void {
    const oldest = set.values().next().value;
    if (oldest === undefined) return;
    this.#evicted++;
    this.#drop(oldest);
    oldest.socket.destroy();
  }

  #evictBusiest(): void {
    let busiest: Set<Pending> | undefined;
    for (const set of this.#bySource.values()) {
      if (busiest === undefined || set.size > busiest.size) busiest = set;
    }
    if (busiest !== undefined) this.#evict(busiest);
  }

  #drop(pending: Pending): void {
    if (this.#byKey.get(pending.key) !== pending) return;
    clearTimeout(pending.timer);
    this.#byKey.delete(pending.key);
    const set = this.#bySource.get(pending.source);
    set?.delete(pending);
    if (set?.size === 0) this.#bySource.delete(pending.source);
  }
}
