/**
 * Pairing hints (docs/pairing.md "Pairing hints"): nodes that completed a TLS handshake on the cluster
 * port presenting a valid node certificate whose key this node does not trust. Such a node dialled
 * this one, so it pins this node's UUID: it has paired with this computer, and a person may want to
 * pair back. A hint is only something to show: nothing is trusted from it (trust comes only from a
 * pasted key and a person's confirmation). Anyone can connect, so the list is bounded (at most
 * `MAX_HINTS`, oldest dropped), each entry expires, and new entries are rate-limited.
 */
import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { fingerprintOf } from '../keys/fingerprint.ts';
import { presentedNode } from '../transport/peer-identity.ts';

export const MAX_HINTS = 32;
/** A hint not refreshed by another handshake for this long is forgotten. */
export const HINT_TTL_MS = 15 * 60_000;
/** New hints (not refreshes) allowed per minute; more are dropped until the minute is over. */
export const NEW_HINTS_PER_MINUTE = 12;
/** An existing hint's `lastSeen` is refreshed at most this often (a retrying peer costs little). */
const REFRESH_MS = 5_000;

export interface PairingHint {
  nodeUuid: string;
  fingerprint: string;
  /** The client address the handshake came from. */
  address: string;
  firstSeen: string;
  lastSeen: string;
}

interface Entry {
  nodeUuid: string;
  fingerprint: string;
  address: string;
  first: number;
  last: number;
}

export interface PairingHintsOptions {
  /** This node's UUID (never a hint). */
  self: string;
  /** True when this node pins some key for `uuid` (a pinned UUID with another key is a mismatch, not a hint). */
  isKnown(uuid: string): boolean;
  now?: () => number;
}

export class PairingHints extends EventEmitter<{ change: [] }> {
  #options: PairingHintsOptions;
  #entries = new Map<string, Entry>();
  #windowStart = 0;
  #inWindow = 0;

  constructor(options: PairingHintsOptions) {
    super();
    this.#options = options;
  }

  #now(): number {
    return this.#options.now?.() ?? Date.now();
  }

  /** A socket the pin check refused (NodeServer's `onRefused`). Never throws. */
  refused(socket: TLSSocket): void {
    let node: ReturnType<typeof presentedNode>;
    try {
      node = presentedNode(socket);
    } catch {
      return;
    }
    if (node === undefined) return;
    this.record(node.uuid, fingerprintOf(node.spki), socket.remoteAddress ?? 'unknown');
  }

  /** Records a handshake of `uuid` with the key of `fingerprint`; returns whether the list changed. */
  record(uuid: string, fingerprint: string, address: string): boolean {
    if (uuid === this.#options.self || this.#options.isKnown(uuid)) return false;
    const now = this.#now();
    this.#expire(now);
    const key = `${uuid} ${fingerprint}`;
    const known = this.#entries.get(key);
    if (known !== undefined) {
      if (now - known.last < REFRESH_MS) return false;
      known.last = now;
      known.address = address;
      this.#entries.delete(key); // newest last
      this.#entries.set(key, known);
      this.emit('change');
      return true;
    }
    if (now - this.#windowStart >= 60_000) {
      this.#windowStart = now;
      this.#inWindow = 0;
    }
    if (this.#inWindow >= NEW_HINTS_PER_MINUTE) return false;
    this.#inWindow++;
    if (this.#entries.size >= MAX_HINTS) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, { nodeUuid: uuid, fingerprint, address, first: now, last: now });
    this.emit('change');
    return true;
  }

  /** The hints now, newest first; nodes trusted since are left out. */
  list(): PairingHint[] {
    this.#expire(this.#now());
    return [...this.#entries.values()]
      .filter((e) => !this.#options.isKnown(e.nodeUuid))
      .reverse()
      .map((e) => ({
        nodeUuid: e.nodeUuid,
        fingerprint: e.fingerprint,
        address: e.address,
        firstSeen: new Date(e.first).toISOString(),
        lastSeen: new Date(e.last).toISOString(),
      }));
  }

  /** Forgets the hints of `uuid` (it was trusted). */
  forget(uuid: string): void {
    let changed = false;
    for (const [key, e] of this.#entries) {
      if (e.nodeUuid === uuid) {
        this.#entries.delete(key);
        changed = true;
      }
    }
    if (changed) this.emit('change');
  }

  #expire(now: number): void {
    for (const [key, e] of this.#entries) if (now - e.last > HINT_TTL_MS) this.#entries.delete(key);
  }
}
