/**
 * The rebuild task, the doing side (docs/repair.md "Erasure-coded files"): this node makes one lost
 * shard of an erasure-coded chunk from K others. The sources are read stripe by stripe (data shards
 * first, as the asker listed them), each hashed as it streams; the lost shard's units are decoded
 * and written to this node's store, whose put checks the shard's SHA-256 at the end. A source whose
 * bytes are not what the index says fails the task (nothing is kept); the asker tries again on its
 * next pass. The new shard keeps the uploader, index id and position its sources recorded.
 */
import { createHash } from 'node:crypto';
import { ReedSolomon, STRIPE_UNIT, shardSize, stripes } from '../erasure/index.ts';
import { ArozError, isProgrammingError } from '../errors.ts';
import { checkChunkUuid, isSha256Hex } from '../store/checks.ts';
import type { ChunkReader, ChunkStore } from '../store/types.ts';
import type { Connect } from '../transfer/types.ts';
import type { RebuildAnswer, RebuildTask } from '../transport/rebuild-task.ts';
import { isUuid } from '../uuid.ts';

const bad = (what: string) => new ArozError('ERR_BAD_REQUEST', `A rebuild task ${what}`);

export function parseRebuild(body: Record<string, unknown>): RebuildTask {
  const { shard, data, parity, chunkSize, sources } = body as Record<string, unknown> & {
    shard: Record<string, unknown> | undefined;
  };
  const count = (v: unknown, min: number, max: number) =>
    Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max;
  if (!count(data, 1, 15) || !count(parity, 1, 16 - (data as number)))
    throw bad('needs 1 ≤ K, 1 ≤ M, K + M ≤ 16');
  if (!count(chunkSize, 1, 4 * 1024 ** 3 - 1)) throw bad('has no valid "chunkSize"');
  const K = data as number;
  const total = K + (parity as number);
  if (typeof shard !== 'object' || shard === null) throw bad('names no "shard"');
  const size = shardSize(chunkSize as number, K);
  if (!count(shard.k, 0, total - 1) || shard.size !== size || !isSha256Hex(shard.sha256)) {
    throw bad(`"shard" is not shard k < ${total} of ${size} bytes with a SHA-256`);
  }
  const uuid = checkChunkUuid(shard.uuid);
  if (!Array.isArray(sources) || sources.length === 0 || sources.length > 16)
    throw bad('must list 1 to 16 sources');
  const list = sources.map((s: unknown) => {
    const o = s as Record<string, unknown>;
    if (
      typeof o !== 'object' ||
      o === null ||
      !count(o.k, 0, total - 1) ||
      o.k === shard.k ||
      !isSha256Hex(o.sha256)
    )
      throw bad('lists a source that is not another shard of the chunk');
    const from = o.from;
    if (!Array.isArray(from) || from.length === 0 || from.length > 4 || !from.every((n) => isUuid(n)))
      throw bad('lists a source without 1 to 4 node UUIDs');
    return {
      k: o.k as number,
      uuid: checkChunkUuid(o.uuid),
      sha256: o.sha256 as string,
      from: [...new Set(from as string[])],
    };
  });
  if (new Set(list.map((s) => s.k)).size !== list.length) throw bad('lists a shard twice');
  return {
    shard: { k: shard.k as number, uuid, sha256: shard.sha256 as string, size },
    data: K,
    parity: parity as number,
    chunkSize: chunkSize as number,
    sources: list,
  };
}

interface Open {
  k: number;
  sha256: string;
  node: string;
  reader: ChunkReader;
  hash: ReturnType<typeof createHash>;
}

/** Makes the shard in `stores` from K sources reached through `connect`. */
export async function rebuildShard(
  self: string,
  stores: ChunkStore,
  connect: Connect,
  task: RebuildTask,
  signal: AbortSignal,
): Promise<RebuildAnswer> {
  const { shard } = task;
  const held = await stores.head(shard.uuid, { signal });
  if (held !== undefined) {
    if (held.sha256 !== shard.sha256 || held.size !== shard.size) {
      throw new ArozError('ERR_CHUNK_CONFLICT', `This node holds "${shard.uuid}" with other bytes`);
    }
    return { chunk: shard.uuid, result: 'exists', sources: [], bytes: 0 };
  }
  const rs = new ReedSolomon(task.data, task.parity);
  const open: Open[] = [];
  let failure: unknown;
  try {
    for (const source of task.sources) {
      if (open.length === task.data) break;
      for (const node of source.from) {
        if (node === self) continue;
        try {
          const store = await connect(node, signal);
          const reader = await store.get(source.uuid, { signal });
          if (reader.length !== shard.size) {
            void reader.close().catch(() => {});
            throw new ArozError(
              'ERR_CHUNK_SIZE',
              `Node "${node}" holds shard ${source.k} with ${reader.length} bytes, not ${shard.size}`,
            );
          }
          open.push({ k: source.k, sha256: source.sha256, node, reader, hash: createHash('sha256') });
          break;
        } catch (err) {
          if (isProgrammingError(err) || signal.aborted) throw err;
          failure = err;
        }
      }
    }
    if (open.length < task.data) {
      throw new ArozError(
        'ERR_DATA_LOST',
        `Only ${open.length} of the ${task.data} shards that rebuild shard ${shard.k} ("${shard.uuid}") could be read${failure instanceof Error ? `: ${failure.message}` : ''}`,
      );
    }
    const { uploader, indexId, i } = open[0]!.reader.info;
    await using writer = await stores.beginPut(shard.uuid, {
      size: shard.size,
      meta: { uploader, ...(indexId !== undefined ? { indexId } : {}), ...(i !== undefined ? { i } : {}) },
      signal,
    });
    const inputs = open.map(() => Buffer.allocUnsafeSlow(STRIPE_UNIT));
    const out = Buffer.allocUnsafeSlow(STRIPE_UNIT);
    const have = open.map((o) => o.k);
    for (const st of stripes(task.chunkSize, task.data)) {
      await Promise.all(
        open.map(async (o, j) => {
          const piece = inputs[j]!.subarray(0, st.unit);
          let n = 0;
          while (n < st.unit) {
            const got = await o.reader.read(piece.subarray(n));
            if (got === 0)
              throw new ArozError('ERR_CHUNK_SIZE', `Node "${o.node}" sent a short shard ${o.k}`);
            n += got;
          }
          o.hash.update(piece);
        }),
      );
      rs.rebuild(
        have,
        inputs.map((b) => b.subarray(0, st.unit)),
        [shard.k],
        [out.subarray(0, st.unit)],
        st.unit,
      );
      await writer.write(out.subarray(0, st.unit));
    }
    for (const o of open) {
      if (o.hash.digest('hex') !== o.sha256) {
        throw new ArozError(
          'ERR_CHUNK_HASH',
          `Node "${o.node}" sent shard ${o.k} with another SHA-256 than the index says`,
        );
      }
    }
    const result = await writer.finish(shard.sha256);
    return { chunk: shard.uuid, result, sources: open.map((o) => o.node), bytes: shard.size * open.length };
  } finally {
    for (const o of open) void o.reader.close().catch(() => {});
  }
}
