/**
 * A pinned peer as every surface shows it (src/ops/types.ts `PeerView`): one shape for NodeOps and
 * for the CLI when it reads the trust store itself, with no daemon running.
 */
import type { PinnedPeer } from '../keys/trust-store.ts';
import type { PeerView } from '../ops/types.ts';

export function peerView(peer: PinnedPeer): PeerView {
  return {
    nodeUuid: peer.nodeUuid,
    label: peer.label,
    bits: peer.bits,
    fingerprint: peer.fingerprint,
    addedAt: peer.addedAt ?? null,
  };
}
