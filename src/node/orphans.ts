/**
 * The orphan walk of a repair pass (docs/repair.md "Orphans"): every copy in this node's own
 * listable stores that no live file references goes to the trash when `judgeOrphan` says so and its
 * uploader says now that it keeps no index of the file; copies of an uploader a person removed are
 * counted (`orphansKept`) and kept.
 */
import { debuglog } from 'node:util';
import { isProgrammingError } from '../errors.ts';
import type { HomePaths } from '../home/paths.ts';
import { storedObjects } from '../index-file/index.ts';
import type { RepairResult } from '../ops/jobs.ts';
import { judgeOrphan } from '../repair/index.ts';
import type { ChunkInfo } from '../store/types.ts';
import type { CatalogService } from './catalog-service.ts';
import type { ConnectParts } from './connect.ts';
import { askKept, keepsIndex } from './kept.ts';

const debug = debuglog('arozdfs');
/** UUIDs listed at once in the orphan walk. */
const ORPHAN_BATCH = 256;
/** How long an uploader has to say whether it keeps an index. */
const ASK_MS = 5_000;

/** What the walk needs of the repair service's parts (src/node/repair.ts `RepairOptions`). */
export interface OrphanParts extends ConnectParts {
  catalog: Pick<CatalogService, 'store' | 'syncedAt'>;
  /** This node's stores that can list their chunks (disk stores). */
  listable: () => readonly {
    id: string;
    chunksAfter(after: string, limit: number): Promise<string[]>;
    head(uuid: string): Promise<ChunkInfo | undefined>;
  }[];
  /** True while this node has an upload job not finished (queued or running). */
  uploading: () => boolean;
  /** An unreferenced copy younger than this stays. */
  orphanAgeMs: number;
  /** Where this node keeps the indexes it signed. */
  keptIndexes: HomePaths;
  log: (line: string) => void;
}

/**
 * The orphan walk (docs/repair.md "Orphans"): every copy in this node's own listable stores that no
 * live file references goes to the trash when `judgeOrphan` says so; copies of an uploader a person
 * removed are counted (`orphansKept`) and kept.
 */
export async function walkOrphans(
  options: OrphanParts,
  report: RepairResult,
  now: number,
  signal: AbortSignal,
): Promise<void> {
  const { catalog, trust, nodeUuid, stores } = options;
  const ownUploads = options.uploading();
  /** Per uploader and file: does the uploader still keep that index (asked once per pass)? */
  const kept = new Map<string, Promise<boolean>>();
  for (const store of options.listable()) {
    let after = '';
    for (;;) {
      signal.throwIfAborted();
      let batch: string[];
      try {
        batch = await store.chunksAfter(after, ORPHAN_BATCH);
      } catch (err) {
        if (isProgrammingError(err)) throw err;
        debug('repair: cannot list store %s: %s', store.id, (err as Error).message);
        break;
      }
      if (batch.length === 0) break;
      after = batch.at(-1) ?? after;
      for (const uuid of batch) {
        const info = await store.head(uuid).catch((err: unknown) => {
          if (isProgrammingError(err)) throw err;
          return undefined;
        });
        if (info === undefined) continue;
        const tombstone = info.indexId === undefined ? undefined : catalog.store.tombstoneOf(info.indexId);
        const index = info.indexId === undefined ? undefined : catalog.store.indexOf(info.indexId);
        const verdict = judgeOrphan({
          self: nodeUuid,
          uploader: info.uploader,
          storedAt: Date.parse(info.storedAt),
          now,
          ageMs: options.orphanAgeMs,
          tombstoned: tombstone !== undefined && tombstone.uploader === info.uploader,
          referenced:
            catalog.store.holdersOf(uuid).length > 0 ||
            (index?.chunks.some((c) => storedObjects(c).some((o) => o.uuid === uuid)) ?? false),
          trusted: info.uploader === nodeUuid || trust.get(info.uploader) !== undefined,
          syncedAt: catalog.syncedAt(info.uploader),
          ownUploads,
        });
        if (verdict === 'removed') report.orphansKept++;
        if (verdict !== 'orphan') continue;
        if (tombstone === undefined || tombstone.uploader !== info.uploader) {
          // Unreferenced: only when its uploader says now that it keeps no index of that file.
          if (info.indexId === undefined) continue;
          const key = `${info.uploader}/${info.indexId}`;
          let keeps = kept.get(key);
          if (keeps === undefined) {
            keeps = askKeeps(options, info.uploader, info.indexId, signal);
            kept.set(key, keeps);
          }
          if (await keeps) continue;
        }
        try {
          await stores.delete(uuid, { by: info.uploader, signal });
          report.orphans++;
        } catch (err) {
          if (isProgrammingError(err) || signal.aborted) throw err;
          debug('repair: cannot trash orphan %s: %s', uuid, (err as Error).message);
        }
      }
      if (batch.length < ORPHAN_BATCH) break;
    }
  }
  if (report.orphans > 0)
    options.log(
      `Repair: ${report.orphans} cop${report.orphans === 1 ? 'y' : 'ies'} no live file references went to the trash.`,
    );
}

/** Whether `uploader` keeps its index of `file`; true when it cannot be asked now. */
async function askKeeps(
  options: OrphanParts,
  uploader: string,
  file: string,
  signal: AbortSignal,
): Promise<boolean> {
  if (uploader === options.nodeUuid) return keepsIndex(options.keptIndexes, file);
  const timeout = AbortSignal.any([signal, AbortSignal.timeout(ASK_MS)]);
  try {
    const session = await options.pool.session(uploader, { signal: timeout });
    return await askKept(session, uploader, file, timeout);
  } catch (err) {
    if (isProgrammingError(err) || signal.aborted) throw err;
    return true;
  }
}
