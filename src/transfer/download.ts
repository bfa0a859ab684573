/**
 * download: a signed distributed index -> the original file, verified (docs/transfer.md).
 *
 * The index's signature is checked first (ERR_INDEX_UNTRUSTED unless `allowUntrusted`). Chunks are
 * fetched by `parallel` workers straight into their place in a temp file beside the output (see
 * fetch.ts), each verified by its SHA-256; the whole-file SHA-256 is computed meanwhile by reading the
 * file back in order as far as it is written (ordered-hash.ts; not for a file of one chunk, whose hash
 * is the file's). The file is renamed into place only when that hash
 * matches the index. With a journal, the temp file survives a failure and a resumed run re-hashes the
 * chunks the journal lists, keeps those that match and fetches only the rest.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import { transferStarts } from '../buffer-pool.ts';
import { checkOutput } from '../chunk/merge.ts';
import { PieceReader } from '../chunk/reader.ts';
import type { BufferRing } from '../chunk/ring.ts';
import { PieceWriter } from '../chunk/writer.ts';
import { unwrapFileKey } from '../crypto/index.ts';
import { ArozError, fromSystemError, isArozError, isProgrammingError } from '../errors.ts';
import {
  type IndexFile,
  isDistributedIndex,
  sealingOf,
  signingPayload,
  validateIndex,
} from '../index-file/index.ts';
import { type SignerKey, verifyIndex } from '../keys/index.ts';
import { eachLimited } from '../limit.ts';
import { dataLost, fetchShardedChunk } from './erasure-fetch.ts';
import { FetchBuffers, type FetchContext, fetchChunk } from './fetch.ts';
import { throwIfAborted } from './idle.ts';
import type { DownloadJournal } from './journal.ts';
import { RunNodes } from './nodes.ts';
import { OrderedHash } from './ordered-hash.ts';
import { openPartial, verifyWritten } from './partial.ts';
import { redundancyOf } from './redundancy.ts';
import { downloadRings } from './ring-pool.ts';
import { fetchSealedCopy } from './sealed-fetch.ts';
import { Stagger } from './stagger.ts';
import {
  DEFAULT_DOWNLOAD_PARALLEL,
  DEFAULT_IDLE_MS,
  type NodeAnswer,
  positiveInt,
  type TransferOptions,
} from './types.ts';

/**
 * Slots (of SLOT_SIZE, 1 MiB) of the ring that reads the downloaded chunks back for the whole-file
 * hash: one read while the other is hashed. 4 read back no faster and cost 2 MiB more at the
 * downloader's peak (docs/transfer.md, "Smaller queues and rings").
 */
const ORDERED_RING_SLOTS = 2;

/**
 * The longest a fetch worker waits for the one before it to get its share of a chunk ahead
 * (stagger.ts): a quarter of a 64 MiB chunk arrives in 30–160 ms here; a holder that hangs sends
 * nothing, and the others must not wait out its idle timeout.
 */
const STAGGER_MAX_STEP_MS = 250;

export interface DownloadOptions extends TransferOptions {
  /** Output file (default: the index's file name in the current folder). */
  out?: string;
  /** Replace an existing output file (default false: ERR_OUTPUT_EXISTS). */
  force?: boolean;
  /** Trusted nodes online now: asked for a chunk whose listed holders all failed. */
  onlineNodes?: () => Iterable<string>;
  /** Nodes known to hold a chunk besides the index's holders (the catalog's holdings statements). */
  holdersOf?: (chunk: string) => Iterable<string>;
  /** Keys allowed to sign indexes (see signerKeys), or a function that verifies and returns the signer. */
  trusted?: readonly SignerKey[] | ((index: IndexFile) => SignerKey);
  /** Download even if the index is unsigned, tampered or signed by an unknown key. */
  allowUntrusted?: boolean;
  /** Journals the plan and every verified chunk; the temp file is kept on failure for a resume. */
  journal?: DownloadJournal;
  /**
   * This node and its key pairs: what opens the file key of an encrypted index (docs/encryption.md).
   * Without it, or without a key the index wrapped the file key for: ERR_NOT_A_READER.
   */
  reader?: { node: string; keys: ReadonlyArray<{ fingerprint: string; privateKey: KeyObject }> };
}

export interface DownloadResult {
  /** Absolute path of the file written. */
  out: string;
  index: IndexFile;
  /** The key that signed the index; undefined when an untrusted index was allowed. */
  signer: SignerKey | undefined;
  /** Every failure of a listed holder on the way (the bad copies to repair). */
  problems: NodeAnswer[];
  /** Chunks fetched by this run; the others were verified in the partial file of an earlier run. */
  fetched: number;
}

export async function downloadFile(index: IndexFile, options: DownloadOptions): Promise<DownloadResult> {
  validateIndex(index);
  const name = index.file.name;
  const what = `Cannot download "${name}"`;
  if (!isDistributedIndex(index)) {
    throw new ArozError('ERR_INDEX_INVALID', `${what}: index "${index.id}" is a local index; use merge`);
  }
  const signer = checkTrust(index, options, what);
  // The redundancy seam: whole copies need one good copy (fetch.ts takes the first intact one);
  // erasure-coded chunks need K good shards and are rebuilt by erasure-fetch.ts.
  redundancyOf(index.redundancy);
  const rs = index.redundancy.scheme === 'rs' ? index.redundancy : undefined;
  const encryption = sealingOf(index);
  const sealedKey =
    encryption === undefined
      ? undefined
      : {
          key: unwrapFileKey(encryption.keys, options.reader?.node ?? '', options.reader?.keys ?? [], what),
          indexId: index.id,
        };
  const lostChunks: Array<{ i: number; err: ArozError }> = [];
  const parallel = positiveInt(options.parallel, DEFAULT_DOWNLOAD_PARALLEL, 'parallel');
  const idleMs = positiveInt(options.idleMs, DEFAULT_IDLE_MS, 'idleMs');
  const out = resolve(options.out ?? name);
  const force = options.force === true;
  await checkOutput(out, force, what);
  await transferStarts('download'); // what uploads keep idle goes (src/buffer-pool.ts)
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, ...(options.signal ? [options.signal] : [])]);
  const doing = `Downloading "${name}"`;
  const indexSha256 = createHash('sha256').update(signingPayload(index)).digest('hex');
  throwIfAborted(signal, doing);
  const { file, journaled } = await openPartial(index, { out, force, indexSha256, journal: options.journal });
  let reader: Awaited<ReturnType<typeof open>> | undefined;
  let ordered: OrderedHash | undefined;
  let pieces: { writer: PieceWriter; reader: PieceReader } | undefined;
  let ring: BufferRing | undefined;
  let clean = false;
  try {
    reader = await open(file.tempPath, 'r').catch((err: unknown) => {
      throw fromSystemError(err, `${what}: cannot read "${file.tempPath}"`);
    });
    const verified = await verifyWritten(reader, index.chunks, journaled, signal, doing);
    // Past the page cache where the file system allows (src/chunk/writer.ts, reader.ts).
    const fileName = `"${file.tempPath}"`;
    const writer = await PieceWriter.open(file.tempPath, file.handle, fileName);
    pieces = { writer, reader: await PieceReader.open(file.tempPath, reader, fileName) };
    const total = index.file.size;
    const chunks = index.chunks.length;
    let done = index.chunks.reduce((sum, c) => sum + (verified.has(c.i) ? c.size : 0), 0);
    let chunksDone = verified.size;
    const progress = () => options.onProgress?.({ phase: 'download', done, total, chunksDone, chunks });
    if (total > 0) progress();
    // The fetch workers start apart, so the chunks land one after another (stagger.ts).
    const stagger = new Stagger(Math.ceil(index.chunkSize / parallel), STAGGER_MAX_STEP_MS);
    const ctx: FetchContext = {
      name,
      file: writer,
      nodes: new RunNodes(options.connect, signal, idleMs),
      onlineNodes: options.onlineNodes ?? (() => []),
      ...(options.holdersOf !== undefined ? { holdersOf: options.holdersOf } : {}),
      idleMs,
      signal,
      problems: [],
      notice: options.onNotice ?? (() => {}),
      onBytes: (delta) => {
        done += delta;
        stagger.arrived(delta);
        if (delta > 0) progress();
      },
      // The whole-file hash reads each chunk back as far as it is written (ordered-hash.ts).
      onWritten: (i, bytes) => ordered?.written(i, bytes),
      onRestart: (i) => ordered?.restart(i),
    };
    // A file of one whole copy whose index gives its chunk the file's SHA-256 and size is not read
    // back: the chunk's hash, taken from the very bytes written (fetch.ts), is the file's. Most files
    // of a batch are such files; reading them back cost a second SHA-256 pass and a ring each.
    const [only] = index.chunks;
    const chunkIsFile =
      rs === undefined &&
      sealedKey === undefined &&
      index.chunks.length === 1 &&
      only?.sha256 === index.file.sha256 &&
      only.size === index.file.size;
    let hashing = Promise.resolve(index.file.sha256);
    if (!chunkIsFile) {
      ring = (options.rings ?? downloadRings).borrow(ORDERED_RING_SLOTS);
      ordered = new OrderedHash(ring, pieces.reader, index.chunks);
      for (const i of verified) ordered.done(i);
      hashing = ordered.run();
      hashing.catch(() => {}); // awaited below; a failure before then must not go unhandled
    }
    const todo = index.chunks.filter((c) => !verified.has(c.i));
    if (ordered === undefined) stagger.open(); // nothing is read back: no wait buys anything
    const pairs: FetchBuffers[] = [];
    const fetched = eachLimited(
      todo,
      parallel,
      async (chunk, worker) => {
        await stagger.wait(worker.first ? worker.k : 0);
        worker.first = false;
        throwIfAborted(signal, doing);
        const { buffers } = worker;
        let node: string;
        try {
          if (rs !== undefined) {
            try {
              [node = ''] = await fetchShardedChunk(ctx, chunk, rs, sealedKey);
            } catch (err) {
              // Every chunk that cannot be rebuilt is named at the end; the others are still fetched.
              if (!isArozError(err, 'ERR_DATA_LOST')) throw err;
              lostChunks.push({ i: chunk.i, err });
              return;
            }
          } else if (sealedKey !== undefined) node = await fetchSealedCopy(ctx, chunk, sealedKey);
          else node = await fetchChunk(ctx, chunk, buffers);
        } finally {
          stagger.open(); // a fetch ended: the workers are apart, or nothing more may arrive
        }
        await options.journal?.recordChunk(chunk.i, node);
        ordered?.done(chunk.i);
        chunksDone++;
        progress();
      },
      {
        init: () => {
          const pair = new FetchBuffers(options.rings);
          pairs.push(pair);
          return { buffers: pair, k: pairs.length - 1, first: true };
        },
        onError: (err) => {
          stagger.open(); // no worker may wait for bytes that will not come
          stop.abort(err);
        },
      },
    );
    // Every fetch is over (eachLimited waits for all): when none failed, no read can still land in
    // these buffers and they serve the next download; else they are let go.
    await fetched.then(
      () => {
        for (const pair of pairs) pair.release();
      },
      (err: unknown) => {
        for (const pair of pairs) pair.drop();
        throw err;
      },
    );
    throwIfAborted(signal, doing);
    if (lostChunks.length > 0) throw dataLost(name, lostChunks);
    const sha256 = await hashing;
    if (sha256 !== index.file.sha256) {
      throw new ArozError(
        'ERR_FILE_HASH',
        `${what}: the rebuilt file's SHA-256 "${sha256}" differs from the index ("${index.file.sha256}"); it was not kept`,
      );
    }
    clean = true;
    await closePieces(pieces);
    await reader.close();
    reader = undefined;
    await file.commit();
    return { out, index, signer, problems: ctx.problems, fetched: todo.length };
  } catch (err) {
    stop.abort(err);
    ordered?.stop(err);
    // With a journal the partial file is kept for a resume, unless it can never become the file.
    const resumable = !isArozError(err, 'ERR_FILE_HASH') && !isProgrammingError(err);
    if (options.journal !== undefined && resumable) await file.keep();
    else await file.abort();
    throw err;
  } finally {
    await closePieces(pieces);
    await reader?.close();
    if (ring !== undefined) {
      await ring.settle();
      await (options.rings ?? downloadRings).giveBack(ring, clean);
    }
  }
}

/** Closes the O_DIRECT handles of the partial file (idempotent). */
async function closePieces(pieces: { writer: PieceWriter; reader: PieceReader } | undefined): Promise<void> {
  await Promise.all([pieces?.writer.close(), pieces?.reader.close()]);
}

function checkTrust(index: IndexFile, options: DownloadOptions, what: string): SignerKey | undefined {
  try {
    const { trusted } = options;
    return typeof trusted === 'function' ? trusted(index) : verifyIndex(index, trusted ?? []);
  } catch (err) {
    if (!isArozError(err, 'ERR_INDEX_UNTRUSTED')) throw err;
    if (options.allowUntrusted === true) return undefined;
    throw new ArozError('ERR_INDEX_UNTRUSTED', `${what}: ${err.message}`, { cause: err });
  }
}
