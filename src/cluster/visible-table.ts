/**
 * The bounded table of nodes seen on the network, one entry per (node UUID, instance). Anyone can
 * announce anything, so the table never holds more than `maxEntries` entries nor more than
 * `maxPerNode` instances of one UUID, entries expire when their announcement's TTL runs out, and when
 * it is full the least recently heard entry goes — one the caller wants kept (a trusted node) only
 * when nothing else can. A flood of fake announcements therefore costs a bounded amount of memory and
 * cannot push trusted nodes out. Pure, with the clock passed in.
 */
import type { Announcement } from './mdns-packets.ts';

export interface VisibleNode extends Announcement {
  firstSeen: number;
  expiresAt: number;
}

export interface VisibleTableOptions {
  maxEntries?: number;
  maxPerNode?: number;
  /** Entries to keep over others when the table is full (trusted node UUIDs). */
  keep?: (uuid: string) => boolean;
}

export type UpsertOutcome = 'added' | 'updated' | 'removed' | 'ignored';

export class VisibleTable {
  readonly maxEntries: number;
  readonly maxPerNode: number;
  #keep: (uuid: string) => boolean;
  /** Insertion order is recency: an entry heard again moves to the end. */
  #entries = new Map<string, VisibleNode>();
  #evicted = 0;

  constructor(options: VisibleTableOptions = {}) {
    this.maxEntries = options.maxEntries ?? 256;
    this.maxPerNode = options.maxPerNode ?? 4;
    this.#keep = options.keep ?? (() => false);
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Entries given up for room since the start. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Adds or refreshes an announcement; a TTL of 0 (goodbye) removes its entry. */
  upsert(announcement: Announcement, now: number): UpsertOutcome {
    const key = `${announcement.uuid}/${announcement.instance}`;
    const existing = this.#entries.get(key);
    if (announcement.ttl === 0) {
      return this.#entries.delete(key) ? 'removed' : 'ignored';
    }
    const entry: VisibleNode = {
      ...announcement,
      firstSeen: existing?.firstSeen ?? now,
      expiresAt: now + announcement.ttl * 1000,
    };
    this.#entries.delete(key);
    if (existing === undefined) this.#makeRoom(announcement.uuid, now);
    this.#entries.set(key, entry);
    return existing === undefined ? 'added' : 'updated';
  }

  /** Live entries, most recently heard last. */
  list(now: number): VisibleNode[] {
    this.#expire(now);
    return [...this.#entries.values()];
  }

  /** Instances currently announcing `uuid`. */
  instancesOf(uuid: string, now: number): VisibleNode[] {
    return this.list(now).filter((e) => e.uuid === uuid);
  }

  clear(): void {
    this.#entries.clear();
  }

  #expire(now: number): void {
    for (const [key, entry] of this.#entries) if (entry.expiresAt <= now) this.#entries.delete(key);
  }

  #makeRoom(uuid: string, now: number): void {
    const sameNode = [...this.#entries].filter(([, e]) => e.uuid === uuid);
    if (sameNode.length >= this.maxPerNode) this.#evict(sameNode[0]?.[0]);
    if (this.#entries.size < this.maxEntries) return;
    this.#expire(now);
    if (this.#entries.size < this.maxEntries) return;
    let victim: string | undefined;
    for (const [key, e] of this.#entries) {
      if (!this.#keep(e.uuid)) {
        victim = key;
        break;
      }
    }
    this.#evict(victim ?? this.#entries.keys().next().value);
  }

  #evict(key: string | undefined): void {
    if (key !== undefined && this.#entries.delete(key)) this.#evicted++;
  }
}
