/**
 * The rebuild task, the asking side (docs/protocol.md "Tasks"): a node asks a trusted peer to make
 * one lost shard of an erasure-coded chunk. The peer reads K other shards of the chunk from their
 * holders, decodes the lost one stripe by stripe and keeps it; the bytes go holders → peer, never
 * through the asking node. One `POST /v1/tasks/rebuild`; a node that predates it answers
 * ERR_ROUTE_NOT_FOUND.
 */
import { ArozError } from '../errors.ts';
import { post, type TaskOptions, type TaskPeer, taskTimeoutMs } from './tasks.ts';

export const REBUILD_PATH = '/v1/tasks/rebuild';
/** The body of a rebuild task may be larger than that of a copy (it lists every shard's holders). */
export const MAX_REBUILD_BODY = 16 * 1024;

export interface RebuildSource {
  /** Shard number, UUID and SHA-256 (as the index says). */
  k: number;
  uuid: string;
  sha256: string;
  /** Nodes holding it, asked in this order (1 to 4). */
  from: string[];
}

export interface RebuildTask {
  /** The shard to make. */
  shard: { k: number; uuid: string; sha256: string; size: number };
  /** K and M of the code. */
  data: number;
  parity: number;
  /** Bytes of the chunk: the stripe layout of its shards follows from it. */
  chunkSize: number;
  /** Other shards of the chunk, best first; any K of them rebuild the shard (1 to 16). */
  sources: RebuildSource[];
}

export interface RebuildAnswer {
  chunk: string;
  result: 'created' | 'exists';
  /** The nodes the K shards came from (empty for `exists`). */
  sources: string[];
  /** Bytes read from the sources. */
  bytes: number;
}

export async function askRebuild(
  peer: TaskPeer,
  task: RebuildTask,
  options: TaskOptions = {},
): Promise<RebuildAnswer> {
  const reads = task.shard.size * task.data;
  const value = await post(peer, REBUILD_PATH, task, options.timeoutMs ?? taskTimeoutMs(reads), options);
  const v = value as Partial<RebuildAnswer>;
  if (
    v.chunk !== task.shard.uuid ||
    (v.result !== 'created' && v.result !== 'exists') ||
    !Array.isArray(v.sources) ||
    !Number.isSafeInteger(v.bytes)
  ) {
    throw new ArozError(
      'ERR_BAD_REQUEST',
      `Node "${peer.uuid}" answered a rebuild task with a malformed answer`,
    );
  }
  return {
    chunk: task.shard.uuid,
    result: v.result,
    sources: v.sources as string[],
    bytes: v.bytes as number,
  };
}
