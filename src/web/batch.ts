/**
 * Folder uploads from the browser (docs/web.md "Folder uploads"): the browser opens a batch saying
 * how many files and bytes it will send, sends each file as its own request (streamed to a file of
 * the batch's staging folder, never held in memory), then commits the batch: one `upload-batch` job
 * stores every file, and the staging folder is removed when that job ends (upload.ts tidyStaging).
 * A file request that is cut cancels the whole batch; so does the browser (DELETE) or a batch left
 * idle. The sizes a browser may send are bounded before any byte is staged.
 */
import { mkdir, open, rm, statfs } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { ArozError, fromSystemError } from '../errors.ts';
import { filePathProblem } from '../index-file/index.ts';
import { newUuid } from '../uuid.ts';
import { HEADROOM, writeBody } from './upload.ts';

/** Files one batch may hold. */
export const MAX_WEB_BATCH_FILES = 10_000;
/** Batches open (opened, not committed yet) at once: per session, and on the node. */
export const MAX_OPEN_BATCHES_PER_SESSION = 4;
export const MAX_OPEN_BATCHES = 16;
/** A batch no request touched for this long is cancelled at the next batch request. */
export const BATCH_IDLE_MS = 10 * 60_000;

interface Batch {
  id: string;
  session: string;
  folder: string;
  /** What the browser announced: the most it may send. */
  files: number;
  bytes: number;
  staged: Array<{ path: string; name: string }>;
  names: Set<string>;
  stagedBytes: number;
  /** Bytes of file requests in flight (counted against `bytes` before they arrive). */
  pendingBytes: number;
  inFlight: number;
  touched: number;
}

function count(value: unknown, what: string, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new ArozError('ERR_BAD_REQUEST', `${what} must be a whole number from 0 to ${max}`);
  }
  return value;
}

export class BatchStaging {
  #dir: string;
  #batches = new Map<string, Batch>();

  /** `dir`: the web upload staging folder (`<home>/uploads/`). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Opens a batch of at most `files` files and `bytes` bytes, if they fit the staging disk. */
  async open(session: string, rawFiles: unknown, rawBytes: unknown): Promise<{ batch: string }> {
    await this.#sweep();
    if (typeof rawFiles === 'number' && rawFiles > MAX_WEB_BATCH_FILES) {
      throw new ArozError(
        'ERR_TOO_LARGE',
        `A folder upload holds at most ${MAX_WEB_BATCH_FILES} files, not ${rawFiles}: upload it in parts`,
      );
    }
    const files = count(rawFiles, 'The number of files', MAX_WEB_BATCH_FILES);
    const bytes = count(rawBytes, 'The number of bytes', Number.MAX_SAFE_INTEGER);
    if (files === 0) throw new ArozError('ERR_BAD_REQUEST', 'A folder upload needs at least one file');
    const mine = [...this.#batches.values()].filter((b) => b.session === session).length;
    if (mine >= MAX_OPEN_BATCHES_PER_SESSION || this.#batches.size >= MAX_OPEN_BATCHES) {
      throw new ArozError(
        'ERR_WEB_RATE_LIMITED',
        'Too many folder uploads are being sent at once: wait for one to finish',
      );
    }
    await mkdir(this.#dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
      throw fromSystemError(err, `Cannot create "${this.#dir}"`);
    });
    const fs = await statfs(this.#dir);
    const free = fs.bavail * fs.bsize;
    // What other open batches may still send is spoken for.
    let promised = 0;
    for (const b of this.#batches.values()) promised += b.bytes - b.stagedBytes;
    if (bytes + promised + HEADROOM > free) {
      throw new ArozError(
        'ERR_NO_SPACE',
        `The folder (${bytes} bytes) does not fit in "${this.#dir}" (${free} bytes free, ${promised + HEADROOM} kept)`,
      );
    }
    const id = newUuid();
    const folder = join(this.#dir, id);
    await mkdir(folder, { mode: 0o700 });
    this.#batches.set(id, {
      id,
      session,
      folder,
      files,
      bytes,
      staged: [],
      names: new Set(),
      stagedBytes: 0,
      pendingBytes: 0,
      inFlight: 0,
      touched: Date.now(),
    });
    return { batch: id };
  }

  #get(session: string, id: string): Batch {
    const batch = this.#batches.get(id);
    if (batch === undefined || batch.session !== session) {
      throw new ArozError('ERR_NOT_FOUND', `No folder upload "${id}" is open (it was cancelled or ended)`);
    }
    batch.touched = Date.now();
    return batch;
  }

  /**
   * Stages one file of the batch under its catalog `name` (the request body, `Content-Length`
   * bytes). A name the catalog refuses, or given twice, is refused (the batch goes on); a body that
   * is cut, or longer or shorter than it said, cancels the batch.
   */
  async put(
    session: string,
    id: string,
    name: string | null,
    req: IncomingMessage,
    signal: AbortSignal,
  ): Promise<{ name: string; size: number; staged: number }> {
    const batch = this.#get(session, id);
    const problem = filePathProblem(name ?? '');
    if (name === null || problem !== undefined) {
      throw new ArozError('ERR_BAD_REQUEST', `The file name "${name ?? ''}" ${problem ?? 'is missing'}`);
    }
    if (batch.names.has(name)) throw new ArozError('ERR_BAD_REQUEST', `The batch names "${name}" twice`);
    const header = req.headers['content-length'];
    if (header === undefined || !/^\d{1,16}$/.test(header)) {
      throw new ArozError('ERR_BAD_REQUEST', 'Each file needs a Content-Length');
    }
    const length = Number(header);
    if (batch.names.size >= batch.files) {
      throw new ArozError('ERR_TOO_LARGE', `The folder upload announced ${batch.files} files`);
    }
    if (batch.stagedBytes + batch.pendingBytes + length > batch.bytes) {
      throw new ArozError('ERR_TOO_LARGE', `The folder upload announced ${batch.bytes} bytes`);
    }
    batch.names.add(name);
    batch.pendingBytes += length;
    batch.inFlight++;
    const path = join(batch.folder, String(batch.names.size));
    try {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(path, 'wx', 0o600);
      } catch (err) {
        throw fromSystemError(err, `Cannot stage "${name}"`);
      }
      try {
        const size = await writeBody(req, handle, length, signal);
        if (size !== length || !req.complete) {
          throw new ArozError(
            'ERR_INTERRUPTED',
            `The upload of "${name}" stopped after ${size} of ${length} bytes`,
          );
        }
        // Synced: the batch job may run after a restart, and it reads what is on disk.
        await handle.datasync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      batch.inFlight--;
      batch.pendingBytes -= length;
      // A cut or short body (or a full disk) ends the batch: nothing of it is kept.
      await this.cancel(session, id).catch(() => undefined);
      if (err instanceof ArozError) throw err;
      if (signal.aborted || (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
        throw new ArozError('ERR_INTERRUPTED', `The upload of "${name}" was cut`, { cause: err });
      }
      throw fromSystemError(err, `Cannot stage "${name}"`);
    }
    batch.inFlight--;
    batch.pendingBytes -= length;
    batch.stagedBytes += length;
    batch.staged.push({ path, name });
    return { name, size: length, staged: batch.staged.length };
  }

  /**
   * Hands the staged files to `submit` (which starts the job that will remove the folder when it
   * ends); the batch is closed. Refused while a file is still arriving.
   */
  async commit<T>(
    session: string,
    id: string,
    submit: (files: Array<{ path: string; name: string }>) => Promise<T>,
  ): Promise<T> {
    const batch = this.#get(session, id);
    if (batch.inFlight > 0) throw new ArozError('ERR_BAD_REQUEST', 'Files of this upload are still arriving');
    if (batch.staged.length === 0) throw new ArozError('ERR_BAD_REQUEST', 'No file of this upload arrived');
    this.#batches.delete(id);
    try {
      return await submit(batch.staged);
    } catch (err) {
      await rm(batch.folder, { recursive: true, force: true });
      throw err;
    }
  }

  /** Cancels a batch not committed yet: its staged files are removed. */
  async cancel(session: string, id: string): Promise<{ batch: string; cancelled: true }> {
    const batch = this.#get(session, id);
    this.#batches.delete(id);
    await rm(batch.folder, { recursive: true, force: true });
    return { batch: id, cancelled: true };
  }

  /** Batches open now. */
  get size(): number {
    return this.#batches.size;
  }

  /** Removes every batch not committed (the daemon stops; also used by tests). */
  async closeAll(): Promise<void> {
    const all = [...this.#batches.values()];
    this.#batches.clear();
    for (const b of all) await rm(b.folder, { recursive: true, force: true });
  }

  async #sweep(): Promise<void> {
    const now = Date.now();
    for (const b of [...this.#batches.values()]) {
      if (b.inFlight === 0 && now - b.touched > BATCH_IDLE_MS) {
        this.#batches.delete(b.id);
        await rm(b.folder, { recursive: true, force: true });
      }
    }
  }
}
