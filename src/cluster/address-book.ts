/**
 * The address book: per trusted node UUID, the candidate addresses to dial (see address-entry.ts for
 * their sources and precedence), the node's newest verified address record, and whether it is online.
 * Pure logic with an injected clock: no I/O, no timers. Only trusted UUIDs have entries; everything
 * told about any other UUID is ignored, so no announcement or record can make the book grow.
 *
 * Rules: only `markSuccess` (a pinned handshake this node dialled) makes an address verified; hints
 * never evict or outrank a verified, recorded or static address; failing addresses back off, and a
 * hint that keeps failing is dropped; every node has a cap on entries and on hints.
 */

import { backoffMs, type Candidate, isHintOnly, type LearntSource } from './address-entry.ts';
import { AddressList } from './address-list.ts';
import type { VerifiedRecord } from './address-record.ts';
import { type DuplicateIdentity, DuplicateWatch } from './duplicate-watch.ts';
import { endpointKey, type HostPort, toEndpoint } from './endpoint.ts';

export const BOOK_LIMITS = {
  maxEntriesPerNode: 24,
  maxHintsPerNode: 4,
  maxStaticPerNode: 8,
  /** A hint not mentioned again for this long is forgotten. */
  hintTtlMs: 10 * 60_000,
  /** A hint-only address is dropped after this many failed dials in a row. */
  maxHintFailures: 3,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  /** An online node not heard from for this long counts as offline (3 heartbeats of 30 s). */
  offlineAfterMs: 90_000,
};
export type BookLimits = typeof BOOK_LIMITS;

export type NodeState = 'unknown' | 'online' | 'offline';
export type AcceptOutcome = 'accepted' | 'stale' | 'expired' | 'untrusted';

export interface AcceptResult {
  outcome: AcceptOutcome;
  /** Set when this record shows two runs of the node at once (see duplicate-watch.ts). */
  duplicate: DuplicateIdentity | undefined;
}

export interface StateChange {
  node: string;
  from: NodeState;
  to: NodeState;
}

export interface Resolution {
  node: string;
  state: NodeState;
  lastSeen: number | undefined;
  /** Candidate addresses in dialling order. */
  addresses: Candidate[];
  /** The node's newest verified record: what a peer answers to "where is this node?". */
  record: VerifiedRecord | undefined;
  duplicate: DuplicateIdentity | undefined;
}

interface NodeEntry {
  addresses: AddressList;
  record: VerifiedRecord | undefined;
  state: 'unknown' | 'online' | 'offline';
  lastSeen: number | undefined;
  duplicates: DuplicateWatch;
}

export interface AddressBookOptions {
  now?: () => number;
  limits?: Partial<BookLimits>;
}

export class AddressBook {
  readonly limits: BookLimits;
  #now: () => number;
  #nodes = new Map<string, NodeEntry>();
  #statics = new Map<string, HostPort[]>();

  constructor(options: AddressBookOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.limits = { ...BOOK_LIMITS, ...options.limits };
  }

  // --- which nodes ---------------------------------------------------------------------------

  /** Starts keeping addresses for `uuid` (a pinned peer). Its `--peer` addresses apply at once. */
  trust(uuid: string): void {
    if (this.#nodes.has(uuid)) return;
    this.#nodes.set(uuid, {
      addresses: new AddressList(this.limits),
      record: undefined,
      state: 'unknown',
      lastSeen: undefined,
      duplicates: new DuplicateWatch(),
    });
    for (const endpoint of this.#statics.get(uuid) ?? []) this.#learn(uuid, endpoint, 'static');
  }

  /** Forgets everything about `uuid` (its key was removed); its `--peer` addresses are kept for later. */
  untrust(uuid: string): void {
    this.#nodes.delete(uuid);
  }

  /** Makes the trusted set exactly `uuids`. */
  setTrusted(uuids: Iterable<string>): void {
    const next = new Set(uuids);
    for (const uuid of [...this.#nodes.keys()]) if (!next.has(uuid)) this.untrust(uuid);
    for (const uuid of next) this.trust(uuid);
  }

  isTrusted(uuid: string): boolean {
    return this.#nodes.has(uuid);
  }

  nodes(): string[] {
    return [...this.#nodes.keys()].sort();
  }

  // --- what we are told ----------------------------------------------------------------------

  /** A `--peer UUID@host:port` address (host names allowed). Kept even before the UUID is trusted. */
  addStatic(uuid: string, address: HostPort): boolean {
    const endpoint = toEndpoint(address.host, address.port, { allowNames: true });
    if (endpoint === undefined) return false;
    const list = this.#statics.get(uuid) ?? [];
    if (!list.some((e) => endpointKey(e) === endpointKey(endpoint))) {
      if (list.length >= this.limits.maxStaticPerNode) return false;
      list.push(endpoint);
      this.#statics.set(uuid, list);
    }
    return this.#nodes.has(uuid) ? this.#learn(uuid, endpoint, 'static') : false;
  }

  /**
   * A hint: an mDNS announcement, or the source address of an inbound connection paired with a port
   * the node is known to listen on. Only something to try; ignored for an untrusted UUID.
   */
  addHint(uuid: string, address: HostPort, via: 'mdns' | 'inbound'): boolean {
    const endpoint = toEndpoint(address.host, address.port);
    return endpoint !== undefined && this.#learn(uuid, endpoint, via);
  }

  /**
   * A record that `verifyRecord` accepted. Only one with a higher seq than the newest seen replaces
   * it: its addresses become the node's `record` addresses (those it no longer lists lose that source).
   */
  accept(record: VerifiedRecord): AcceptResult {
    const node = this.#nodes.get(record.node);
    if (node === undefined) return { outcome: 'untrusted', duplicate: undefined };
    const now = this.#now();
    if (Date.parse(record.expiresAt) <= now) return { outcome: 'expired', duplicate: undefined };
    const duplicate = node.duplicates.observe(record, now);
    if (node.record !== undefined && record.seq <= node.record.seq) return { outcome: 'stale', duplicate };
    node.record = record;
    node.addresses.unlearnExcept('record', new Set(record.addresses.map(endpointKey)));
    for (const address of record.addresses) this.#learn(record.node, address, 'record');
    return { outcome: 'accepted', duplicate };
  }

  record(uuid: string): VerifiedRecord | undefined {
    return this.#nodes.get(uuid)?.record;
  }

  // --- what dialling taught us ---------------------------------------------------------------

  /** A pinned handshake this node dialled to `address` succeeded: the address is verified and live. */
  markSuccess(uuid: string, address: HostPort): void {
    const node = this.#nodes.get(uuid);
    const endpoint = toEndpoint(address.host, address.port, { allowNames: true });
    if (node === undefined || endpoint === undefined) return;
    const now = this.#now();
    const entry = node.addresses.verified(endpoint, now); // undefined only if every slot is live
    if (entry !== undefined) {
      Object.assign(entry, { verifiedAt: now, live: true, failures: 0, retryAt: 0, lastSeen: now });
    }
    this.markSeen(uuid);
  }

  /** A dial to `address` failed (refused, unreachable, wrong key): it backs off. */
  markFailure(uuid: string, address: HostPort): void {
    const node = this.#nodes.get(uuid);
    const endpoint = toEndpoint(address.host, address.port, { allowNames: true });
    const entry = endpoint === undefined ? undefined : node?.addresses.get(endpoint);
    if (node === undefined || endpoint === undefined || entry === undefined) return;
    const now = this.#now();
    entry.live = false;
    entry.failures += 1;
    entry.lastFailure = now;
    entry.retryAt = now + backoffMs(entry.failures, this.limits.backoffBaseMs, this.limits.backoffMaxMs);
    if (isHintOnly(entry) && entry.failures >= this.limits.maxHintFailures) node.addresses.delete(endpoint);
  }

  /** The session this node dialled to `address` closed (not a failure). */
  markClosed(uuid: string, address: HostPort): void {
    const endpoint = toEndpoint(address.host, address.port, { allowNames: true });
    const entry = endpoint && this.#nodes.get(uuid)?.addresses.get(endpoint);
    if (entry) entry.live = false;
  }

  /** The node proved itself (pinned handshake either way, heartbeat answer): it is online. */
  markSeen(uuid: string): StateChange | undefined {
    const node = this.#nodes.get(uuid);
    if (node === undefined) return undefined;
    const from = this.#stateOf(node);
    node.lastSeen = this.#now();
    node.state = 'online';
    return from === 'online' ? undefined : { node: uuid, from, to: 'online' };
  }

  /** A heartbeat or every dial failed: the node is offline. */
  markUnreachable(uuid: string): StateChange | undefined {
    const node = this.#nodes.get(uuid);
    if (node === undefined) return undefined;
    const from = this.#stateOf(node);
    node.state = 'offline';
    for (const entry of node.addresses.entries()) entry.live = false;
    return from === 'offline' ? undefined : { node: uuid, from, to: 'offline' };
  }

  // --- what we answer ------------------------------------------------------------------------

  state(uuid: string): NodeState {
    const node = this.#nodes.get(uuid);
    return node === undefined ? 'unknown' : this.#stateOf(node);
  }

  /** Candidate addresses of `uuid`, in dialling order (backing-off ones last). */
  candidates(uuid: string): Candidate[] {
    return this.#nodes.get(uuid)?.addresses.sorted(this.#now()) ?? [];
  }

  /** Just host and port of the candidates, for a dialler (`dueOnly`: skip those backing off). */
  endpoints(uuid: string, options: { dueOnly?: boolean } = {}): HostPort[] {
    return this.candidates(uuid)
      .filter((c) => options.dueOnly !== true || c.due)
      .map(({ host, port }) => ({ host, port }));
  }

  resolve(uuid: string): Resolution | undefined {
    const node = this.#nodes.get(uuid);
    if (node === undefined) return undefined;
    return {
      node: uuid,
      state: this.#stateOf(node),
      lastSeen: node.lastSeen,
      addresses: this.candidates(uuid),
      record: node.record,
      duplicate: node.duplicates.current,
    };
  }

  stats(): { nodes: number; addresses: number; hints: number } {
    let addresses = 0;
    let hints = 0;
    for (const node of this.#nodes.values()) {
      addresses += node.addresses.size;
      hints += node.addresses.hints;
    }
    return { nodes: this.#nodes.size, addresses, hints };
  }

  // --- inside --------------------------------------------------------------------------------

  #stateOf(node: NodeEntry): NodeState {
    if (node.state === 'online' && this.#now() - (node.lastSeen ?? 0) > this.limits.offlineAfterMs) {
      node.state = 'offline';
    }
    return node.state;
  }

  #learn(uuid: string, endpoint: HostPort, source: LearntSource): boolean {
    return this.#nodes.get(uuid)?.addresses.learn(endpoint, source, this.#now()) ?? false;
  }
}
