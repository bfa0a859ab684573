/**
 * How this node reaches a node's chunks: its own stores, or a trusted peer over the pinned transport
 * (through the peer pool, at the peer's current addresses). Used by jobs and by check.
 */
import type { Verify } from '../check/index.ts';
import { ArozError } from '../errors.ts';
import type { TrustStore } from '../keys/trust-store.ts';
import type { ChunkStore } from '../store/types.ts';
import { verifyCopy } from '../store/verify-copy.ts';
import type { Connect } from '../transfer/types.ts';
import type { PeerPool } from '../transport/pool.ts';
import { RemoteStore } from '../transport/remote-store.ts';
import { askVerify, TASK_MIN_RATE } from '../transport/tasks.ts';

/** What a connector needs: this node, its stores, whom it trusts, and its sessions to peers. */
export interface ConnectParts {
  nodeUuid: string;
  stores: ChunkStore;
  trust: Pick<TrustStore, 'get' | 'list'>;
  /** Sessions to peers, and bulk lanes for chunk reads (docs/protocol.md, "Bulk reads"). */
  pool: Pick<PeerPool, 'session' | 'lane' | 'bulkRefused' | 'renewed'>;
}

/** Connects to a node's chunks; every request to a peer takes `idleMs` without progress at most. */
export function connector(parts: ConnectParts, idleMs: number | undefined): Connect {
  return async (nodeUuid: string, signal: AbortSignal): Promise<ChunkStore> => {
    if (nodeUuid === parts.nodeUuid) return parts.stores;
    if (parts.trust.get(nodeUuid) === undefined) {
      throw new ArozError('ERR_PEER_NOT_FOUND', `Node "${nodeUuid}" is not a trusted peer of this node`);
    }
    const { pool } = parts;
    const session = await pool.session(nodeUuid, { signal });
    return new RemoteStore(session, nodeUuid, {
      self: parts.nodeUuid,
      ...(idleMs !== undefined ? { idleMs } : {}),
      bulk: {
        lane: (s) => pool.lane(nodeUuid, s !== undefined ? { signal: s } : {}),
        refused: () => pool.bulkRefused(nodeUuid),
      },
      renew: (old, s) => pool.renewed(nodeUuid, old, s !== undefined ? { signal: s } : {}),
    });
  };
}

/**
 * Has a node hash its own copy of a chunk: this node's stores directly, a trusted peer through a
 * `verify` task (no chunk byte crosses the network). Waits at most `timeoutMs` plus the copy's
 * bytes at TASK_MIN_RATE: a hung holder costs a check seconds, not minutes.
 */
export function verifier(parts: ConnectParts, timeoutMs: number): Verify {
  return async (nodeUuid, chunk, signal) => {
    const expect = { sha256: chunk.sha256, size: chunk.size };
    if (nodeUuid === parts.nodeUuid) {
      const v = await verifyCopy(parts.stores, chunk.uuid, expect, { signal });
      return { state: v.state, recorded: v.recorded ?? null, actual: v.actual };
    }
    if (parts.trust.get(nodeUuid) === undefined) {
      throw new ArozError('ERR_PEER_NOT_FOUND', `Node "${nodeUuid}" is not a trusted peer of this node`);
    }
    const peer = { uuid: nodeUuid, session: (s: AbortSignal) => parts.pool.session(nodeUuid, { signal: s }) };
    const ms = timeoutMs + Math.ceil((chunk.size / TASK_MIN_RATE) * 1000);
    return askVerify(peer, { chunk: chunk.uuid, ...expect }, { signal, timeoutMs: ms });
  };
}
