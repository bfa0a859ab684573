/**
 * Repair, the pure part (docs/repair.md): which copies of a chunk still count, which node repairs it,
 * and where its new copies go. Every node decides the same from the same facts, without talking: the
 * repairer of a chunk is the lowest node UUID among its holders that are online with a good copy, and
 * new copies go where spread placement (src/placement) would put them among the online nodes that do
 * not hold the chunk and have room for it.
 *
 * Pure: no I/O, no clock. It never picks a node that holds (or may still hold) the chunk, nor one
 * without room for it.
 */
import { type NodeSpace, spreadLists } from '../placement/index.ts';

/** What is known of one holder's copy of a chunk. */
export type CopyState =
  /** Online, and its copy has the right SHA-256 and size. */
  | 'good'
  /** Online, and its copy is missing or differs (quarantined by scrub, say): it counts no more, at once. */
  | 'bad'
  /** Not reachable now, and not yet declared gone: its copy still counts (it may come back). */
  | 'away'
  /** Removed by a person, or unreachable for longer than the delay: its copy counts no more. */
  | 'gone';

export interface ChunkHolders {
  /** Copies the file's index asks for. */
  copies: number;
  /** Every node said to hold the chunk (index holders and holdings statements), with its state. */
  holders: ReadonlyMap<string, CopyState>;
}

export interface ChunkVerdict {
  /** Copies that count: good ones and those of nodes only away. */
  counted: number;
  /** New copies to make (0 when the chunk has enough). */
  missing: number;
  /** Online holders with a good copy, sorted: the sources of a new copy. */
  sources: string[];
  /** Who makes the new copies: the lowest UUID of `sources`; undefined when none is online. */
  repairer: string | undefined;
}

/** Counts a chunk's copies and names its repairer. */
export function judgeChunk(chunk: ChunkHolders): ChunkVerdict {
  const sources = [...chunk.holders].filter(([, s]) => s === 'good').map(([node]) => node);
  sources.sort();
  const counted = [...chunk.holders.values()].filter((s) => s === 'good' || s === 'away').length;
  return {
    counted,
    missing: Math.max(0, chunk.copies - counted),
    sources,
    repairer: sources[0],
  };
}

/**
 * Whether this node's copy of a chunk is an extra one to collect (docs/repair.md "Extra copies"): the
 * chunk has more good copies (online, checked now) than its index asks for, and this node is among the
 * `good − copies` holders with the highest UUIDs that hold it by a `holdings` statement only (not
 * listed by the index). Nodes that are away never count here, so a copy is never collected because a
 * node is only unreachable; every holder decides the same from the same facts, so exactly the extra
 * copies go.
 */
export function isExtraCopy(
  self: string,
  verdict: Pick<ChunkVerdict, 'sources'>,
  copies: number,
  indexHolders: ReadonlySet<string>,
): boolean {
  const extra = verdict.sources.length - copies;
  if (extra <= 0 || indexHolders.has(self)) return false;
  const removable = verdict.sources
    .filter((n) => !indexHolders.has(n))
    .sort()
    .reverse();
  return removable.slice(0, extra).includes(self);
}

/** What is known of each shard of an erasure-coded chunk: its holders, with their states. */
export interface ShardedChunk {
  /** K: shards that rebuild the chunk. */
  data: number;
  /** Per shard (in order), every node said to hold it. */
  shards: ReadonlyArray<ReadonlyMap<string, CopyState>>;
}

export interface ShardVerdict {
  /** Shards no holder counts for any more (good or away): to rebuild. */
  missing: number[];
  /** Per shard, its online holders with a good copy, sorted (sources of a rebuild). */
  sources: string[][];
  /** Shards with at least one good copy now. */
  good: number;
  /** Whether K shards are good, so the missing ones can be rebuilt now. */
  rebuildable: boolean;
  /** Who asks for the rebuilds: the lowest UUID among the good holders of any shard. */
  repairer: string | undefined;
}

/**
 * Judges an erasure-coded chunk (docs/repair.md "Erasure-coded files"): a shard counts while a holder
 * has it good or is only away; a shard no holder counts for is missing and is rebuilt from K good
 * shards. Every node decides the same repairer from the same facts.
 */
export function judgeShards(chunk: ShardedChunk): ShardVerdict {
  const sources = chunk.shards.map((holders) =>
    [...holders]
      .filter(([, s]) => s === 'good')
      .map(([node]) => node)
      .sort(),
  );
  const missing = chunk.shards.flatMap((holders, k) =>
    [...holders.values()].some((s) => s === 'good' || s === 'away') ? [] : [k],
  );
  const good = sources.filter((s) => s.length > 0).length;
  const repairer = sources.flat().sort()[0];
  return { missing, sources, good, rebuildable: good >= chunk.data, repairer };
}

/**
 * The nodes a new copy of chunk `i` of file `file` may go to, best first: the online nodes with room
 * for `size` bytes that are not in `exclude` (every node said to hold the chunk, whatever its state),
 * in the order spread placement gives them for this file and chunk (weighted by free space).
 */
export function newHolders(
  online: readonly NodeSpace[],
  exclude: ReadonlySet<string>,
  file: string,
  i: number,
  size: number,
): string[] {
  const room = online.filter((n) => !exclude.has(n.node) && n.free >= size && n.free > 0);
  if (room.length === 0) return [];
  return spreadLists(room, file, 1, 1)(i);
}

/** What the orphan rule (docs/repair.md "Orphans") knows of one copy on this node. */
export interface OrphanFacts {
  /** This node. */
  self: string;
  /** The copy's uploader, from its sidecar. */
  uploader: string;
  /** When the copy was written here (ms since the epoch, from its sidecar). */
  storedAt: number;
  now: number;
  /** The safety age (ms): an unreferenced copy younger than this stays. */
  ageMs: number;
  /** The catalog holds a tombstone of the sidecar's file id, by the sidecar's uploader. */
  tombstoned: boolean;
  /** The catalog references the chunk: a holder in the newest index or in a holdings statement. */
  referenced: boolean;
  /** The uploader is trusted here (pinned), or is this node. */
  trusted: boolean;
  /** When this node's last complete catalog sync with the uploader started (ms), if any. */
  syncedAt: number | undefined;
  /** This node has an upload job that is not finished (queued or running). */
  ownUploads: boolean;
}

/**
 * `orphan`: the copy goes to the trash; `removed`: an unreferenced copy of an uploader a person
 * removed, kept for a person to purge; `keep`: anything else, including every case where the node
 * that could still reference the copy is only unreachable or has not been heard from since.
 */
export type OrphanVerdict = 'orphan' | 'removed' | 'keep';

/** The orphan rule (docs/repair.md "Orphans"); pure. */
export function judgeOrphan(f: OrphanFacts): OrphanVerdict {
  if (f.tombstoned) return 'orphan';
  if (f.referenced) return 'keep';
  if (!f.trusted) return 'removed';
  if (!(f.now - f.storedAt >= f.ageMs)) return 'keep';
  if (f.uploader === f.self) return f.ownUploads ? 'keep' : 'orphan';
  return f.syncedAt !== undefined && f.syncedAt > f.storedAt ? 'orphan' : 'keep';
}
