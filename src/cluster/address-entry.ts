/**
 * One candidate address of a trusted node, as the address book keeps it: how it was learnt, whether a
 * pinned handshake this node dialled ever succeeded there, and its failures with their backoff. Pure
 * data and ordering rules; the book (address-book.ts) applies them.
 *
 * Precedence, best first: `live` (a session this node dialled is open there) > `verified` (such a
 * session succeeded there before) > `record` (listed in the node's newest signed record) > `static`
 * (`--peer`) > hints (`mdns` announcement, `inbound` source address). Hints are never more than
 * something to try: they can cause a failed dial, nothing else.
 */
import type { HostPort } from './endpoint.ts';

/** How an address was learnt. `live` and `verified` are earned by dialling, never told. */
export type AddressSource = 'live' | 'verified' | 'record' | 'static' | 'mdns' | 'inbound';
/** The sources a caller can tell the book about (the rest are earned). */
export type LearntSource = 'record' | 'static' | 'mdns' | 'inbound';

export const SOURCE_RANK: Readonly<Record<AddressSource, number>> = {
  live: 5,
  verified: 4,
  record: 3,
  static: 2,
  mdns: 1,
  inbound: 1,
};

export interface AddressEntry {
  readonly host: string;
  readonly port: number;
  readonly learnt: Set<LearntSource>;
  /** Last successful pinned handshake this node dialled here (ms), if any. */
  verifiedAt: number | undefined;
  live: boolean;
  /** Last time any source mentioned this address (ms). */
  lastSeen: number;
  lastFailure: number | undefined;
  /** Consecutive failed dials. */
  failures: number;
  /** Not dialled again before this time (ms). */
  retryAt: number;
}

/** What the book shows of an address. */
export interface Candidate extends HostPort {
  /** The best way this address is known. */
  source: AddressSource;
  sources: AddressSource[];
  verified: boolean;
  live: boolean;
  lastSuccess: number | undefined;
  lastFailure: number | undefined;
  failures: number;
  retryAt: number;
  /** False while the address backs off after failures. */
  due: boolean;
}

function sourcesOf(entry: AddressEntry): AddressSource[] {
  const all: AddressSource[] = [...entry.learnt];
  if (entry.verifiedAt !== undefined) all.push('verified');
  if (entry.live) all.push('live');
  return all.sort((a, b) => SOURCE_RANK[b] - SOURCE_RANK[a] || a.localeCompare(b));
}

export function rankOf(entry: AddressEntry): number {
  if (entry.live) return SOURCE_RANK.live;
  if (entry.verifiedAt !== undefined) return SOURCE_RANK.verified;
  let best = 0;
  for (const source of entry.learnt) best = Math.max(best, SOURCE_RANK[source]);
  return best;
}

/** Known only from hints (never verified, never in a record or `--peer`). */
export function isHintOnly(entry: AddressEntry): boolean {
  return rankOf(entry) <= 1;
}

export function toCandidate(entry: AddressEntry, now: number): Candidate {
  const sources = sourcesOf(entry);
  return {
    host: entry.host,
    port: entry.port,
    source: sources[0] ?? 'mdns',
    sources,
    verified: entry.verifiedAt !== undefined,
    live: entry.live,
    lastSuccess: entry.verifiedAt,
    lastFailure: entry.lastFailure,
    failures: entry.failures,
    retryAt: entry.retryAt,
    due: entry.retryAt <= now,
  };
}

/**
 * Dialling order: addresses that are due before those backing off (which follow by when they are due
 * again); then by precedence; then fewer failures, more recent success, more recently mentioned.
 */
export function dialOrder(now: number): (a: AddressEntry, b: AddressEntry) => number {
  return (a, b) => {
    const aDue = a.retryAt <= now;
    const bDue = b.retryAt <= now;
    if (aDue !== bDue) return aDue ? -1 : 1;
    if (!aDue && a.retryAt !== b.retryAt) return a.retryAt - b.retryAt;
    return (
      rankOf(b) - rankOf(a) ||
      a.failures - b.failures ||
      (b.verifiedAt ?? 0) - (a.verifiedAt ?? 0) ||
      b.lastSeen - a.lastSeen
    );
  };
}

/** The entry to give up first when space is needed: lowest precedence, most failures, oldest. */
export function evictionOrder(a: AddressEntry, b: AddressEntry): number {
  return (
    rankOf(a) - rankOf(b) ||
    b.failures - a.failures ||
    (a.verifiedAt ?? a.lastSeen) - (b.verifiedAt ?? b.lastSeen)
  );
}

/** Exponential backoff after `failures` consecutive failures: base · 2^(failures − 1), capped. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 30));
}
