/**
 * mDNS/DNS-SD announce and browse for `_arozdfs._tcp` (multicast-dns underneath). A node announces
 * itself at start, twice, then every `announceIntervalMs`, answers queries for the service (at most
 * about once a second), says goodbye on close, and keeps a bounded table of what it hears. What it
 * hears are hints: this class never touches trust or addresses, it only reports.
 *
 * Where packets go: by default on every interface (the LAN, what a real node wants). With
 * `interface` set, multicast is sent only through that interface and the start fails if it cannot be
 * selected — it never falls back to the default route. Tests use `MDNS_LOOPBACK`.
 */
import { createSocket, type RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { debuglog } from 'node:util';
import type { Packet } from 'dns-packet';
import makeMdns from 'multicast-dns';
import { ArozError } from '../errors.ts';
import {
  type Announcement,
  announcementPacket,
  asksForUs,
  browsePacket,
  parseAnnouncements,
  type SelfAnnouncement,
} from './mdns-packets.ts';
import { type VisibleNode, VisibleTable } from './visible-table.ts';

const debug = debuglog('arozdfs');

/** mDNS on the loopback interface only: for tests and single-machine clusters. */
export const MDNS_LOOPBACK = { interface: '127.0.0.1', bind: '0.0.0.0' } as const;

export interface DiscoveryOptions {
  /** What to announce; without it the instance only browses. */
  self?: SelfAnnouncement;
  /** Address of the one interface to multicast on (default: every interface). */
  interface?: string;
  /** Address the UDP socket binds (default 0.0.0.0: binding a unicast address receives no multicast). */
  bind?: string;
  /** UDP port (default 5353; tests pick another so they never meet a real responder). */
  port?: number;
  announce?: boolean;
  browse?: boolean;
  /** TTL of our records in seconds (default 120). */
  ttlSeconds?: number;
  announceIntervalMs?: number;
  queryIntervalMs?: number;
  maxVisible?: number;
  maxPerNode?: number;
  /** Node UUIDs kept over others when the table is full (trusted peers). */
  keep?: (uuid: string) => boolean;
  now?: () => number;
}

export interface DiscoveryStats {
  /** Response packets received. */
  packets: number;
  /** Valid announcements in them. */
  announcements: number;
  /** Packets that failed to decode. */
  malformed: number;
  /** Table entries given up to make room. */
  evicted: number;
}

type State = 'new' | 'starting' | 'running' | 'closed';
type Mdns = ReturnType<typeof makeMdns>;

export class Discovery extends EventEmitter<{
  announcement: [Announcement];
  duplicate: [Announcement];
  warning: [Error];
}> {
  readonly stats: DiscoveryStats = { packets: 0, announcements: 0, malformed: 0, evicted: 0 };
  #options: DiscoveryOptions;
  #self: SelfAnnouncement | undefined;
  #now: () => number;
  #table: VisibleTable;
  #state: State = 'new';
  #mdns: Mdns | undefined;
  #timers: NodeJS.Timeout[] = [];
  #replyTimer: NodeJS.Timeout | undefined;
  #lastAnnounce = 0;
  #closing: Promise<void> | undefined;
  /** Aborted by close(): a start still waiting for the socket gives up. */
  #stop = new AbortController();

  constructor(options: DiscoveryOptions = {}) {
    super();
    this.#options = options;
    this.#self = options.self;
    this.#now = options.now ?? Date.now;
    this.#table = new VisibleTable({
      ...(options.maxVisible !== undefined ? { maxEntries: options.maxVisible } : {}),
      ...(options.maxPerNode !== undefined ? { maxPerNode: options.maxPerNode } : {}),
      ...(options.keep !== undefined ? { keep: options.keep } : {}),
    });
  }

  get state(): State {
    return this.#state;
  }

  /** Binds, announces and browses. Throws ERR_MDNS_UNAVAILABLE if mDNS cannot run here. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#state !== 'new') return;
    signal?.throwIfAborted();
    this.#state = 'starting';
    try {
      await this.#open(signal);
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.#state !== 'starting') return; // closed meanwhile
    this.#state = 'running';
    signal?.addEventListener('abort', () => void this.close(), { once: true });
    const o = this.#options;
    if (this.#self !== undefined && o.announce !== false) {
      this.announce();
      this.#later(1000, () => this.announce());
      this.#every(o.announceIntervalMs ?? 60_000, () => this.announce());
    }
    if (o.browse !== false) {
      this.query();
      this.#every(o.queryIntervalMs ?? 60_000, () => this.query());
    }
  }

  /** Live entries of the table, most recently heard last. */
  visible(): VisibleNode[] {
    return this.#table.list(this.#now());
  }

  /** Changes what is announced (the node's addresses changed) and announces it at once. */
  setSelf(self: SelfAnnouncement): void {
    this.#self = self;
    if (this.#state === 'running' && this.#options.announce !== false) this.announce();
  }

  announce(): void {
    if (this.#state !== 'running' || this.#self === undefined) return;
    this.#lastAnnounce = this.#now();
    this.#mdns?.respond(announcementPacket(this.#self, this.#options.ttlSeconds ?? 120), this.#sent);
  }

  /** Asks every node on the network to announce itself. */
  query(): void {
    if (this.#state === 'running') this.#mdns?.query(browsePacket(), this.#sent);
  }

  /** Says goodbye (if announcing) and closes the socket. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const wasRunning = this.#state === 'running';
    this.#state = 'closed';
    this.#stop.abort(new ArozError('ERR_INTERRUPTED', 'Discovery was closed while starting'));
    for (const timer of this.#timers) clearInterval(timer);
    clearTimeout(this.#replyTimer);
    const mdns = this.#mdns;
    if (mdns === undefined) return;
    if (wasRunning && this.#self !== undefined && this.#options.announce !== false) {
      await new Promise<void>((resolve) => mdns.respond(announcementPacket(this.#self!, 0), () => resolve()));
    }
    await new Promise<void>((resolve) => mdns.destroy(() => resolve()));
    this.#table.clear();
  }

  async #open(signal: AbortSignal | undefined): Promise<void> {
    const o = this.#options;
    const socket = createSocket({ type: 'udp4', reuseAddr: true });
    const iface = o.interface;
    const startupWarnings: Error[] = [];
    const onStartupWarning = (err: Error) => startupWarnings.push(err);
    const mdns = makeMdns({
      socket,
      port: o.port ?? 5353,
      bind: o.bind ?? '0.0.0.0',
      ...(iface !== undefined ? { interface: iface, ttl: iface.startsWith('127.') ? 1 : 255 } : {}),
    });
    this.#mdns = mdns;
    mdns.on('warning', onStartupWarning);
    const stop = AbortSignal.any([this.#stop.signal, ...(signal ? [signal] : [])]);
    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        stop.removeEventListener('abort', onAbort);
        reject(unavailable(`cannot listen on UDP port ${o.port ?? 5353}`, err));
      };
      const onAbort = () => {
        mdns.off('error', fail);
        reject(stop.reason);
      };
      stop.addEventListener('abort', onAbort, { once: true });
      mdns.once('error', fail);
      mdns.once('ready', () => {
        mdns.off('error', fail);
        stop.removeEventListener('abort', onAbort);
        resolve();
      });
    });
    mdns.off('warning', onStartupWarning);
    if (iface !== undefined) {
      const membership = startupWarnings.find(
        (e) => (e as NodeJS.ErrnoException).syscall === 'addMembership',
      );
      if (membership !== undefined) throw unavailable(`cannot join the mDNS group on "${iface}"`, membership);
      try {
        socket.setMulticastInterface(iface); // explicit: never leave the choice to the default route
      } catch (err) {
        throw unavailable(`cannot send multicast through "${iface}"`, err);
      }
    }
    mdns.on('warning', (err: Error) => {
      this.stats.malformed++;
      debug('mDNS: %s', err.message);
    });
    mdns.on('error', (err: Error) => this.emit('warning', err));
    mdns.on('response', (packet: Packet, rinfo: RemoteInfo) => this.#onResponse(packet, rinfo));
    mdns.on('query', (packet: Packet) => this.#onQuery(packet));
  }

  #onResponse(packet: Packet, rinfo: RemoteInfo): void {
    if (this.#state !== 'running') return;
    this.stats.packets++;
    const now = this.#now();
    for (const announcement of parseAnnouncements(packet, rinfo, now)) {
      this.stats.announcements++;
      this.#table.upsert(announcement, now);
      this.stats.evicted = this.#table.evicted;
      this.emit('announcement', announcement);
      const self = this.#self;
      if (self !== undefined && announcement.uuid === self.uuid && announcement.instance !== self.instance) {
        this.emit('duplicate', announcement);
      }
    }
  }

  /** Answers a query for our service after 20–120 ms, and at most about once a second. */
  #onQuery(packet: Packet): void {
    const self = this.#self;
    if (this.#state !== 'running' || self === undefined || this.#options.announce === false) return;
    if (this.#replyTimer !== undefined || !asksForUs(packet, self)) return;
    const wait = Math.max(0, this.#lastAnnounce + 1000 - this.#now()) + 20 + Math.floor(Math.random() * 100);
    this.#replyTimer = setTimeout(() => {
      this.#replyTimer = undefined;
      this.announce();
    }, wait).unref();
  }

  #sent = (err: Error | null): void => {
    if (err) this.emit('warning', err);
  };

  #every(ms: number, fn: () => void): void {
    this.#timers.push(setInterval(fn, ms).unref());
  }

  #later(ms: number, fn: () => void): void {
    this.#timers.push(setTimeout(fn, ms).unref());
  }
}

function unavailable(why: string, cause: unknown): ArozError {
  const detail = cause instanceof Error ? `: ${cause.message}` : '';
  return new ArozError('ERR_MDNS_UNAVAILABLE', `mDNS discovery is unavailable: ${why}${detail}`, { cause });
}
