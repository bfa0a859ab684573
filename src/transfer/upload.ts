/**
 * upload: a file -> chunks on the cluster (R copies each, placed by src/placement) + a signed,
 * distributed index whose holders say where every copy really went (docs/transfer.md).
 *
 * The file is read once, in order, through the chunk ring (src/chunk/ring.ts): the ring's worker
 * hashes each 1 MiB piece for its chunk and for the whole file in one pass (this thread runs TLS for
 * every copy and hashes nothing), and the piece is handed to all
 * the chunk's writers at once; its slot is reused only when every write is over. While one chunk
 * streams, up to `parallel − 1` earlier chunks finish (the targets' fsync and answer) or re-send a
 * copy whose target failed. Memory: the 4 MiB ring plus one 1 MiB buffer per re-send in flight.
 * The index is produced only when every chunk has R copies whose finish() answered.
 */
import { basename, resolve } from 'node:path';
import { transferStarts } from '../buffer-pool.ts';
import { copyRange } from '../chunk/copy.ts';
import { assertUnchanged, type OpenedFile, openRegularFile } from '../chunk/files.ts';
import { newFileKey, type ReaderKey, wrapFileKey } from '../crypto/index.ts';
import { ArozError, isArozError } from '../errors.ts';
import {
  DEFAULT_CHUNK_SIZE,
  fileNameProblem,
  filePathProblem,
  INDEX_FORMAT,
  INDEX_MAX_CHUNKS,
  INDEX_VERSION,
  type IndexChunk,
  type IndexFile,
  KEY_WRAP,
  MAX_CLUSTER_NODES,
  SEALED_CIPHER,
  SEALED_INDEX_VERSION,
  validateIndex,
} from '../index-file/index.ts';
import { type KeyPair, signIndex } from '../keys/index.ts';
import { checkPlacement } from '../placement/index.ts';
import { checkChunkSize } from '../size.ts';
import { assertUuid } from '../uuid.ts';
import { throwIfAborted } from './idle.ts';
import type { CopyRecord, PlannedChunk, UploadJournal } from './journal.ts';
import { RunNodes } from './nodes.ts';
import { type PieceLayout, streamPieces } from './pieces-upload.ts';
import { erasure, replicas } from './redundancy.ts';
import { uploadRings } from './ring-pool.ts';
import {
  type BusyPolicy,
  DEFAULT_BUSY,
  DEFAULT_IDLE_MS,
  DEFAULT_UPLOAD_PARALLEL,
  positiveInt,
  type TransferOptions,
} from './types.ts';
import { ChunkUpload, type Copy, type UploadContext } from './upload-chunk.ts';
import { planUpload, removeCopies } from './upload-plan.ts';

/**
 * Slots (of SLOT_SIZE, 1 MiB) of a single-file upload's ring: one piece read, one hashed, one in the
 * puts (each lets one piece wait in HTTP/2, src/transport/chunks.ts) and one spare. 8 slots sent no
 * faster and cost the uploader 4 MiB more at its peak (docs/transfer.md, "Smaller queues and rings").
 */
export const UPLOAD_RING_SLOTS = 4;

/**
 * Slots of the ring a batch lends a file of one chunk: the batch's other files in flight keep the
 * links busy while one waits for its slot. 13 MiB off the uploader's peak over 1,000 files of 1–4
 * MiB at the same files/s (docs/transfer.md, "Many small files").
 */
const BATCH_FILE_RING_SLOTS = 2;

export interface UploadOptions extends TransferOptions {
  /** The cluster list: distinct node UUIDs, in placement order (see `free`). */
  nodes: readonly string[];
  /**
   * The free bytes of each node of `nodes`, in the same order (their stores' `free`). Given, the copies
   * are spread: every chunk gets its own list from the index id and the free space, and a node with
   * less free space than one chunk of the file gets no copy (docs/transfer.md). Absent, `nodes` is used
   * in the order given: chunk i, pass p on `nodes[(i + p·x) mod n]`.
   */
  free?: readonly number[];
  /** Shift x (default 1). */
  shift?: number;
  /** Copies R of every chunk (default 2). */
  copies?: number;
  /** Erasure coding instead of copies: K data + M parity shards per chunk, on K + M nodes. */
  ec?: { data: number; parity: number };
  /**
   * Client-side encryption (docs/encryption.md): every chunk is sealed here with a fresh file key,
   * which the index holds wrapped for each of `readers` (the uploader's own key among them). The
   * index is version 2. Such an upload is never resumed from a journal (a new run makes a new key).
   */
  encrypt?: { readers: readonly ReaderKey[] };
  /** Bytes per chunk (default 64 MiB). */
  chunkSize?: number;
  /** The uploading node: recorded as uploader and `createdBy`; its key signs the index. */
  self: { nodeUuid: string; keyPair: KeyPair };
  /** Journals the plan and every stored copy, so a later call with the same journal resumes. */
  journal?: UploadJournal;
  /**
   * The file's name in the index (default: the file's own name). A file of a folder keeps its path
   * in it, `photos/2024/img_0001.jpg` (index-file `filePathProblem`).
   */
  name?: string;
  /** Back-pressure retries (default: 8 answers, 100 ms doubling to 5 s). */
  busy?: Partial<BusyPolicy>;
  /** The file already open (e.g. a web upload still being staged, whose reads wait for its bytes). */
  source?: OpenedFile;
}

export async function uploadFile(path: string, options: UploadOptions): Promise<IndexFile> {
  const shift = options.shift ?? 1;
  const ec = options.ec;
  const redundancy = ec !== undefined ? erasure(ec.data, ec.parity) : replicas(options.copies ?? 2);
  // Placement spreads the pieces of a chunk as it spreads copies: one node each.
  const copies = redundancy.pieces;
  const list = checkClusterList(options.nodes);
  const free = checkFree(list, options.free);
  checkPlacement(list.length, shift, copies);
  const chunkSize = checkChunkSize(options.chunkSize ?? DEFAULT_CHUNK_SIZE);
  // An encrypted upload is never resumed: a new run seals with a new key (docs/encryption.md).
  const journal = options.encrypt === undefined ? options.journal : undefined;
  const uploader = assertUuid(options.self.nodeUuid, 'Uploading node UUID');
  const parallel = positiveInt(options.parallel, DEFAULT_UPLOAD_PARALLEL, 'parallel');
  const idleMs = positiveInt(options.idleMs, DEFAULT_IDLE_MS, 'idleMs');
  const what = `Cannot upload "${path}"`;
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, ...(options.signal ? [options.signal] : [])]);
  throwIfAborted(signal, `Uploading "${path}"`);
  await transferStarts('upload'); // what downloads keep idle goes (src/buffer-pool.ts)
  const source = options.source ?? (await openRegularFile(resolve(path), `${what}: the file`));
  let ctx: UploadContext | undefined;
  try {
    const problem =
      options.name === undefined ? fileNameProblem(basename(path)) : filePathProblem(options.name);
    if (problem !== undefined) {
      throw new ArozError('ERR_INDEX_INVALID', `${what}: its name ${problem}, which an index cannot hold`);
    }
    const count = Math.ceil(source.size / chunkSize);
    if (count > INDEX_MAX_CHUNKS) {
      throw new ArozError(
        'ERR_INVALID_SIZE',
        `${what}: chunk size ${chunkSize} would make ${count} chunks (at most ${INDEX_MAX_CHUNKS})`,
      );
    }
    // An empty file has no chunk to place: it needs no node with room.
    const room =
      free === undefined || count === 0
        ? undefined
        : roomFor(list, free, Math.min(chunkSize, source.size), copies, shift, what);
    const { plan, lists, records } = await planUpload(source, {
      path: resolve(path),
      chunkSize,
      nodes: list,
      free: room,
      shift,
      copies,
      ...(ec !== undefined ? { ec } : {}),
      journal,
    });
    ctx = {
      path,
      source,
      lists,
      shift,
      redundancy,
      nodes: new RunNodes(options.connect, signal, idleMs),
      meta: { uploader, indexId: plan.indexId },
      idleMs,
      busy: { ...DEFAULT_BUSY, ...options.busy },
      signal,
      journal,
      notice: options.onNotice ?? (() => {}),
      created: [],
      settling: [],
      spare: [],
      changed: () =>
        new ArozError('ERR_FILE_CHANGED', `"${path}" changed while it was being uploaded; no index was made`),
    };
    const run = { parallel, stop, onProgress: options.onProgress };
    const fileKey = options.encrypt === undefined ? undefined : newFileKey();
    const seal = fileKey === undefined ? undefined : { key: fileKey, indexId: plan.indexId };
    const layout: PieceLayout =
      ec !== undefined ? { kind: 'rs', ...ec } : { kind: 'copies', copies: redundancy.pieces };
    const { chunks, sha256 } =
      ec !== undefined || seal !== undefined
        ? await streamPieces(ctx, plan.chunks, chunkSize, layout, seal, run)
        : await streamChunks(ctx, plan.chunks, records, chunkSize, { ...run, rings: options.rings });
    await assertUnchanged(source, `"${path}"`);
    const index: IndexFile = {
      format: INDEX_FORMAT,
      version: fileKey === undefined ? INDEX_VERSION : SEALED_INDEX_VERSION,
      id: plan.indexId,
      file: { name: options.name ?? basename(path), size: source.size, sha256 },
      chunkSize,
      redundancy: redundancy.record,
      chunks,
      createdAt: plan.createdAt,
      cluster: [...list],
      shift,
      createdBy: uploader,
      ...(fileKey !== undefined && options.encrypt !== undefined
        ? {
            encryption: {
              alg: SEALED_CIPHER,
              wrap: KEY_WRAP,
              keys: wrapFileKey(
                fileKey,
                withUploader(options.encrypt.readers, uploader, options.self.keyPair),
              ),
            },
          }
        : {}),
    };
    return validateIndex(signIndex(index, options.self.keyPair));
  } catch (err) {
    stop.abort(err);
    // Puts given up on in their last step may still land; wait for them (each bounded by idleMs).
    await Promise.allSettled(ctx?.settling ?? []);
    // Copies a journal can resume from are kept; others (or those of a changed file) are deleted.
    const keep = journal !== undefined && !isArozError(err, 'ERR_FILE_CHANGED');
    if (ctx !== undefined && !keep) await removeCopies(options.connect, ctx.created, uploader, idleMs);
    throw err;
  } finally {
    await source.fh.close();
  }
}

/** The readers, with the uploader's own active key first (it can always read what it uploaded). */
function withUploader(readers: readonly ReaderKey[], uploader: string, own: KeyPair): ReaderKey[] {
  const self = { node: uploader, fingerprint: own.fingerprint, publicKey: own.publicKey };
  return [self, ...readers.filter((r) => !(r.node === uploader && r.fingerprint === own.fingerprint))];
}

function checkClusterList(nodes: readonly string[]): string[] {
  const list = nodes.map((node) => assertUuid(node, 'Cluster node UUID'));
  const seen = new Set<string>();
  for (const node of list) {
    if (seen.has(node)) throw new ArozError('ERR_PLACEMENT', `Node "${node}" is in the cluster list twice`);
    seen.add(node);
  }
  if (list.length > MAX_CLUSTER_NODES) {
    throw new ArozError(
      'ERR_PLACEMENT',
      `The cluster list has ${list.length} nodes; at most ${MAX_CLUSTER_NODES}`,
    );
  }
  return list;
}

function checkFree(list: readonly string[], free: readonly number[] | undefined): number[] | undefined {
  if (free === undefined) return undefined;
  if (free.length !== list.length || !free.every((f) => Number.isSafeInteger(f) && f >= 0)) {
    throw new ArozError(
      'ERR_PLACEMENT',
      `The free space must be one whole number ≥ 0 per node of the cluster list (${list.length})`,
    );
  }
  return [...free];
}

/**
 * The free space spread placement works with: a node that cannot take one chunk of this file (`need`
 * bytes) counts as 0 and gets no copy. ERR_NOT_ENOUGH_NODES when fewer than R nodes have room;
 * ERR_PLACEMENT when the shift does not fit the nodes that do.
 */
function roomFor(
  list: readonly string[],
  free: readonly number[],
  need: number,
  copies: number,
  shift: number,
  what: string,
): number[] {
  const room = free.map((f) => (f >= Math.max(1, need) ? f : 0));
  const usable = room.filter((f) => f > 0).length;
  if (usable < copies) {
    const full = list.flatMap((node, k) => (room[k] === 0 ? [`"${node}" (${free[k]} bytes free)`] : []));
    throw new ArozError(
      'ERR_NOT_ENOUGH_NODES',
      `${what}: ${copies} copies need ${copies} nodes with room for a chunk of ${need} bytes; only ${usable} of ${list.length} have it (full: ${full.join(', ')})`,
    );
  }
  checkPlacement(usable, shift, copies);
  return room;
}

/** Streams every chunk through the ring to its missing copies; returns the chunks and the file hash. */
async function streamChunks(
  ctx: UploadContext,
  planned: readonly PlannedChunk[],
  records: ReadonlyMap<number, CopyRecord[]>,
  chunkSize: number,
  run: {
    parallel: number;
    stop: AbortController;
    onProgress: UploadOptions['onProgress'];
    rings: UploadOptions['rings'];
  },
): Promise<{ chunks: IndexChunk[]; sha256: string }> {
  const { source, signal } = ctx;
  const doing = `Uploading "${ctx.path}"`;
  const chunks: IndexChunk[] = [];
  const inFlight: Array<Promise<void>> = [];
  let failure: { err: unknown } | undefined;
  let done = 0;
  let chunksDone = 0;
  const progress = () =>
    run.onProgress?.({ phase: 'upload', done, total: source.size, chunksDone, chunks: planned.length });
  if (source.size > 0) progress();
  // A file of one chunk (most files of a batch): the chunk's SHA-256 is the file's, so each piece
  // is hashed once, into the whole-file hash, instead of twice.
  const oneChunk = planned.length === 1 && planned[0]?.i === 0 && source.size <= chunkSize;
  const rings = run.rings ?? uploadRings; // a batch's pool, else the last uploads' idle rings
  const ring = rings.borrow(run.rings !== undefined && oneChunk ? BATCH_FILE_RING_SLOTS : UPLOAD_RING_SLOTS);
  let clean = false;
  let fileDigest: Promise<string> | undefined;
  /**
   * Confirms a chunk's journaled copies and opens writers for the rest. The next chunk's writers
   * open while this one streams, so the round trip of each put's "100 Continue" (and the target's
   * reservation and temp file) is off the stream's path.
   */
  const prepare = (plan: PlannedChunk) => {
    const offset = plan.i * chunkSize;
    const up = new ChunkUpload(ctx, plan, offset, Math.min(chunkSize, source.size - offset));
    const journaled = records.get(plan.i) ?? [];
    const copies = up.confirm(journaled).then(() => openAll(up));
    copies.catch(() => {}); // awaited when its turn comes, or aborted below
    return { up, offset, journaled, copies };
  };
  let next: ReturnType<typeof prepare> | undefined;
  try {
    for (const [k, plan] of planned.entries()) {
      // One chunk streams while up to parallel − 1 earlier ones finish.
      while (inFlight.length >= run.parallel) await inFlight.shift();
      if (failure !== undefined) throw failure.err;
      throwIfAborted(signal, doing);
      const { up, offset, journaled, copies: opening } = next ?? prepare(plan);
      next = undefined;
      const copies = await opening;
      const following = planned[k + 1];
      if (following !== undefined) next = prepare(following);
      let written: Promise<void>;
      try {
        ({ written } = await copyRange(ring, {
          src: source.fh,
          srcName: `"${ctx.path}"`,
          srcPos: offset,
          length: up.size,
          dst: { write: (piece) => up.fanOut(copies, piece) },
          dstPos: 0,
          hash: oneChunk ? 'none' : 'ring', // the chunk hash runs in the ring's worker beside the file's
          short: ctx.changed,
          onBytes: (bytes) => {
            done += bytes;
            progress();
          },
          signal,
          doing,
        }));
      } catch (err) {
        ChunkUpload.abortAll(copies, err);
        throw err;
      }
      // Asked now, answered once the worker has hashed the chunk's last piece; the next chunk
      // streams meanwhile (its pieces come after this request, so they are not in this digest).
      const digest = oneChunk ? ring.digest() : ring.rangeDigest();
      digest.catch(() => {});
      if (oneChunk) fileDigest = digest;
      const task = Promise.all([written, digest])
        .then(async ([, sha256]) => {
          if (journaled.some((record) => record.sha256 !== sha256)) {
            ChunkUpload.abortAll(copies, ctx.changed());
            throw ctx.changed();
          }
          await up.complete(copies, sha256);
          return sha256;
        })
        .then((sha256) => {
          const holders = up.holders.map((node) => ({ node: node! }));
          chunks[plan.i] = { i: plan.i, offset, size: up.size, sha256, uuid: up.uuid, holders };
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
    const sha256 = await (fileDigest ?? ring.digest());
    clean = true;
    return { chunks, sha256 };
  } catch (err) {
    run.stop.abort(err);
    throw failure?.err ?? err;
  } finally {
    // Writers opened ahead for a chunk that will not stream now.
    if (next !== undefined) {
      const ahead = await next.copies.catch(() => []);
      ChunkUpload.abortAll(ahead, failure?.err ?? new Error('the upload stopped'));
    }
    await ring.settle();
    await Promise.all(inFlight);
    await rings.giveBack(ring, clean);
  }
}

/** Opens a writer for every missing pass; if one cannot be placed, the others are aborted. */
async function openAll(up: ChunkUpload): Promise<Copy[]> {
  const opened = await Promise.allSettled(up.missing().map((pass) => up.open(pass)));
  const copies = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const failed = opened.find((o) => o.status === 'rejected');
  if (failed !== undefined) {
    ChunkUpload.abortAll(copies, failed.reason);
    throw failed.reason;
  }
  return copies;
}
