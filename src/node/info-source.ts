/**
 * What `GET /v1/node` answers (src/transport/node-info.ts): this node's name and version, its stores,
 * trash, scrub and last orphan figures. Store status (a marker read and a statfs per store, through
 * the libuv pool that transfers keep busy) is shared by the calls of one second, so status requests
 * stay fast during a job; puts still check the marker themselves every time.
 */
import type { NodeHome } from '../home/open.ts';
import type { StoreSet } from '../store/store-set.ts';
import type { StoreStatus } from '../store/types.ts';
import type { NodeInfo, NodeOrphans } from '../transport/node-info.ts';
import { VERSION } from '../version.ts';
import type { Scrubber } from './scrub.ts';
import type { TrashPurger } from './trash-purge.ts';

const STATUS_CACHE_MS = 1_000;

export function nodeInfoSource(parts: {
  home: NodeHome;
  stores: StoreSet;
  trashPurge: TrashPurger;
  scrub: Scrubber;
  /** The last full repair pass's orphan figures, once there was one. */
  orphans: () => NodeOrphans | undefined;
}): () => Promise<NodeInfo> {
  let statuses: { at: number; pending: Promise<StoreStatus[]> } | undefined;
  return async (): Promise<NodeInfo> => {
    const now = Date.now();
    if (statuses === undefined || now - statuses.at > STATUS_CACHE_MS) {
      const pending = parts.stores.statuses();
      statuses = { at: now, pending };
      pending.catch(() => {
        if (statuses?.pending === pending) statuses = undefined;
      });
    }
    const stores = await statuses.pending;
    const online = stores.filter((s) => s.online);
    return {
      uuid: parts.home.config.nodeUuid,
      name: parts.home.config.name,
      version: VERSION,
      stores,
      trash: {
        chunks: online.reduce((n, s) => n + s.trash.chunks, 0),
        bytes: online.reduce((n, s) => n + s.trash.bytes, 0),
        graceSeconds: Math.round(parts.trashPurge.graceMs / 1000),
        purgedAt: parts.trashPurge.state.purgedAt,
      },
      scrub: parts.scrub.status({
        chunks: online.reduce((n, s) => n + (s.quarantine?.chunks ?? 0), 0),
        bytes: online.reduce((n, s) => n + (s.quarantine?.bytes ?? 0), 0),
      }),
      orphans: parts.orphans() ?? { collected: 0, kept: 0, at: null },
    };
  };
}
