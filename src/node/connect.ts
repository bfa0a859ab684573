/**
 * How this node reaches a node's chunks: its own stores, or a trusted peer over the pinned transport
 * (through the peer pool, at the peer's current addresses). Used by jobs and by check.
 */
import { ArozError } from '../errors.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { ChunkStore } from '../store/types.ts';
import type { Connect } from '../transfer/types.ts';
import type { PeerPool } from '../transport/pool.ts';
import { RemoteStore } from '../transport/remote-store.ts';

/** What a connector needs: this node, its stores, whom it trusts, and its sessions to peers. */
export interface ConnectParts {
  nodeUuid: string;
  stores: ChunkStore;
  trust: Pick<TrustStore, 'get' | 'list'>;
  pool: Pick<PeerPool, 'session'>;
}

/** Connects to a node's chunks; every request to a peer takes `idleMs` without progress at most. */
export function connector(parts: ConnectParts, idleMs: number | undefined): Connect {
  return async (nodeUuid: string, signal: AbortSignal): Promise<ChunkStore> => {
    if (nodeUuid === parts.nodeUuid) return parts.stores;
    if (parts.trust.get(nodeUuid) === undefined) {
      throw new ArozError('ERR_PEER_NOT_FOUND', `Node "${nodeUuid}" is not a trusted peer of this node`);
    }
    const session = await parts.pool.session(nodeUuid, { signal });
    return new RemoteStore(session, nodeUuid, {
      self: parts.nodeUuid,
      ...(idleMs !== undefined ? { idleMs } : {}),
    });
  };
}
