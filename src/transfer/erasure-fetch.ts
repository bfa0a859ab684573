/**
 * Fetching one erasure-coded chunk of a download (docs/transfer.md "Erasure coding"): K shards are
 * read — data shards first, each from its holders (those that failed earlier in this run last), then
 * parity shards for the data shards that could not be had — stripe by stripe. When all K are data
 * shards their units are written straight to their place in the partial file; otherwise the missing
 * data units are rebuilt from the K at hand. Every shard is hashed as it streams and the rebuilt chunk
 * too: a shard whose bytes are not what the index says is dropped (the attempt starts over without
 * it), and fewer than K good shards is ERR_DATA_LOST.
 */
import { createHash } from 'node:crypto';
import { alignedBuffers } from '../chunk/aligned.ts';
import { TAG_BYTES } from '../crypto/index.ts';
import { ReedSolomon, STRIPE_UNIT, stripes } from '../erasure/index.ts';
import { ArozError } from '../errors.ts';
import type { IndexChunk, IndexShard } from '../index-file/index.ts';
import type { ChunkReader } from '../store/types.ts';
import { type FetchContext, localFailures, noProgress } from './fetch.ts';
import { answerOf, formatAnswer, idle, isFatal, readFull, Watchdog } from './idle.ts';
import { type ChunkSink, type OpenKey, plainSink, sealedSink } from './sealed-fetch.ts';
import type { NodeAnswer } from './types.ts';

interface Source {
  shard: IndexShard;
  node: string;
  reader: ChunkReader;
  hash: ReturnType<typeof createHash>;
}

/** Fetches `chunk` (K + M shards) into the file; resolves with the nodes its shards came from. */
export async function fetchShardedChunk(
  ctx: FetchContext,
  chunk: IndexChunk,
  code: { data: number; parity: number },
  open?: OpenKey,
): Promise<string[]> {
  const rs = new ReedSolomon(code.data, code.parity);
  const shards = chunk.shards ?? [];
  /** `shard uuid / node` pairs that failed in this call: never tried again for this chunk. */
  const failed = new Set<string>();
  const answers: NodeAnswer[] = [];
  for (;;) {
    const sources = await openSources(ctx, chunk, shards, code.data, failed, answers);
    if (sources.length < code.data) {
      for (const s of sources) void s.reader.close().catch(() => {});
      throw lost(ctx.name, chunk, sources.length, code.data, answers);
    }
    let written = 0;
    try {
      const sink = open === undefined ? plainSink(ctx, chunk) : sealedSink(ctx, chunk, open);
      const stored = chunk.size + (open === undefined ? 0 : TAG_BYTES);
      await stream(ctx, chunk, stored, rs, sources, sink, (n) => {
        written += n;
        ctx.onBytes(n);
      });
      return sources.map((s) => s.node);
    } catch (err) {
      ctx.onBytes(-written);
      if (localFailures.has(err as object) || isFatal(err, ctx.signal)) throw err;
      const bad = (err as { source?: Source }).source;
      if (bad === undefined) throw err;
      failed.add(`${bad.shard.uuid}/${bad.node}`);
      const answer = answerOf(err, { i: chunk.i, uuid: bad.shard.uuid, node: bad.node });
      answers.push(answer);
      ctx.nodes.failed(bad.node, err);
      ctx.problems.push(answer);
      ctx.notice({ type: 'holder-failed', ...answer });
    } finally {
      for (const s of sources) void s.reader.close().catch(() => {});
    }
  }
}

/** Opens readers on up to K shards, data shards first, each from the first holder that answers. */
async function openSources(
  ctx: FetchContext,
  chunk: IndexChunk,
  shards: readonly IndexShard[],
  data: number,
  failed: Set<string>,
  answers: NodeAnswer[],
): Promise<Source[]> {
  const sources: Source[] = [];
  const open = async (shard: IndexShard): Promise<Source | undefined> => {
    const holders = [
      ...new Set([...shard.holders.map((h) => h.node), ...(ctx.holdersOf?.(shard.uuid) ?? [])]),
    ].sort((a, b) => ctx.nodes.strikes(a) - ctx.nodes.strikes(b));
    for (const node of holders) {
      if (failed.has(`${shard.uuid}/${node}`)) continue;
      try {
        const store = await ctx.nodes.store(node);
        const getting = store.get(shard.uuid, { signal: ctx.signal });
        const reader = await wait(ctx, chunk, node, getting).catch((err: unknown) => {
          void getting.then((late) => late.close()).catch(() => {});
          throw err;
        });
        if (reader.length !== shard.size) {
          void reader.close().catch(() => {});
          throw new ArozError(
            'ERR_CHUNK_SIZE',
            `Node "${node}" holds shard ${shard.k} of chunk ${chunk.i} with ${reader.length} bytes; the index says ${shard.size}`,
          );
        }
        return { shard, node, reader, hash: createHash('sha256') };
      } catch (err) {
        if (isFatal(err, ctx.signal)) throw err;
        failed.add(`${shard.uuid}/${node}`);
        const answer = answerOf(err, { i: chunk.i, uuid: shard.uuid, node });
        answers.push(answer);
        ctx.nodes.failed(node, err);
        ctx.problems.push(answer);
        ctx.notice({ type: 'holder-failed', ...answer });
      }
    }
    return undefined;
  };
  // The K data shards at once (the cheap case: no decoding); then parity for those missing.
  const first = await Promise.all(shards.slice(0, data).map(open));
  for (const s of first) if (s !== undefined) sources.push(s);
  for (const shard of shards.slice(data)) {
    if (sources.length >= data) break;
    const s = await open(shard);
    if (s !== undefined) sources.push(s);
  }
  return sources;
}

/** Streams the chunk from K sources into the file; bytes written. A failing source is on the error. */
async function stream(
  ctx: FetchContext,
  chunk: IndexChunk,
  stored: number,
  rs: ReedSolomon,
  sources: readonly Source[],
  sink: ChunkSink,
  onBytes: (n: number) => void,
): Promise<void> {
  const k = rs.data;
  // Page-aligned, so each whole stripe unit goes to the file with O_DIRECT (src/chunk/writer.ts): a
  // buffered write's copy into fresh page-cache pages was most of an erasure-coded download's CPU.
  const have = sources.map((s) => s.shard.k);
  const wanted = Array.from({ length: k }, (_, d) => d).filter((d) => !have.includes(d));
  const [inputs, rebuilt] = [sources.length, wanted.length].map((n) => alignedBuffers(n, STRIPE_UNIT)) as [
    Buffer[],
    Buffer[],
  ];
  const chunkHash = createHash('sha256');
  for (const st of stripes(stored, k)) {
    await Promise.all(
      sources.map(async (s, j) => {
        const piece = inputs[j]!.subarray(0, st.unit);
        try {
          const n = await fill(ctx, chunk, s, piece);
          if (n < st.unit) {
            throw new ArozError(
              'ERR_CHUNK_SIZE',
              `Node "${s.node}" sent only part of shard ${s.shard.k} of chunk ${chunk.i} ("${s.shard.uuid}")`,
            );
          }
        } catch (err) {
          if (err instanceof Error) Object.assign(err, { source: s });
          throw err;
        }
        s.hash.update(piece);
      }),
    );
    if (wanted.length > 0) {
      rs.rebuild(
        have,
        inputs.map((b) => b.subarray(0, st.unit)),
        wanted,
        rebuilt.map((b) => b.subarray(0, st.unit)),
        st.unit,
      );
    }
    for (let d = 0; d < k; d++) {
      const j = have.indexOf(d);
      const piece = j >= 0 ? inputs[j]! : rebuilt[wanted.indexOf(d)]!;
      const start = Math.min(stored, st.chunkOffset + d * st.unit);
      const end = Math.min(stored, start + st.unit);
      if (end <= start) continue;
      const bytes = piece.subarray(0, end - start);
      chunkHash.update(bytes);
      await sink.write(bytes, start);
      onBytes(Math.max(0, Math.min(end, chunk.size) - start));
    }
  }
  for (const s of sources) {
    if (s.hash.digest('hex') !== s.shard.sha256) {
      throw Object.assign(
        new ArozError(
          'ERR_CHUNK_HASH',
          `Node "${s.node}" sent shard ${s.shard.k} of chunk ${chunk.i} ("${s.shard.uuid}") with another SHA-256: its copy is corrupted`,
        ),
        { source: s },
      );
    }
  }
  if (chunkHash.digest('hex') !== chunk.sha256) {
    throw new ArozError(
      'ERR_INDEX_MISMATCH',
      `Cannot download "${ctx.name}": chunk ${chunk.i} rebuilt from intact shards differs from the index; was the index edited?`,
    );
  }
  sink.end();
}

async function fill(ctx: FetchContext, chunk: IndexChunk, s: Source, into: Buffer): Promise<number> {
  const watch = new Watchdog(noProgress(ctx, chunk, s.node));
  try {
    return await readFull(s.reader, into, watch);
  } finally {
    watch.dispose();
  }
}

function wait<T>(ctx: FetchContext, chunk: IndexChunk, node: string, work: Promise<T>): Promise<T> {
  return idle(work, noProgress(ctx, chunk, node));
}

function lost(name: string, chunk: IndexChunk, good: number, data: number, answers: NodeAnswer[]): ArozError {
  return new ArozError(
    'ERR_DATA_LOST',
    `Cannot download "${name}": chunk ${chunk.i} ("${chunk.uuid}") has ${good} good shard${good === 1 ? '' : 's'} of the ${data} that rebuild it: ${answers.map(formatAnswer).join('; ') || 'no holder answered'}`,
  );
}

/** One ERR_DATA_LOST naming every chunk of a download that could not be rebuilt. */
export function dataLost(name: string, lostChunks: ReadonlyArray<{ i: number; err: ArozError }>): ArozError {
  const list = lostChunks
    .map((l) => l.i)
    .sort((a, b) => a - b)
    .join(', ');
  return new ArozError(
    'ERR_DATA_LOST',
    `Cannot download "${name}": chunk${lostChunks.length === 1 ? '' : 's'} ${list} cannot be rebuilt (fewer good shards than the data shards they need); ${lostChunks[0]?.err.message ?? ''}`,
    { cause: new AggregateError(lostChunks.map((l) => l.err)) },
  );
}
