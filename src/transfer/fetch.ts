/**
 * Fetching one chunk of a download into its place in the partial file: from its holders first (those
 * that failed earlier in this run last), then from every other online node. Each attempt streams the
 * chunk through two reused 1 MiB buffers — one is filled from the node while the other is written to
 * the file — hashing as it goes; a copy of the wrong size or hash, a refusal or a node that makes no
 * progress for `idleMs` moves on to the next source. Every failure is recorded as that node's answer.
 */
import type { BufferRing } from '../chunk/ring.ts';
import type { PieceWriter } from '../chunk/writer.ts';
import { ArozError, isArozError } from '../errors.ts';
import type { IndexChunk } from '../index-file/types.ts';
import { answerOf, formatAnswer, idle, isFatal, readFull, Watchdog } from './idle.ts';
import type { RunNodes } from './nodes.ts';
import { downloadRings } from './ring-pool.ts';
import type { NodeAnswer, RingLender, TransferNotice } from './types.ts';

export interface FetchContext {
  /** The file's name, quoted in messages. */
  name: string;
  /** The partial file, open for writing (whole aligned pieces past the page cache: chunk/writer.ts). */
  file: PieceWriter;
  nodes: RunNodes;
  onlineNodes: () => Iterable<string>;
  /** Nodes known to hold a chunk besides the index's holders (the catalog's holdings statements). */
  holdersOf?: (chunk: string) => Iterable<string>;
  idleMs: number;
  signal: AbortSignal;
  /** Failures of listed holders, for the result. */
  problems: NodeAnswer[];
  notice: (notice: TransferNotice) => void;
  /** Bytes written to the file (negative when a failed attempt's bytes no longer count). */
  onBytes: (delta: number) => void;
  /** The first `bytes` bytes of chunk `i` landed in the file (this attempt's; not verified yet). */
  onWritten?: (i: number, bytes: number) => void;
  /** An attempt at chunk `i` failed, and every write it made has landed: its bytes do not count. */
  onRestart?: (i: number) => void;
}

/**
 * Bytes of each of a fetch worker's two slots: one filled from the node while the other is written
 * and hashed. 512 KiB took 4 MiB off the downloader's peak against 1 MiB slots, at the same speed and
 * CPU (docs/transfer.md, "Smaller queues and rings"); a multiple of 4 KiB, so whole slots still go
 * to the file with O_DIRECT.
 */
export const FETCH_SLOT = 512 * 1024;
/**
 * A fetch worker's two 512 KiB buffers: a ring of 2 slots whose pieces the hash thread hashes (the
 * chunk hash) while they are written. From `lender` (a batch's pool: its files reuse the same rings;
 * else the rings the last downloads left, src/transfer/hash-lanes.ts). After a timeout they are given up: the
 * abandoned read may still fill them. Call `release` once no fetch uses them any more.
 */
export class FetchBuffers {
  #lender: RingLender;
  ring: BufferRing;

  constructor(lender: RingLender = downloadRings) {
    this.#lender = lender;
    this.ring = lender.borrow(2, FETCH_SLOT);
  }

  retire(): void {
    this.drop();
    this.ring = this.#lender.borrow(2, FETCH_SLOT);
  }

  /** Lets the ring go (a failed download): its lane is dropped, its memory never used again. */
  drop(): void {
    void this.#lender.giveBack(this.ring, false).catch(() => {});
  }

  /** Gives the ring back for the next download; only when nothing can still write into it. */
  release(): void {
    void this.#lender.giveBack(this.ring, !this.ring.failed).catch(() => {});
  }
}

/** Failures of our own output file: never a node's answer, always the end of the download. */
export const localFailures = new WeakSet<object>();

/**
 * A copy whose bytes match its holder's own record but not the index → the SHA-256 it has. When every
 * copy that came is such a copy, and all are alike, the index is what changed (ERR_INDEX_MISMATCH).
 */
const intactCopies = new WeakMap<object, string>();

/** Fetches `chunk` into the file; resolves with the node it came from. ERR_CHUNK_MISSING if none had it. */
export async function fetchChunk(
  ctx: FetchContext,
  chunk: IndexChunk,
  buffers: FetchBuffers,
): Promise<string> {
  const holders = [
    ...new Set([...(chunk.holders ?? []).map((h) => h.node), ...(ctx.holdersOf?.(chunk.uuid) ?? [])]),
  ];
  const tried = new Set<string>();
  const answers: NodeAnswer[] = [];
  const errors: unknown[] = [];
  const byStrikes = (nodes: string[]) =>
    nodes
      .map((node, k) => ({ node, k }))
      .sort((a, b) => ctx.nodes.strikes(a.node) - ctx.nodes.strikes(b.node) || a.k - b.k);
  const others = () => byStrikes([...new Set(ctx.onlineNodes())].filter((n) => !holders.includes(n)));
  for (const list of [() => byStrikes(holders), others]) {
    for (const { node } of list()) {
      if (tried.has(node)) continue;
      tried.add(node);
      try {
        await fetchFrom(ctx, chunk, node, buffers);
        return node;
      } catch (err) {
        if (localFailures.has(err as object) || isFatal(err, ctx.signal)) throw err;
        const answer = answerOf(err, { i: chunk.i, uuid: chunk.uuid, node });
        ctx.nodes.failed(node, err);
        answers.push(answer);
        errors.push(err);
        if (holders.includes(node)) {
          ctx.problems.push(answer);
          ctx.notice({ type: 'holder-failed', ...answer });
        }
      }
    }
  }
  throw disagreement(ctx.name, chunk, errors) ?? missing(ctx.name, chunk, holders, answers, errors);
}

/** ERR_INDEX_MISMATCH when the copies that came were all intact and alike, but not what the index says. */
function disagreement(name: string, chunk: IndexChunk, errors: unknown[]): ArozError | undefined {
  const came = errors.filter(
    (err) => isArozError(err, 'ERR_CHUNK_HASH') || isArozError(err, 'ERR_CHUNK_SIZE'),
  );
  const alike = new Set(came.map((err) => intactCopies.get(err as object)));
  const [sha256] = alike;
  if (came.length === 0 || alike.size !== 1 || sha256 === undefined) return undefined;
  return new ArozError(
    'ERR_INDEX_MISMATCH',
    `Cannot download "${name}": the index disagrees with every copy of chunk ${chunk.i}: ${came.length} node${came.length === 1 ? '' : 's'} sent the same intact bytes (SHA-256 "${sha256.slice(0, 12)}…"), the index says "${chunk.sha256.slice(0, 12)}…"; was the index edited?`,
    { cause: new AggregateError(errors, `Every copy of chunk ${chunk.i} differs from the index`) },
  );
}

function missing(
  name: string,
  chunk: IndexChunk,
  holders: string[],
  answers: NodeAnswer[],
  errors: unknown[],
) {
  const held = answers.filter((a) => holders.includes(a.node));
  const others = answers.filter((a) => !holders.includes(a.node));
  const without = others.filter((a) => a.code === 'ERR_CHUNK_MISSING').length;
  const parts = [
    held.length > 0 ? held.map(formatAnswer).join('; ') : 'the index lists no holder',
    ...others.filter((a) => a.code !== 'ERR_CHUNK_MISSING').map(formatAnswer),
    `${others.length} other online node${others.length === 1 ? '' : 's'} asked${without > 0 ? `, ${without} without it` : ''}`,
  ];
  return new ArozError(
    'ERR_CHUNK_MISSING',
    `Cannot download "${name}": no node could give chunk ${chunk.i} ("${chunk.uuid}"): ${parts.join('; ')}`,
    { cause: new AggregateError(errors, `Every source of chunk ${chunk.i} failed`) },
  );
}

/** The no-progress limits (`idle`, `Watchdog`) of fetching `chunk` from `node`. */
export function noProgress(ctx: FetchContext, chunk: IndexChunk, node: string, onTimeout?: () => void) {
  return {
    ms: ctx.idleMs,
    signal: ctx.signal,
    doing: `Downloading "${ctx.name}"`,
    timeout: () =>
      new ArozError(
        'ERR_TIMEOUT',
        `Node "${node}" made no progress on chunk ${chunk.i} ("${chunk.uuid}") for ${ctx.idleMs} ms`,
      ),
    ...(onTimeout === undefined ? {} : { onTimeout }),
  };
}

async function fetchFrom(ctx: FetchContext, chunk: IndexChunk, node: string, buffers: FetchBuffers) {
  const attempt = new AbortController();
  const signal = AbortSignal.any([ctx.signal, attempt.signal]);
  let timedOut = false;
  const limits = noProgress(ctx, chunk, node, () => {
    timedOut = true;
    attempt.abort();
  });
  const wait = <T>(work: Promise<T>): Promise<T> => idle(work, limits);
  const store = await ctx.nodes.store(node);
  const getting = store.get(chunk.uuid, { signal });
  // A reader that opens after we gave up on it is closed at once.
  const reader = await wait(getting).catch((err: unknown) => {
    void getting.then((late) => late.close()).catch(() => {});
    throw err;
  });
  let written = 0;
  let failed = false;
  const { ring } = buffers;
  // Each read returns what has arrived (often one 16 KiB frame): one timer for all of them.
  const watch = new Watchdog(limits);
  try {
    if (reader.length !== chunk.size) {
      const err = new ArozError(
        'ERR_CHUNK_SIZE',
        `Node "${node}" holds chunk ${chunk.i} ("${chunk.uuid}") with ${reader.length} bytes; the index says ${chunk.size}`,
      );
      // As long as its holder recorded it: the size in the index, not the copy, is what differs.
      if (reader.length === reader.info.size) intactCopies.set(err, reader.info.sha256);
      throw err;
    }
    ring.restartHashes();
    while (written < chunk.size) {
      const slot = await ring.acquire(); // once its previous piece is hashed and written
      const buffer = ring.view(slot);
      const want = Math.min(buffer.length, chunk.size - written);
      const n = await readFull(reader, buffer.subarray(0, want), watch);
      if (n < want) {
        throw new ArozError(
          'ERR_CHUNK_SIZE',
          `Node "${node}" sent only ${written + n} of the ${chunk.size} bytes of chunk ${chunk.i} ("${chunk.uuid}")`,
        );
      }
      const piece = buffer.subarray(0, n);
      const end = written + n;
      // Writes land in the order they were queued (writeLocal), so `end` only grows.
      const write = writeLocal(ctx, piece, chunk.offset + written).then(() => ctx.onWritten?.(chunk.i, end));
      ring.hold(slot, ring.hashRange(slot, n), write);
      written = end;
      ctx.onBytes(n);
    }
    await ring.settle();
    ring.throwIfFailed(); // a failed write of ours
    const sha256 = await ring.rangeDigest();
    if (sha256 !== chunk.sha256) {
      if (sha256 === reader.info.sha256) {
        const err = new ArozError(
          'ERR_CHUNK_HASH',
          `Node "${node}" sent chunk ${chunk.i} intact (as its holder recorded it) but with another SHA-256 than the index says`,
        );
        intactCopies.set(err, sha256);
        throw err;
      }
      throw new ArozError(
        'ERR_CHUNK_HASH',
        `Node "${node}" sent chunk ${chunk.i} ("${chunk.uuid}") with another SHA-256: its copy is corrupted`,
      );
    }
  } catch (err) {
    failed = true;
    ctx.onBytes(-written);
    throw err;
  } finally {
    watch.dispose();
    attempt.abort();
    await ring.settle(); // no write of this attempt may land after the next one's
    if (failed) ctx.onRestart?.(chunk.i);
    if (timedOut) buffers.retire();
    void reader.close().catch(() => {});
  }
}

/** The last write queued on each partial file (see writeLocal). */
const lastWrite = new WeakMap<PieceWriter, Promise<void>>();

/**
 * Writes `piece` at `position` of the partial file, after the writes queued before it: one write at
 * a time per file. The fetch workers' writes used to run at once on the thread pool, where they
 * queued on the file's lock in the kernel anyway, spinning for it: about a tenth of all CPU of a
 * download (`perf record -a`, rwsem_spin_on_owner).
 */
export async function writeLocal(ctx: FetchContext, piece: Buffer, position: number): Promise<void> {
  const write = (lastWrite.get(ctx.file) ?? Promise.resolve()).then(() => ctx.file.write(piece, position));
  lastWrite.set(
    ctx.file,
    write.catch(() => {}),
  );
  try {
    await write;
  } catch (err) {
    if (err instanceof Error) localFailures.add(err);
    throw err;
  }
}
