/**
 * One trusted node's candidate addresses under the book's caps: at most `maxEntries`, of which at most
 * `maxHints` known only from hints. Room is made by evicting an entry of strictly lower precedence (a
 * hint may replace another hint: the one with most failures, else the oldest); a live address is never
 * evicted, so nothing a network says can push out an address a pinned handshake verified. Hints
 * nobody repeated for `hintTtlMs` are forgotten. Pure; the clock is passed in.
 */
import {
  type AddressEntry,
  type Candidate,
  dialOrder,
  evictionOrder,
  isHintOnly,
  type LearntSource,
  rankOf,
  toCandidate,
} from './address-entry.ts';
import { endpointKey, type HostPort } from './endpoint.ts';

export interface AddressListLimits {
  maxEntriesPerNode: number;
  maxHintsPerNode: number;
  hintTtlMs: number;
}

export class AddressList {
  #limits: AddressListLimits;
  #entries = new Map<string, AddressEntry>();

  constructor(limits: AddressListLimits) {
    this.#limits = limits;
  }

  get(endpoint: HostPort): AddressEntry | undefined {
    return this.#entries.get(endpointKey(endpoint));
  }

  entries(): IterableIterator<AddressEntry> {
    return this.#entries.values();
  }

  /** Adds or refreshes `endpoint` as learnt from `source`; false if there was no room for it. */
  learn(endpoint: HostPort, source: LearntSource, now: number): boolean {
    this.prune(now);
    const existing = this.get(endpoint);
    if (existing !== undefined) {
      existing.learnt.add(source);
      existing.lastSeen = now;
      return true;
    }
    const entry = newEntry(endpoint, now);
    entry.learnt.add(source);
    return this.insert(entry);
  }

  /** The entry for `endpoint`, created as verified if there is room for it. */
  verified(endpoint: HostPort, now: number): AddressEntry | undefined {
    const existing = this.get(endpoint);
    if (existing !== undefined) return existing;
    const entry = newEntry(endpoint, now);
    entry.verifiedAt = now; // ranks as verified while competing for room
    return this.insert(entry) ? entry : undefined;
  }

  /** Takes the `source` away from every entry not in `keep`; entries left with nothing go. */
  unlearnExcept(source: LearntSource, keep: ReadonlySet<string>): void {
    for (const [key, entry] of this.#entries) {
      if (keep.has(key) || !entry.learnt.delete(source)) continue;
      if (entry.learnt.size === 0 && entry.verifiedAt === undefined && !entry.live) this.#entries.delete(key);
    }
  }

  delete(endpoint: HostPort): void {
    this.#entries.delete(endpointKey(endpoint));
  }

  /** Candidates in dialling order. */
  sorted(now: number): Candidate[] {
    this.prune(now);
    return [...this.#entries.values()].sort(dialOrder(now)).map((entry) => toCandidate(entry, now));
  }

  get size(): number {
    return this.#entries.size;
  }

  get hints(): number {
    let count = 0;
    for (const entry of this.#entries.values()) if (isHintOnly(entry)) count++;
    return count;
  }

  /** Forgets hints nobody mentioned for `hintTtlMs`. */
  prune(now: number): void {
    for (const [key, entry] of this.#entries) {
      if (isHintOnly(entry) && !entry.live && now - entry.lastSeen > this.#limits.hintTtlMs) {
        this.#entries.delete(key);
      }
    }
  }

  /** Inserts `entry` if the caps allow, evicting one entry of lower precedence if needed. */
  insert(entry: AddressEntry): boolean {
    const all = [...this.#entries.values()];
    const hints = all.filter(isHintOnly);
    const incomingIsHint = isHintOnly(entry);
    const full =
      all.length >= this.#limits.maxEntriesPerNode ||
      (incomingIsHint && hints.length >= this.#limits.maxHintsPerNode);
    if (full) {
      const rank = rankOf(entry);
      const victim = (incomingIsHint ? hints : all.filter((e) => rankOf(e) < rank))
        .filter((e) => !e.live)
        .sort(evictionOrder)[0];
      if (victim === undefined) return false;
      this.#entries.delete(endpointKey(victim));
    }
    this.#entries.set(endpointKey(entry), entry);
    return true;
  }
}

function newEntry(endpoint: HostPort, now: number): AddressEntry {
  return {
    host: endpoint.host,
    port: endpoint.port,
    learnt: new Set(),
    verifiedAt: undefined,
    live: false,
    lastSeen: now,
    lastFailure: undefined,
    failures: 0,
    retryAt: 0,
  };
}
