/**
 * What a visible node is to this node, for `arozdfs cluster discover`. An announcement proves
 * nothing (anyone can copy a TXT record), so this is information for a person, never a decision:
 * only a pinned handshake says who is really there.
 *
 * - `self`: this very run of this node;
 * - `duplicate`: this node's UUID and key fingerprint from another instance — another machine is
 *   running this identity (a cloned disk?);
 * - `trusted`: a pinned peer's UUID announced with its pinned key's fingerprint;
 * - `mismatch`: a pinned UUID (or this node's own) announced with a different fingerprint — flagged:
 *   an impostor, or a peer that changed its key and must be paired again;
 * - `untrusted`: any other node (visible, but no key of it is pinned).
 */
import type { Announcement } from './mdns-packets.ts';
import { shortFingerprint } from './mdns-packets.ts';

export type Visibility = 'self' | 'duplicate' | 'trusted' | 'mismatch' | 'untrusted';

export interface ClassifyContext {
  self: { uuid: string; instance: string; fingerprint: string };
  /** Pinned peers by UUID (a TrustStore is one). */
  trust: { get(uuid: string): { fingerprint: string } | undefined };
}

export function classify(
  announcement: Pick<Announcement, 'uuid' | 'instance' | 'fingerprintShort'>,
  context: ClassifyContext,
): Visibility {
  const { self, trust } = context;
  if (announcement.uuid === self.uuid) {
    if (announcement.fingerprintShort !== shortFingerprint(self.fingerprint)) return 'mismatch';
    return announcement.instance === self.instance ? 'self' : 'duplicate';
  }
  const pinned = trust.get(announcement.uuid);
  if (pinned === undefined) return 'untrusted';
  return announcement.fingerprintShort === shortFingerprint(pinned.fingerprint) ? 'trusted' : 'mismatch';
}
