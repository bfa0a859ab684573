/**
 * The upload of chunks that are not plain whole copies (docs/transfer.md "Erasure coding" and
 * docs/encryption.md): erasure-coded chunks (K data + M parity shards) and encrypted chunks (sealed
 * with the file key, as copies or as shards). Each chunk is read once, in order, through a
 * StoredStream (plain or sealed bytes) in units of 256 KiB; for shards each stripe of K units is
 * encoded into M parity units (src/erasure/layout.ts); every piece goes to its writer at once. Piece
 * p of chunk i goes where copy p would (the placement's target, then its fallbacks), so the pieces
 * of a chunk land on distinct nodes. A piece whose node fails is produced again from the file for
 * the next fallback alone (bytes that differ from the first read: ERR_FILE_CHANGED; a sealed chunk's
 * plain bytes are checked before anything is sealed again). Memory: (K + M) units per chunk streamed.
 */
import { createHash } from 'node:crypto';
import { alignedBuffers } from '../chunk/aligned.ts';
import { BufferRing } from '../chunk/ring.ts';
import { ReedSolomon, STRIPE_UNIT, shardSize, stripes } from '../erasure/index.ts';
import { ArozError, isArozError } from '../errors.ts';
import type { IndexChunk } from '../index-file/index.ts';
import type { ChunkWriter } from '../store/types.ts';
import { answerOf, formatAnswer, idle, isFatal, throwIfAborted } from './idle.ts';
import type { PlannedChunk } from './journal.ts';
import { type SealKey, StoredStream } from './stored-stream.ts';
import { PIECE, type TransferProgress } from './types.ts';
import type { UploadContext } from './upload-chunk.ts';

/** How the chunks of one upload run: chunks finishing at once, the run's stop, its progress. */
export interface UploadProgressRun {
  parallel: number;
  stop: AbortController;
  onProgress: ((event: TransferProgress) => void) | undefined;
}

/** What each chunk is stored as: K + M shards, or R whole (sealed) copies. */
export type PieceLayout = { kind: 'rs'; data: number; parity: number } | { kind: 'copies'; copies: number };

/** The name of shard `k` of the chunk named `chunk`: a v4 UUID from both, so a resumed run reuses it. */
export function shardUuid(chunk: string, k: number): string {
  const h = createHash('sha256').update(`arozdfs-shard\n${chunk}\n${k}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x40;
  h[8] = (h[8]! & 0x3f) | 0x80;
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

interface Piece {
  k: number;
  uuid: string;
  node: string | undefined;
  writer: ChunkWriter | undefined;
  failure: unknown;
  /** Of a shard: its own hash (copies share the chunk's). */
  hash: ReturnType<typeof createHash> | undefined;
}

/** Streams every chunk as its pieces; returns the index chunks and the file's (plain) SHA-256. */
export async function streamPieces(
  ctx: UploadContext,
  planned: readonly PlannedChunk[],
  chunkSize: number,
  layout: PieceLayout,
  seal: SealKey | undefined,
  run: UploadProgressRun,
): Promise<{ chunks: IndexChunk[]; sha256: string }> {
  const { source, signal } = ctx;
  const rs = layout.kind === 'rs' ? new ReedSolomon(layout.data, layout.parity) : undefined;
  const data = layout.kind === 'rs' ? layout.data : 1;
  const doing = `Uploading "${ctx.path}"`;
  // Two sets: the next stripe is read and encoded while the writes of the last one are in flight.
  // Page-aligned, so this node's own piece goes to its disk past the page cache as a receiver's
  // does (src/chunk/writer.ts): a buffered write copies every byte into fresh cache pages, which
  // these machines fault in slowly (docs/transfer.md, "Erasure coding").
  const stripeSets = alignedBuffers(2, rs === undefined ? PIECE : data * STRIPE_UNIT);
  const paritySets = [0, 1].map(() => alignedBuffers(rs?.parity ?? 0, STRIPE_UNIT));
  const chunks: IndexChunk[] = [];
  const inFlight: Array<Promise<void>> = [];
  let failure: { err: unknown } | undefined;
  let done = 0;
  let chunksDone = 0;
  const progress = () =>
    run.onProgress?.({ phase: 'upload', done, total: source.size, chunksDone, chunks: planned.length });
  if (source.size > 0) progress();
  // The ring's worker hashes the whole file while this thread seals, encodes and hashes pieces.
  await using ring = new BufferRing();
  try {
    for (const plan of planned) {
      while (inFlight.length >= run.parallel) await inFlight.shift();
      if (failure !== undefined) throw failure.err;
      throwIfAborted(signal, doing);
      const offset = plan.i * chunkSize;
      const size = Math.min(chunkSize, source.size - offset);
      const stream = new StoredStream({
        fh: source.fh,
        offset,
        size,
        i: plan.i,
        seal,
        name: `"${ctx.path}"`,
        changed: ctx.changed,
        ring,
      });
      const up = new PieceUpload(ctx, layout, rs, plan, offset, size, stream.length, seal);
      await up.openAll();
      const storedHash = createHash('sha256');
      const units =
        rs !== undefined
          ? [...stripes(stream.length, data)]
          : Array.from({ length: Math.ceil(stream.length / PIECE) }, (_, j) => ({
              chunkOffset: j * PIECE,
              unit: Math.min(PIECE, stream.length - j * PIECE),
            }));
      let writing: Promise<void> | undefined;
      try {
        for (const [j, s] of units.entries()) {
          throwIfAborted(signal, doing);
          const stripe = stripeSets[j % 2]!;
          const length = Math.min(stream.length - s.chunkOffset, data * s.unit);
          const bytes = stripe.subarray(0, length);
          await stream.read(bytes);
          done += Math.max(0, Math.min(length, size - s.chunkOffset));
          storedHash.update(bytes);
          let pieces: Buffer[];
          if (rs === undefined) pieces = [bytes];
          else {
            stripe.fill(0, length, data * s.unit);
            const dataUnits = Array.from({ length: data }, (_, k) =>
              stripe.subarray(k * s.unit, (k + 1) * s.unit),
            );
            const par = paritySets[j % 2]!.map((p) => p.subarray(0, s.unit));
            rs.encode(dataUnits, par, s.unit);
            pieces = [...dataUnits, ...par];
          }
          await writing; // the other set's writes: then this one's go out
          writing = up.fanOut(pieces);
          progress();
        }
        await writing;
      } catch (err) {
        await writing;
        up.abortAll(err);
        throw err;
      }
      const sha256 = storedHash.digest('hex');
      const task = up
        .complete(sha256)
        .then((stored) => {
          chunks[plan.i] =
            stored.kind === 'rs'
              ? { i: plan.i, offset, size, sha256, uuid: plan.uuid, shards: stored.shards }
              : { i: plan.i, offset, size, sha256, uuid: plan.uuid, holders: stored.holders };
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
    return { chunks, sha256: await ring.digest() };
  } catch (err) {
    run.stop.abort(err);
    throw failure?.err ?? err;
  } finally {
    await ring.settle();
    await Promise.all(inFlight);
  }
}

type Stored =
  | { kind: 'rs'; shards: NonNullable<IndexChunk['shards']> }
  | { kind: 'copies'; holders: NonNullable<IndexChunk['holders']> };

/** The pieces of one chunk during an upload. */
class PieceUpload {
  #ctx: UploadContext;
  #rs: ReedSolomon | undefined;
  #plan: PlannedChunk;
  #offset: number;
  #size: number;
  #stored: number;
  #seal: SealKey | undefined;
  #list: readonly string[];
  #pieces: Piece[];
  /** Nodes holding or receiving a piece of this chunk, and nodes that failed it. */
  #taken = new Set<string>();
  #failed = new Set<string>();
  #answers: ReturnType<typeof answerOf>[] = [];

  constructor(
    ctx: UploadContext,
    layout: PieceLayout,
    rs: ReedSolomon | undefined,
    plan: PlannedChunk,
    offset: number,
    size: number,
    stored: number,
    seal: SealKey | undefined,
  ) {
    this.#ctx = ctx;
    this.#rs = rs;
    this.#plan = plan;
    this.#offset = offset;
    this.#size = size;
    this.#stored = stored;
    this.#seal = seal;
    this.#list = ctx.lists(plan.i);
    const count = layout.kind === 'rs' ? layout.data + layout.parity : layout.copies;
    this.#pieces = Array.from({ length: count }, (_, k) => ({
      k,
      uuid: layout.kind === 'rs' ? shardUuid(plan.uuid, k) : plan.uuid,
      node: undefined,
      writer: undefined,
      failure: undefined,
      hash: layout.kind === 'rs' ? createHash('sha256') : undefined,
    }));
  }

  /** Bytes of each piece: a shard, or the whole stored chunk. */
  get #pieceSize(): number {
    return this.#rs === undefined ? this.#stored : shardSize(this.#stored, this.#rs.data);
  }

  #what(p: Piece): string {
    return this.#rs === undefined ? `copy ${p.k + 1}` : `shard ${p.k}`;
  }

  async openAll(): Promise<void> {
    const planned = this.#ctx.redundancy.targets(this.#list, 0, this.#ctx.shift);
    for (const node of planned) this.#taken.add(node);
    const opened = await Promise.allSettled(this.#pieces.map((p) => this.#open(p, planned[p.k])));
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed !== undefined) {
      this.abortAll(failed.reason);
      throw failed.reason;
    }
  }

  /** Opens a writer for piece `p` on `first` or the next fallback that takes it. */
  async #open(p: Piece, first: string | undefined): Promise<void> {
    const { shift, redundancy, nodes } = this.#ctx;
    const skip = (node: string) => this.#taken.has(node) || this.#failed.has(node) || nodes.isDead(node);
    const list = this.#list;
    // Lazy: pieces fall back at once, and a node one of them took is skipped by the others.
    function* candidates() {
      if (first !== undefined && !nodes.isDead(first)) yield first;
      yield* redundancy.fallbacks(list, 0, p.k, shift, skip);
    }
    for (const node of candidates()) {
      this.#taken.add(node);
      let put: Promise<ChunkWriter> | undefined;
      try {
        const store = await nodes.store(node);
        put = store.beginPut(p.uuid, {
          size: this.#pieceSize,
          meta: { ...this.#ctx.meta, i: this.#plan.i },
          signal: this.#ctx.signal,
        });
        p.writer = await this.#idle(put, node, undefined);
        p.node = node;
        p.failure = undefined;
        return;
      } catch (err) {
        void put?.then((late) => late.abort(err)).catch(() => {});
        this.#fail(p, node, err);
      }
    }
    const placed = this.#pieces.filter((x) => x.node !== undefined).length;
    throw new ArozError(
      'ERR_NOT_ENOUGH_NODES',
      `Cannot upload "${this.#ctx.path}": no node could take ${this.#what(p)} of chunk ${this.#plan.i} (${placed} of ${this.#pieces.length} placed; each needs a node of its own); ${this.#answers.map(formatAnswer).join('; ') || 'no other node to try'}`,
    );
  }

  #fail(p: Piece, node: string, err: unknown): void {
    if (isFatal(err, this.#ctx.signal) || isArozError(err, 'ERR_FILE_CHANGED')) throw err;
    const answer = answerOf(err, { i: this.#plan.i, uuid: p.uuid, node });
    this.#taken.delete(node);
    this.#failed.add(node);
    this.#answers.push(answer);
    this.#ctx.nodes.failed(node, err);
    this.#ctx.notice({ type: 'copy-moved', pass: p.k, ...answer });
  }

  /** Hands piece k to writer k (copies: the one piece to every writer). Never rejects. */
  async fanOut(pieces: readonly Buffer[]): Promise<void> {
    await Promise.all(
      this.#pieces.map(async (p) => {
        const piece = pieces[this.#rs === undefined ? 0 : p.k]!;
        p.hash?.update(piece);
        if (p.failure !== undefined || p.writer === undefined) return;
        try {
          await this.#idle(p.writer.write(piece), p.node!, p.writer);
        } catch (err) {
          p.failure ??= err;
          void p.writer.abort(err).catch(() => {});
        }
      }),
    );
  }

  abortAll(reason: unknown): void {
    for (const p of this.#pieces) void p.writer?.abort(reason).catch(() => {});
  }

  /** Finishes every piece (re-sending failed ones to a fallback); what the index records. */
  async complete(storedSha256: string): Promise<Stored> {
    const size = this.#pieceSize;
    const done = await Promise.all(
      this.#pieces.map(async (p) => {
        const sha256 = p.hash?.digest('hex') ?? storedSha256;
        for (;;) {
          try {
            if (p.failure !== undefined) throw p.failure;
            const result = await this.#idle(p.writer!.finish(sha256), p.node!, p.writer);
            if (result === 'created') this.#ctx.created.push({ node: p.node!, uuid: p.uuid });
            return { k: p.k, size, sha256, uuid: p.uuid, holders: [{ node: p.node! }] };
          } catch (err) {
            void p.writer?.abort(err).catch(() => {});
            this.#fail(p, p.node!, err);
            await this.#open(p, undefined);
            try {
              await this.#resend(p, storedSha256, sha256);
            } catch (again) {
              if (isFatal(again, this.#ctx.signal) || isArozError(again, 'ERR_FILE_CHANGED')) throw again;
              p.failure = again;
            }
          }
        }
      }),
    );
    if (this.#rs !== undefined) return { kind: 'rs', shards: done };
    return { kind: 'copies', holders: done.map((d) => d.holders[0]!) };
  }

  /** Produces piece p again from the file and streams it to its new writer. */
  async #resend(p: Piece, storedSha256: string, pieceSha256: string): Promise<void> {
    const name = `"${this.#ctx.path}"`;
    if (this.#seal !== undefined) {
      // Never seal other bytes under the same key and nonce: the chunk must seal to the same bytes
      // (the same plain bytes) before any of it goes out again.
      const check = new StoredStream({
        fh: this.#ctx.source.fh,
        offset: this.#offset,
        size: this.#size,
        i: this.#plan.i,
        seal: this.#seal,
        name,
        changed: this.#ctx.changed,
      });
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafeSlow(PIECE);
      for (let pos = 0; pos < check.length; pos += PIECE) {
        const view = buffer.subarray(0, Math.min(PIECE, check.length - pos));
        await check.read(view);
        hash.update(view);
      }
      if (hash.digest('hex') !== storedSha256) throw this.#ctx.changed();
    }
    const stream = new StoredStream({
      fh: this.#ctx.source.fh,
      offset: this.#offset,
      size: this.#size,
      i: this.#plan.i,
      seal: this.#seal,
      name,
      changed: this.#ctx.changed,
    });
    const data = this.#rs?.data ?? 1;
    const stripe = Buffer.allocUnsafeSlow(data * STRIPE_UNIT);
    const out = Buffer.allocUnsafeSlow(STRIPE_UNIT);
    const storedHash = createHash('sha256');
    const hash = createHash('sha256');
    const units =
      this.#rs === undefined
        ? Array.from({ length: Math.ceil(stream.length / STRIPE_UNIT) }, (_, j) => ({
            chunkOffset: j * STRIPE_UNIT,
            unit: Math.min(STRIPE_UNIT, stream.length - j * STRIPE_UNIT),
          }))
        : [...stripes(stream.length, data)];
    for (const st of units) {
      throwIfAborted(this.#ctx.signal, `Uploading "${this.#ctx.path}"`);
      const length = Math.min(stream.length - st.chunkOffset, data * st.unit);
      const bytes = stripe.subarray(0, length);
      await stream.read(bytes);
      storedHash.update(bytes);
      let piece: Buffer;
      if (this.#rs === undefined) piece = bytes;
      else {
        stripe.fill(0, length, data * st.unit);
        const pieces = Array.from({ length: data }, (_, k) =>
          stripe.subarray(k * st.unit, (k + 1) * st.unit),
        );
        if (p.k < data) piece = pieces[p.k]!;
        else {
          piece = out.subarray(0, st.unit);
          this.#rs.rebuild(
            pieces.map((_, k) => k),
            pieces,
            [p.k],
            [piece],
            st.unit,
          );
        }
      }
      hash.update(piece);
      await this.#idle(p.writer!.write(piece), p.node!, p.writer);
    }
    if (storedHash.digest('hex') !== storedSha256 || hash.digest('hex') !== pieceSha256)
      throw this.#ctx.changed();
  }

  #idle<T>(work: Promise<T>, node: string, writer: ChunkWriter | undefined): Promise<T> {
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
