/**
 * streamFile: a signed distributed index -> the file's bytes, in order, to a sink (the web UI's
 * one-click download, docs/web.md "Downloads"), without the whole file on this node's disk.
 *
 * Up to `parallel` chunks are fetched at once (fetch.ts: holders first, then every online node), each
 * into its own slot of one scratch file (a slot is one chunk long), hashed as it arrives and verified
 * against the index before a byte of it is handed on. The sink gets the verified chunks in order, in
 * pieces of 1 MiB or less through one reused buffer; a chunk's slot is reused only after its last piece
 * was written. The whole-file SHA-256 is computed over what was handed on, and the file's last piece is
 * held back until it matches and the scratch file is removed: a sink never receives a complete file
 * that differs from the index. Any failure (no node can give a chunk, the sink stops) throws; the
 * scratch file is removed either way.
 */
import { createHash } from 'node:crypto';
import { open, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { transferStarts } from '../buffer-pool.ts';
import { PieceWriter } from '../chunk/writer.ts';
import { ArozError, fromSystemError, isArozError } from '../errors.ts';
import { type IndexFile, isDistributedIndex, validateIndex } from '../index-file/index.ts';
import { type SignerKey, verifyIndex } from '../keys/index.ts';
import { newUuid } from '../uuid.ts';
import { FetchBuffers, type FetchContext, fetchChunk } from './fetch.ts';
import { throwIfAborted } from './idle.ts';
import { RunNodes } from './nodes.ts';
import { redundancyOf } from './redundancy.ts';
import { DEFAULT_IDLE_MS, PIECE, positiveInt, type TransferOptions } from './types.ts';

export interface StreamOptions extends TransferOptions {
  /** Folder for the scratch file (`parallel` chunks at most). */
  scratchDir: string;
  /** Trusted nodes online now: asked for a chunk whose listed holders all failed. */
  onlineNodes?: () => Iterable<string>;
  /** Nodes known to hold a chunk besides the index's holders. */
  holdersOf?: (chunk: string) => Iterable<string>;
  /** Keys allowed to sign indexes, or a function that verifies and returns the signer. */
  trusted: readonly SignerKey[] | ((index: IndexFile) => SignerKey);
  /** Called once, after the first chunk is verified (or at once for an empty file). */
  onStart?: () => void;
  /** Receives the file's bytes in order; the piece's buffer is reused once the promise settles. */
  write: (piece: Buffer) => Promise<void>;
}

export const DEFAULT_STREAM_PARALLEL = 3;

export async function streamFile(index: IndexFile, options: StreamOptions): Promise<void> {
  validateIndex(index);
  const name = index.file.name;
  const what = `Cannot download "${name}"`;
  if (!isDistributedIndex(index)) {
    throw new ArozError('ERR_INDEX_INVALID', `${what}: index "${index.id}" is a local index`);
  }
  try {
    const { trusted } = options;
    if (typeof trusted === 'function') trusted(index);
    else verifyIndex(index, trusted);
  } catch (err) {
    if (!isArozError(err, 'ERR_INDEX_UNTRUSTED')) throw err;
    throw new ArozError('ERR_INDEX_UNTRUSTED', `${what}: ${err.message}`, { cause: err });
  }
  if (redundancyOf(index.redundancy).needed !== 1) {
    throw new ArozError('ERR_INDEX_SCHEME', `${what}: its redundancy needs several pieces per chunk`);
  }
  const parallel = positiveInt(options.parallel, DEFAULT_STREAM_PARALLEL, 'parallel');
  const idleMs = positiveInt(options.idleMs, DEFAULT_IDLE_MS, 'idleMs');
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, ...(options.signal ? [options.signal] : [])]);
  const doing = `Downloading "${name}"`;
  throwIfAborted(signal, doing);
  await transferStarts('download'); // what uploads keep idle goes (src/buffer-pool.ts)
  const chunks = index.chunks;
  if (chunks.length === 0) {
    options.onStart?.();
    return;
  }
  const slotSize = Math.max(...chunks.map((c) => c.size));
  const slots = Math.min(parallel, chunks.length);
  const scratch = join(options.scratchDir, `.stream-${newUuid()}`);
  const fh = await open(scratch, 'wx+', 0o600).catch((err: unknown) => {
    throw fromSystemError(err, `${what}: cannot create "${scratch}"`);
  });
  // Through the page cache: its slots are rewritten chunk after chunk and read back at once, so the
  // same cache pages serve every chunk (no direct writes, unlike a download's partial file).
  const file = await PieceWriter.open(scratch, fh, `"${scratch}"`, false);
  let done = 0;
  let chunksDone = 0;
  const progress = () =>
    options.onProgress?.({
      phase: 'download',
      done,
      total: index.file.size,
      chunksDone,
      chunks: chunks.length,
    });
  const ctx: FetchContext = {
    name,
    file,
    nodes: new RunNodes(options.connect, signal, idleMs),
    onlineNodes: options.onlineNodes ?? (() => []),
    ...(options.holdersOf !== undefined ? { holdersOf: options.holdersOf } : {}),
    idleMs,
    signal,
    problems: [],
    notice: options.onNotice ?? (() => {}),
    onBytes: () => {},
  };
  const free = Array.from({ length: slots }, (_, k) => k);
  const waiting: Array<(slot: number) => void> = [];
  const take = () =>
    new Promise<number>((resolve) => {
      const slot = free.shift();
      if (slot !== undefined) resolve(slot);
      else waiting.push(resolve);
    });
  const give = (slot: number) => {
    const next = waiting.shift();
    if (next !== undefined) next(slot);
    else free.push(slot);
  };
  // Fetches start in file order, each as soon as a slot is free; the sender takes them in order too,
  // so the earliest unsent chunk always holds a slot and nothing waits on itself.
  const ready = chunks.map(() => Promise.withResolvers<number>());
  for (const r of ready) r.promise.catch(() => {}); // each is awaited in order (or abandoned on failure)
  let failure: unknown;
  const buffers = Array.from({ length: slots }, () => new FetchBuffers());
  const fetching: Array<Promise<void>> = [];
  const launch = async () => {
    for (const chunk of chunks) {
      const slot = await take();
      const deferred = ready[chunk.i]!;
      if (signal.aborted) {
        give(slot);
        deferred.reject(signal.reason);
        continue;
      }
      const at = { ...chunk, offset: slot * slotSize };
      fetching.push(
        fetchChunk(ctx, at, buffers[slot]!).then(
          () => deferred.resolve(slot),
          (err: unknown) => {
            failure ??= err;
            stop.abort(err);
            give(slot);
            deferred.reject(err);
          },
        ),
      );
    }
  };
  const launcher = launch();
  launcher.catch(() => {});
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    stop.abort();
    for (const r of ready) r.reject(new Error('stopped')); // no-op for settled ones: frees the launcher
    give(-1);
    await launcher.catch(() => {});
    await Promise.allSettled(fetching);
    for (const b of buffers) {
      if (failure === undefined) b.release();
      else b.drop();
    }
    await fh.close().catch(() => {});
    await rm(scratch, { force: true });
  };
  /** The file's last piece, sent only after the whole-file hash matched and the scratch file is gone. */
  let tail: Buffer | undefined;
  try {
    const hash = createHash('sha256');
    const out = Buffer.allocUnsafe(Math.min(PIECE, slotSize));
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      const slot = await ready[i]!.promise;
      if (i === 0) options.onStart?.();
      for (let at = 0; at < chunk.size; ) {
        throwIfAborted(signal, doing);
        const want = Math.min(out.length, chunk.size - at);
        const { bytesRead } = await fh.read(out, 0, want, slot * slotSize + at);
        if (bytesRead !== want) {
          throw new ArozError('ERR_IO', `${what}: "${scratch}" gave ${bytesRead} of ${want} bytes`);
        }
        const piece = out.subarray(0, want);
        hash.update(piece);
        at += want;
        if (i === chunks.length - 1 && at === chunk.size) {
          const sha256 = hash.digest('hex');
          if (sha256 !== index.file.sha256) {
            throw new ArozError(
              'ERR_FILE_HASH',
              `${what}: the file's SHA-256 "${sha256}" differs from the index ("${index.file.sha256}")`,
            );
          }
          tail = Buffer.from(piece);
        } else await options.write(piece);
        done += want;
      }
      chunksDone++;
      progress();
      give(slot);
    }
    await cleanup();
    if (tail !== undefined) await options.write(tail);
  } catch (err) {
    stop.abort(err);
    // The first failure says why (a chunk no node could give), not the abort it caused elsewhere.
    throw options.signal?.aborted !== true && failure !== undefined ? failure : err;
  } finally {
    await cleanup();
  }
}

/** Removes scratch files a stream left in `dir` (the node stopped mid-download); at start only. */
export async function removeStreamScratch(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) if (name.startsWith('.stream-')) await rm(join(dir, name), { force: true });
}
