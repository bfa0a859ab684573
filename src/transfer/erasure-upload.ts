/**
 * The erasure-coded upload (`uploadFile` with `ec`, docs/transfer.md "Erasure coding"): each chunk is
 * read once, in order, stripe by stripe (src/erasure/layout.ts); each stripe is hashed for the chunk
 * and the file, cut into K data units, encoded into M parity units, and every unit is handed to its
 * shard's writer at once. Shard p of chunk i goes where copy p would (the placement's target, then
 * its fallbacks), so the K + M shards of a chunk land on K + M distinct nodes. A shard whose node
 * fails is encoded again from the file for the next fallback alone (bytes that differ from the first
 * read: ERR_FILE_CHANGED). Memory: (K + M) stripe units (256 KiB each) per chunk being streamed.
 */
import { createHash } from 'node:crypto';
import { readFully } from '../chunk/copy.ts';
import { ReedSolomon, STRIPE_UNIT, shardSize, stripes } from '../erasure/index.ts';
import { ArozError, isArozError } from '../errors.ts';
import type { IndexChunk, IndexShard } from '../index-file/index.ts';
import type { ChunkWriter } from '../store/types.ts';
import { answerOf, formatAnswer, idle, isFatal, throwIfAborted } from './idle.ts';
import type { PlannedChunk } from './journal.ts';
import type { TransferProgress } from './types.ts';
import type { UploadContext } from './upload-chunk.ts';

/** How the chunks of one upload run: chunks finishing at once, the run's stop, its progress. */
export interface UploadProgressRun {
  parallel: number;
  stop: AbortController;
  onProgress: ((event: TransferProgress) => void) | undefined;
}

/** The name of shard `k` of the chunk named `chunk`: a v4 UUID from both, so a resumed run reuses it. */
export function shardUuid(chunk: string, k: number): string {
  const h = createHash('sha256').update(`arozdfs-shard\n${chunk}\n${k}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

interface ShardCopy {
  k: number;
  uuid: string;
  node: string | undefined;
  writer: ChunkWriter | undefined;
  failure: unknown;
  hash: ReturnType<typeof createHash>;
}

/** Streams every chunk as K + M shards; returns the index chunks and the file's SHA-256. */
export async function streamShards(
  ctx: UploadContext,
  planned: readonly PlannedChunk[],
  chunkSize: number,
  code: { data: number; parity: number },
  run: UploadProgressRun,
): Promise<{ chunks: IndexChunk[]; sha256: string }> {
  const { source, signal } = ctx;
  const rs = new ReedSolomon(code.data, code.parity);
  const doing = `Uploading "${ctx.path}"`;
  const fileHash = createHash('sha256');
  const stripe = Buffer.allocUnsafeSlow(code.data * STRIPE_UNIT);
  const parity = Array.from({ length: code.parity }, () => Buffer.allocUnsafeSlow(STRIPE_UNIT));
  const chunks: IndexChunk[] = [];
  const inFlight: Array<Promise<void>> = [];
  let failure: { err: unknown } | undefined;
  let done = 0;
  let chunksDone = 0;
  const progress = () =>
    run.onProgress?.({ phase: 'upload', done, total: source.size, chunksDone, chunks: planned.length });
  if (source.size > 0) progress();
  try {
    for (const plan of planned) {
      while (inFlight.length >= run.parallel) await inFlight.shift();
      if (failure !== undefined) throw failure.err;
      throwIfAborted(signal, doing);
      const offset = plan.i * chunkSize;
      const size = Math.min(chunkSize, source.size - offset);
      const up = new ShardUpload(ctx, rs, plan, offset, size);
      await up.openAll();
      const chunkHash = createHash('sha256');
      try {
        for (const s of stripes(size, code.data)) {
          throwIfAborted(signal, doing);
          const length = Math.min(size - s.chunkOffset, code.data * s.unit);
          const bytes = stripe.subarray(0, length);
          await readFully(source.fh, bytes, offset + s.chunkOffset, `"${ctx.path}"`, ctx.changed);
          chunkHash.update(bytes);
          fileHash.update(bytes);
          stripe.fill(0, length, code.data * s.unit);
          const data = Array.from({ length: code.data }, (_, k) =>
            stripe.subarray(k * s.unit, (k + 1) * s.unit),
          );
          const par = parity.map((p) => p.subarray(0, s.unit));
          rs.encode(data, par, s.unit);
          await up.fanOut([...data, ...par]);
          done += length;
          progress();
        }
      } catch (err) {
        up.abortAll(err);
        throw err;
      }
      const sha256 = chunkHash.digest('hex');
      const task = up
        .complete(sha256)
        .then((shards) => {
          chunks[plan.i] = { i: plan.i, offset, size, sha256, uuid: plan.uuid, shards };
          chunksDone++;
          progress();
        })
        .catch((err: unknown) => {
          failure ??= { err };
          run.stop.abort(err);
        });
      inFlight.push(task);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.err;
    return { chunks, sha256: fileHash.digest('hex') };
  } catch (err) {
    run.stop.abort(err);
    throw failure?.err ?? err;
  } finally {
    await Promise.all(inFlight);
  }
}

/** The K + M shards of one chunk during an upload. */
class ShardUpload {
  #ctx: UploadContext;
  #rs: ReedSolomon;
  #plan: PlannedChunk;
  #offset: number;
  #size: number;
  #list: readonly string[];
  #shards: ShardCopy[];
  /** Nodes holding or receiving a shard of this chunk, and nodes that failed it. */
  #taken = new Set<string>();
  #failed = new Set<string>();
  #answers: ReturnType<typeof answerOf>[] = [];

  constructor(ctx: UploadContext, rs: ReedSolomon, plan: PlannedChunk, offset: number, size: number) {
    this.#ctx = ctx;
    this.#rs = rs;
    this.#plan = plan;
    this.#offset = offset;
    this.#size = size;
    this.#list = ctx.lists(plan.i);
    this.#shards = Array.from({ length: rs.total }, (_, k) => ({
      k,
      uuid: shardUuid(plan.uuid, k),
      node: undefined,
      writer: undefined,
      failure: undefined,
      hash: createHash('sha256'),
    }));
  }

  get #shardSize(): number {
    return shardSize(this.#size, this.#rs.data);
  }

  async openAll(): Promise<void> {
    const planned = this.#ctx.redundancy.targets(this.#list, 0, this.#ctx.shift);
    for (const node of planned) this.#taken.add(node);
    const opened = await Promise.allSettled(this.#shards.map((s) => this.#open(s, planned[s.k])));
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed !== undefined) {
      this.abortAll(failed.reason);
      throw failed.reason;
    }
  }

  /** Opens a writer for shard `s` on `first` or the next fallback that takes it. */
  async #open(s: ShardCopy, first: string | undefined): Promise<void> {
    const { shift, redundancy, nodes } = this.#ctx;
    const skip = (node: string) => this.#taken.has(node) || this.#failed.has(node) || nodes.isDead(node);
    const list = this.#list;
    // Lazy: shards fall back at once, and a node one of them took is skipped by the others.
    function* candidates() {
      if (first !== undefined && !nodes.isDead(first)) yield first;
      yield* redundancy.fallbacks(list, 0, s.k, shift, skip);
    }
    for (const node of candidates()) {
      this.#taken.add(node);
      let put: Promise<ChunkWriter> | undefined;
      try {
        const store = await nodes.store(node);
        put = store.beginPut(s.uuid, {
          size: this.#shardSize,
          meta: { ...this.#ctx.meta, i: this.#plan.i },
          signal: this.#ctx.signal,
        });
        s.writer = await this.#idle(put, node);
        s.node = node;
        s.failure = undefined;
        return;
      } catch (err) {
        void put?.then((late) => late.abort(err)).catch(() => {});
        this.#fail(s, node, err);
      }
    }
    const stored = this.#shards.filter((x) => x.node !== undefined).length;
    throw new ArozError(
      'ERR_NOT_ENOUGH_NODES',
      `Cannot upload "${this.#ctx.path}": no node could take shard ${s.k} of chunk ${this.#plan.i} (${stored} of ${this.#rs.total} shards placed; each needs a node of its own); ${this.#answers.map(formatAnswer).join('; ') || 'no other node to try'}`,
    );
  }

  #fail(s: ShardCopy, node: string, err: unknown): void {
    if (isFatal(err, this.#ctx.signal) || isArozError(err, 'ERR_FILE_CHANGED')) throw err;
    const answer = answerOf(err, { i: this.#plan.i, uuid: s.uuid, node });
    this.#taken.delete(node);
    this.#failed.add(node);
    this.#answers.push(answer);
    this.#ctx.nodes.failed(node, err);
    this.#ctx.notice({ type: 'copy-moved', pass: s.k, ...answer });
  }

  /** Hands piece k to shard k's writer, for every shard still alive. Never rejects. */
  async fanOut(pieces: readonly Buffer[]): Promise<void> {
    await Promise.all(
      this.#shards.map(async (s) => {
        const piece = pieces[s.k]!;
        s.hash.update(piece);
        if (s.failure !== undefined || s.writer === undefined) return;
        try {
          await this.#idle(s.writer.write(piece), s.node!, s.writer);
        } catch (err) {
          s.failure ??= err;
          void s.writer.abort(err).catch(() => {});
        }
      }),
    );
  }

  abortAll(reason: unknown): void {
    for (const s of this.#shards) void s.writer?.abort(reason).catch(() => {});
  }

  /** Finishes every shard (re-sending failed ones to a fallback); the index's shards. */
  async complete(chunkSha256: string): Promise<IndexShard[]> {
    const size = this.#shardSize;
    return Promise.all(
      this.#shards.map(async (s): Promise<IndexShard> => {
        const sha256 = s.hash.digest('hex');
        for (;;) {
          try {
            if (s.failure !== undefined) throw s.failure;
            const result = await this.#idle(s.writer!.finish(sha256), s.node!, s.writer);
            if (result === 'created') this.#ctx.created.push({ node: s.node!, uuid: s.uuid });
            return { k: s.k, size, sha256, uuid: s.uuid, holders: [{ node: s.node! }] };
          } catch (err) {
            void s.writer?.abort(err).catch(() => {});
            this.#fail(s, s.node!, err);
            await this.#open(s, undefined);
            try {
              await this.#resend(s, chunkSha256, sha256);
            } catch (again) {
              if (isFatal(again, this.#ctx.signal) || isArozError(again, 'ERR_FILE_CHANGED')) throw again;
              s.failure = again;
            }
          }
        }
      }),
    );
  }

  /** Encodes shard s again from the file and streams it to its new writer. */
  async #resend(s: ShardCopy, chunkSha256: string, shardSha256: string): Promise<void> {
    const { data } = this.#rs;
    const stripe = Buffer.allocUnsafeSlow(data * STRIPE_UNIT);
    const out = Buffer.allocUnsafeSlow(STRIPE_UNIT);
    const chunkHash = createHash('sha256');
    const hash = createHash('sha256');
    for (const st of stripes(this.#size, data)) {
      throwIfAborted(this.#ctx.signal, `Uploading "${this.#ctx.path}"`);
      const length = Math.min(this.#size - st.chunkOffset, data * st.unit);
      const bytes = stripe.subarray(0, length);
      await readFully(
        this.#ctx.source.fh,
        bytes,
        this.#offset + st.chunkOffset,
        `"${this.#ctx.path}"`,
        this.#ctx.changed,
      );
      chunkHash.update(bytes);
      stripe.fill(0, length, data * st.unit);
      const pieces = Array.from({ length: data }, (_, k) => stripe.subarray(k * st.unit, (k + 1) * st.unit));
      let piece: Buffer;
      if (s.k < data) piece = pieces[s.k]!;
      else {
        piece = out.subarray(0, st.unit);
        this.#rs.rebuild(
          pieces.map((_, k) => k),
          pieces,
          [s.k],
          [piece],
          st.unit,
        );
      }
      hash.update(piece);
      await this.#idle(s.writer!.write(piece), s.node!, s.writer);
    }
    if (chunkHash.digest('hex') !== chunkSha256 || hash.digest('hex') !== shardSha256)
      throw this.#ctx.changed();
  }

  #idle<T>(work: Promise<T>, node: string, writer?: ChunkWriter): Promise<T> {
    const ms = this.#ctx.idleMs;
    return idle(work, {
      ms,
      signal: this.#ctx.signal,
      doing: `Uploading "${this.#ctx.path}"`,
      timeout: () =>
        new ArozError(
          'ERR_TIMEOUT',
          `Node "${node}" made no progress on chunk ${this.#plan.i} ("${this.#plan.uuid}") for ${ms} ms`,
        ),
      onTimeout: () => void writer?.abort().catch(() => {}),
    });
  }
}
