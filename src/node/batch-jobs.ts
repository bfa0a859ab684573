/**
 * The batch jobs: `upload-batch` (several files and folders, `arozdfs upload PATH…`) and
 * `download-batch` (a folder of the catalog, `arozdfs download FOLDER`). One job for many files,
 * with one progress (files and bytes) and a result per file: a file that fails is reported and the
 * others go on; only a cancel or the daemon's shutdown stops the batch.
 *
 * What one file costs beside its bytes is paid once per batch where it can be (docs/transfer.md
 * "Batches"): the cluster list is probed once, the key pair read once, one connector shared. A file
 * of one chunk has no journal of its own (a cut upload deletes its copies, a cut download its temp
 * file; it starts again): the batch's only journal is its plan, written once, and the catalog,
 * which says on a resume which files the batch already stored. A file of several chunks journals
 * as a lone upload does, and resumes from it.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { debuglog } from 'node:util';
import { ensureDir, writeFileAtomic } from '../durable/index.ts';
import { ArozError, isProgrammingError } from '../errors.ts';
import { keptIndexPath } from '../home/paths.ts';
import { DEFAULT_CHUNK_SIZE, encodeIndex, type IndexFile, isSealed } from '../index-file/index.ts';
import type { JobContext } from '../jobs/types.ts';
import type { SignerKey } from '../keys/index-signature.ts';
import type { KeyPair } from '../keys/rsa.ts';
import { eachLimited } from '../limit.ts';
import type {
  BatchFileResult,
  DownloadBatchParams,
  DownloadBatchResult,
  UploadBatchParams,
  UploadBatchResult,
} from '../ops/jobs.ts';
import {
  DEFAULT_IDLE_MS,
  downloadFile,
  FileDownloadJournal,
  FileUploadJournal,
  RingPool,
  uploadFile,
} from '../transfer/index.ts';
import { parseEc } from '../transfer/redundancy.ts';
import { countFinished } from '../young-gc.ts';
import { connector } from './connect.ts';
import { readSigners } from './read-trust.ts';
import {
  checkEnoughNodes,
  clusterListOf,
  DEFAULT_COPIES,
  newest,
  ownKeyPairs,
  readerKeys,
  removeUploadedCopies,
  type TransferParts,
} from './transfers.ts';

const debug = debuglog('arozdfs');

/**
 * Files of one batch moved at once (each file's chunks also move in parallel). Small files are
 * bound by round trips, not bandwidth: several in flight keep every node busy.
 */
export const BATCH_PARALLEL = 6;

/**
 * What a batch run has done so far, told as one progress: files finished (stored, fetched or failed)
 * and bytes (of the files finished, failed ones included, and of those in flight).
 */
class BatchProgress {
  #ctx: JobContext;
  #phase: 'upload' | 'download';
  #total: number;
  #files: number;
  #finishedBytes = 0;
  #filesDone = 0;
  #inFlight = new Map<number, number>();

  constructor(ctx: JobContext, phase: 'upload' | 'download', files: number, total: number) {
    this.#ctx = ctx;
    this.#phase = phase;
    this.#files = files;
    this.#total = total;
  }

  moved(i: number, done: number): void {
    this.#inFlight.set(i, done);
    this.#tell();
  }

  finished(i: number, bytes: number): void {
    this.#inFlight.delete(i);
    this.#finishedBytes += bytes;
    this.#filesDone++;
    this.#tell();
    countFinished();
  }

  #tell(): void {
    let done = this.#finishedBytes;
    for (const d of this.#inFlight.values()) done += d;
    this.#ctx.onProgress({
      phase: this.#phase,
      done: Math.min(done, this.#total),
      total: this.#total,
      filesDone: this.#filesDone,
      files: this.#files,
    });
  }
}

function failure(err: unknown): { code: string; message: string } {
  if (err instanceof ArozError) return { code: err.code, message: err.message };
  return { code: 'ERR_IO', message: String(err) };
}

/** A batch's plan, written once when it first runs: the cluster list and when it started. */
interface BatchPlan {
  nodes: string[];
  free?: number[];
  startedAt: string;
}

async function readPlan(path: string): Promise<BatchPlan | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as BatchPlan;
  } catch (err) {
    if (isProgrammingError(err) && !(err instanceof SyntaxError)) throw err;
    return undefined;
  }
}

export function uploadBatchRunner(parts: TransferParts) {
  return async (params: UploadBatchParams, ctx: JobContext): Promise<UploadBatchResult> => {
    const { chunkSize, shift, copies, idleMs } = params;
    const ec = params.ec === undefined ? undefined : parseEc(params.ec);
    // Each file gets its own file key; the readers are the same for the whole batch.
    const encrypt = params.encrypt === true ? { readers: readerKeys(parts, params.readers) } : undefined;
    const planPath = join(ctx.workDir, 'batch.json');
    const earlier = ctx.resumed ? await readPlan(planPath) : undefined;
    const startedAt = earlier?.startedAt ?? new Date().toISOString();
    const { nodes, free } = await clusterListOf(parts, params.nodes, idleMs, ctx.signal, async () => earlier);
    checkEnoughNodes(
      parts,
      nodes,
      ec !== undefined ? ec.data + ec.parity : (copies ?? DEFAULT_COPIES),
      params.nodes !== undefined,
    );
    if (earlier === undefined) {
      const plan: BatchPlan = { nodes, ...(free !== undefined ? { free } : {}), startedAt };
      await writeFileAtomic(planPath, JSON.stringify(plan), { mode: 0o600, overwrite: true });
    }
    const results: Array<BatchFileResult | undefined> = params.files.map(() => undefined);
    // A resumed batch: what the catalog holds from this node under a batch name since the batch began
    // was stored by an earlier run.
    if (earlier !== undefined) {
      params.files.forEach((entry, i) => {
        const found = parts.catalog.store
          .findByName(entry.name)
          .find((f) => f.uploader === parts.nodeUuid && f.uploadedAt >= startedAt);
        if (found !== undefined) {
          results[i] = stored(entry, found.id, found.size, found.sha256, found.chunks);
        }
      });
    }
    const sizes = await Promise.all(
      params.files.map((entry) =>
        stat(entry.path).then(
          (s) => (s.isFile() ? s.size : 0),
          () => 0,
        ),
      ),
    );
    const progress = new BatchProgress(
      ctx,
      'upload',
      params.files.length,
      sizes.reduce((a, b) => a + b, 0),
    );
    results.forEach((r, i) => {
      if (r !== undefined) progress.finished(i, sizes[i] ?? 0);
    });
    const keyPair = await parts.home.activeKeyPair();
    const connect = connector(parts, idleMs);
    const size = chunkSize ?? DEFAULT_CHUNK_SIZE;
    const pending = params.files.flatMap((entry, i) => (results[i] === undefined ? [{ entry, i }] : []));
    await using rings = new RingPool();
    const keeper = new Keeper(parts, keyPair);
    const keeping: Array<Promise<void>> = [];
    const upload = eachLimited(pending, BATCH_PARALLEL, async ({ entry, i }) => {
      // Only a file of several chunks is worth a journal: the others start again after a cut.
      const journal =
        (sizes[i] ?? 0) > size ? new FileUploadJournal(join(ctx.workDir, `file-${i}.journal`)) : undefined;
      let signed = false;
      try {
        const index = await uploadFile(entry.path, {
          name: entry.name,
          nodes,
          ...(free !== undefined ? { free } : {}),
          ...(chunkSize !== undefined ? { chunkSize } : {}),
          ...(shift !== undefined ? { shift } : {}),
          ...(copies !== undefined ? { copies } : {}),
          ...(ec !== undefined ? { ec } : {}),
          ...(encrypt !== undefined ? { encrypt } : {}),
          ...(idleMs !== undefined ? { idleMs } : {}),
          self: { nodeUuid: parts.nodeUuid, keyPair },
          connect,
          rings,
          ...(journal !== undefined ? { journal } : {}),
          signal: ctx.signal,
          onProgress: (p) => progress.moved(i, p.done),
        });
        signed = true;
        const kept = keeper.keep(index).then(() => {
          results[i] = stored(entry, index.id, index.file.size, index.file.sha256, index.chunks.length);
          progress.finished(i, index.file.size);
        });
        keeping.push(
          kept.catch((err: unknown) => {
            if (isProgrammingError(err)) throw err;
            results[i] = { name: entry.name, path: entry.path, state: 'failed', error: failure(err) };
            progress.finished(i, sizes[i] ?? 0);
          }),
        );
      } catch (err) {
        if (isProgrammingError(err)) throw err;
        if (journal !== undefined && !signed && !parts.closing()) {
          await removeUploadedCopies(parts, journal, idleMs ?? DEFAULT_IDLE_MS).catch((e: unknown) => {
            if (isProgrammingError(e)) throw e;
          });
        }
        // Cancelled or shutting down: the batch stops (files stored so far stay in the catalog).
        if (ctx.signal.aborted) throw err;
        results[i] = { name: entry.name, path: entry.path, state: 'failed', error: failure(err) };
        progress.finished(i, sizes[i] ?? 0);
      } finally {
        await journal?.close();
      }
    });
    // Signed indexes are kept even when the batch was cancelled: their files are whole.
    try {
      await upload;
    } finally {
      await Promise.all(keeping);
    }
    const files = results.map(
      (r, i): BatchFileResult =>
        r ?? {
          name: params.files[i]?.name ?? '',
          path: params.files[i]?.path ?? '',
          state: 'failed',
          error: { code: 'ERR_INTERNAL', message: 'The file was not tried' },
        },
    );
    const ok = files.filter((f) => f.state === 'stored');
    return {
      files,
      stored: ok.length,
      failed: files.length - ok.length,
      bytes: ok.reduce((n, f) => n + (f.size ?? 0), 0),
      copies: copies ?? DEFAULT_COPIES,
      cluster: nodes,
    };
  };
}

function stored(
  entry: { name: string; path: string },
  id: string,
  size: number,
  sha256: string,
  chunks: number,
): BatchFileResult {
  return { name: entry.name, path: entry.path, state: 'stored', id, size, sha256, chunks };
}

/**
 * Keeps a batch's new indexes as a lone upload does (a kept copy in <home>/indexes/, then the
 * catalog), grouped: while one group is written, the indexes signed meanwhile wait and go together
 * in the next (their kept copies in parallel, their catalog statements in one transaction). A file's
 * slot is free again as soon as its index is signed.
 */
class Keeper {
  #parts: TransferParts;
  #keyPair: KeyPair;
  #folderMade = false;
  #waiting: Array<{ index: IndexFile; done: () => void; failed: (err: unknown) => void }> = [];
  #writing = false;

  /** `keyPair`: the one the batch signs its indexes with; its catalog statements are signed with it too. */
  constructor(parts: TransferParts, keyPair: KeyPair) {
    this.#parts = parts;
    this.#keyPair = keyPair;
  }

  keep(index: IndexFile): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#waiting.push({ index, done: resolve, failed: reject });
    if (!this.#writing) void this.#drain();
    return promise;
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    while (this.#waiting.length > 0) {
      const group = this.#waiting.splice(0);
      try {
        await this.#write(group.map((g) => g.index));
        for (const g of group) g.done();
      } catch (err) {
        for (const g of group) g.failed(err);
      }
    }
    this.#writing = false;
  }

  async #write(indexes: IndexFile[]): Promise<void> {
    const { home, catalog } = this.#parts;
    if (!this.#folderMade) await ensureDir(home.paths.indexes, 0o700);
    this.#folderMade = true;
    await Promise.all(
      indexes.map((index) =>
        writeFileAtomic(keptIndexPath(home.paths, index.id), encodeIndex(index), {
          mode: 0o600,
          overwrite: true,
        }),
      ),
    );
    // A failure leaves the kept indexes: the next start enters them (as for a lone upload).
    try {
      const refused = await catalog.indexedMany(indexes, this.#keyPair);
      for (const [id, err] of refused) debug('upload %s: the catalog refused the index: %s', id, err.message);
    } catch (err) {
      if (isProgrammingError(err)) throw err;
      debug(
        'upload batch: %d indexes were not entered into the catalog: %s',
        indexes.length,
        (err as Error).message,
      );
    }
  }
}

async function bothKeys(parts: TransferParts): Promise<[SignerKey[], SignerKey[]]> {
  return [await parts.home.indexSigners(parts.trust), await parts.home.retiredSigners()];
}

export function downloadBatchRunner(parts: TransferParts) {
  return async (params: DownloadBatchParams, ctx: JobContext): Promise<DownloadBatchResult> => {
    const { idleMs } = params;
    // This node's key pairs open the sealed files of the batch: read once, when the first needs them.
    let keyPairs: ReturnType<typeof ownKeyPairs> | undefined;
    const readerKeyPairs = () => {
      keyPairs ??= ownKeyPairs(parts.home);
      return keyPairs;
    };
    const lookUp = (file: string) => {
      const index = parts.catalog.store.indexOf(file);
      return index === undefined ? undefined : newest(parts, index);
    };
    // Only the total size is taken up front: each file's index is looked up again when its turn
    // comes, so the batch does not hold every index at once (a parsed index of one chunk
    // is about 2 KiB of heap: 7 MiB for a folder of 4,000 files).
    const total = params.files.reduce((n, entry) => n + (lookUp(entry.file)?.file.size ?? 0), 0);
    const progress = new BatchProgress(ctx, 'download', params.files.length, total);
    const results: BatchFileResult[] = [];
    const connect = connector(parts, idleMs);
    const onlineNodes = () => [parts.nodeUuid, ...parts.trust.list().map((p) => p.nodeUuid)];
    const folders = new Set<string>();
    // The keys an index may be signed with are read once for the batch, not once per file.
    const [trustedKeys, retiredKeys] = await bothKeys(parts);
    const signers = {
      indexSigners: async () => [...trustedKeys],
      retiredSigners: async () => [...retiredKeys],
    };
    await using rings = new RingPool();
    await eachLimited(
      params.files.map((entry, i) => ({ entry, i })),
      BATCH_PARALLEL,
      async ({ entry, i }) => {
        const index = lookUp(entry.file);
        const journal =
          index !== undefined && index.chunks.length > 1
            ? new FileDownloadJournal(join(ctx.workDir, `file-${i}.journal`))
            : undefined;
        try {
          if (index === undefined)
            throw new ArozError('ERR_NOT_FOUND', `No file "${entry.file}" in the catalog`);
          const folder = dirname(entry.out);
          if (!folders.has(folder)) {
            await ensureDir(folder);
            folders.add(folder);
          }
          const result = await downloadFile(index, {
            out: entry.out,
            force: params.force,
            allowUntrusted: params.allowUntrusted,
            trusted: await readSigners(signers, parts.trust, parts.catalog.store, index),
            connect,
            rings,
            onlineNodes,
            holdersOf: (chunk) => parts.catalog.store.holdersOf(chunk),
            ...(isSealed(index) ? { reader: { node: parts.nodeUuid, keys: await readerKeyPairs() } } : {}),
            ...(idleMs !== undefined ? { idleMs } : {}),
            ...(journal !== undefined ? { journal } : {}),
            signal: ctx.signal,
            onProgress: (p) => progress.moved(i, p.done),
          });
          results[i] = {
            name: index.file.name,
            path: result.out,
            state: 'downloaded',
            id: index.id,
            size: index.file.size,
            sha256: index.file.sha256,
            chunks: index.chunks.length,
          };
          progress.finished(i, index.file.size);
        } catch (err) {
          if (isProgrammingError(err)) throw err;
          // A file that failed or was cancelled leaves no partial file; one cut by shutdown resumes.
          if (journal !== undefined && !parts.closing()) {
            await journal.remove().catch((e: unknown) => {
              if (isProgrammingError(e)) throw e;
            });
          }
          if (ctx.signal.aborted) throw err;
          results[i] = {
            name: index?.file.name ?? entry.file,
            path: entry.out,
            state: 'failed',
            ...(index !== undefined ? { id: index.id } : {}),
            error: failure(err),
          };
          progress.finished(i, index?.file.size ?? 0);
        } finally {
          await journal?.close();
        }
      },
    );
    const ok = results.filter((f) => f.state === 'downloaded');
    return {
      files: results,
      downloaded: ok.length,
      failed: results.length - ok.length,
      bytes: ok.reduce((n, f) => n + (f.size ?? 0), 0),
    };
  };
}
