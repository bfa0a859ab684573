/**
 * A browser upload, staged: the request body is written to `<home>/uploads/<uuid>/<name>` as it
 * arrives (in 1 MiB writes through two reused buffers, never held whole) and synced. The upload job
 * starts with the request and reads the file as it grows (staging.ts), so staging and sending
 * overlap; the job deletes the folder when it ends. The upload engine reads each chunk from a file,
 * and reads it again to re-send a copy, so the bytes must be on this node's disk once. A body that
 * stops, is cut, or is longer or shorter than its Content-Length leaves nothing behind.
 */
import { type FileHandle, mkdir, open, readdir, rename, rm, statfs } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { ArozError, fromSystemError } from '../errors.ts';
import { fileNameProblem } from '../index-file/index.ts';
import type { JobManager } from '../jobs/manager.ts';
import { isFinished } from '../jobs/types.ts';
import { newUuid } from '../uuid.ts';
import { cutError, markBoot } from './staging.ts';

/** Room left on the staging disk after an upload (the chunks of this node's own copies may share it). */
export const HEADROOM = 64 * 1024 * 1024;

/** Whether `file` is a staged upload in `uploads` (only those are deleted when their job ends). */
function isStaged(uploads: string, file: string): boolean {
  const dir = `${uploads}/`;
  return file.startsWith(dir) && file.slice(dir.length).split('/').length === 2;
}

/**
 * A staged file of an upload job: its `file`, or for a browser's folder upload (`upload-batch`, every
 * file in one staging folder: batch.ts) its first file's path.
 */
function stagedFileOf(kind: string, params: Record<string, unknown>): unknown {
  if (kind === 'upload') return params['file'];
  if (kind !== 'upload-batch' || !Array.isArray(params['files'])) return undefined;
  const first: unknown = params['files'][0];
  return typeof first === 'object' && first !== null ? (first as Record<string, unknown>)['path'] : undefined;
}

/** Bytes per write of the staging file (the body arrives in pieces of about 64 KiB). */
const PIECE = 1024 * 1024;

async function writeAll(handle: FileHandle, buffer: Buffer, length: number): Promise<void> {
  for (let at = 0; at < length; ) at += (await handle.write(buffer, at, length - at)).bytesWritten;
}

/**
 * Appends the request body to `handle` in 1 MiB writes through two reused buffers: one fills while
 * the other is written (one write in flight at a time, so they land in order). Measured with
 * `npm run bench:web`: one awaited write per 64 KiB piece, or one buffer that waits for its own
 * write, keeps the socket waiting and stages more slowly. Refuses a body longer than `length` as
 * soon as the extra byte arrives; returns how many bytes came.
 */
export async function writeBody(
  req: IncomingMessage,
  handle: FileHandle,
  length: number,
  signal: AbortSignal,
  onWritten: (bytes: number) => void = () => {},
): Promise<number> {
  const buffers = [Buffer.allocUnsafe(PIECE), Buffer.allocUnsafe(PIECE)] as const;
  let buffer = buffers[0];
  let filled = 0;
  let size = 0;
  let writing: Promise<void> = Promise.resolve();
  try {
    for await (const piece of req as AsyncIterable<Buffer>) {
      signal.throwIfAborted();
      size += piece.length;
      if (size > length)
        throw new ArozError('ERR_BAD_REQUEST', 'The upload is longer than its Content-Length');
      for (let at = 0; at < piece.length; ) {
        const n = piece.copy(buffer, filled, at);
        filled += n;
        at += n;
        if (filled === PIECE) {
          await writing;
          writing = writeAll(handle, buffer, PIECE).then(() => onWritten(PIECE));
          writing.catch(() => {}); // handled now (awaited at the next swap or below), never unhandled
          buffer = buffer === buffers[0] ? buffers[1] : buffers[0];
          filled = 0;
        }
      }
    }
    await writing;
    await writeAll(handle, buffer, filled);
    onWritten(filled);
    return size;
  } finally {
    await writing.catch(() => {}); // the file is closed after this: never under a write in flight
  }
}

/** An upload being staged: its folder, its `.part` file (open for writing) and the path it ends at. */
export interface StagedUpload {
  name: string;
  /** The Content-Length: the bytes the request must bring. */
  length: number;
  folder: string;
  part: string;
  path: string;
  handle: FileHandle;
  /** The folder holds this boot's id (staging.ts): the file need not be fsynced. */
  bootMarked: boolean;
}

/**
 * Checks an upload request (name, Content-Length, room on the staging disk) and makes its staging
 * folder and empty `.part` file; nothing of the body is read yet.
 */
export async function prepareUpload(
  req: IncomingMessage,
  dir: string,
  name: string | null,
): Promise<StagedUpload> {
  if (name === null || name === '') throw new ArozError('ERR_BAD_REQUEST', 'The upload needs a file "name"');
  const problem = fileNameProblem(name);
  if (problem !== undefined) throw new ArozError('ERR_BAD_REQUEST', `The file name "${name}" ${problem}`);
  const header = req.headers['content-length'];
  if (header === undefined || !/^\d{1,16}$/.test(header)) {
    throw new ArozError('ERR_BAD_REQUEST', 'The upload needs a Content-Length');
  }
  const length = Number(header);
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((err: unknown) => {
    throw fromSystemError(err, `Cannot create "${dir}"`);
  });
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (length + HEADROOM > free) {
    throw new ArozError(
      'ERR_NO_SPACE',
      `"${name}" (${length} bytes) does not fit in "${dir}" (${free} bytes free, ${HEADROOM} kept)`,
    );
  }
  const folder = join(dir, newUuid());
  await mkdir(folder, { mode: 0o700 });
  const part = join(folder, '.part');
  try {
    const bootMarked = await markBoot(folder);
    const handle = await open(part, 'wx', 0o600);
    return { name, length, folder, part, path: join(folder, name), handle, bootMarked };
  } catch (err) {
    await rm(folder, { recursive: true, force: true });
    throw fromSystemError(err, `Cannot stage the upload of "${name}"`);
  }
}

/**
 * Writes the request body to the upload's `.part` file (reporting each write that landed to
 * `onWritten`), syncs it, sets its modification time to `mtimeSeconds` when given, and renames it into
 * place. A body that stops, is cut, or is longer or shorter than its Content-Length leaves nothing
 * (with `live`, the caller removes the folder after it has stopped the job reading it).
 */
export async function stageBody(
  upload: StagedUpload,
  req: IncomingMessage,
  signal: AbortSignal,
  live?: { onWritten(bytes: number): void; mtimeSeconds: number },
): Promise<void> {
  const { name, length, handle } = upload;
  try {
    try {
      const size = await writeBody(req, handle, length, signal, live?.onWritten);
      if (size !== length || !req.complete) throw cutError(name, size, length);
      // Unsynced only where a reboot is told apart by the boot id in its folder (staging.ts).
      if (!upload.bootMarked) await handle.datasync();
      if (live !== undefined) await handle.utimes(live.mtimeSeconds, live.mtimeSeconds);
    } finally {
      await handle.close();
    }
    await rename(upload.part, upload.path);
  } catch (err) {
    // A live upload's caller removes the folder once its job is cancelled (the job may be reading it).
    if (live === undefined) await rm(upload.folder, { recursive: true, force: true });
    if (err instanceof ArozError) throw err;
    if (signal.aborted || (err as NodeJS.ErrnoException).code === 'ECONNRESET') {
      throw new ArozError('ERR_INTERRUPTED', `The upload of "${name}" was cut`, { cause: err });
    }
    throw fromSystemError(err, `Cannot stage the upload of "${name}"`);
  }
}

/**
 * Keeps `<home>/uploads/` tidy: at start, removes the staging folders no unfinished job refers to (a
 * request cut by a crash); from then on, removes an upload's folder when its job ends (done, failed,
 * or cancelled, even before it ran). A job cut by shutdown stays queued and keeps its folder.
 */
export async function tidyStaging(
  dir: string,
  jobs: Pick<JobManager, 'list' | 'on'>,
  log: (line: string) => void,
): Promise<void> {
  const kept = new Set(
    jobs
      .list()
      .filter((j) => !isFinished(j.state))
      .map((j) => stagedFileOf(j.kind, j.params))
      .filter((f): f is string => typeof f === 'string' && isStaged(dir, f))
      .map((f) => dirname(f)),
  );
  const entries = await readdir(dir).catch(() => [] as string[]);
  for (const entry of entries) {
    if (!kept.has(join(dir, entry))) await rm(join(dir, entry), { recursive: true, force: true });
  }
  jobs.on('change', (record) => {
    const file = stagedFileOf(record.kind, record.params);
    if (!isFinished(record.state) || typeof file !== 'string') return;
    if (!isStaged(dir, file)) return;
    rm(dirname(file), { recursive: true, force: true }).catch((err: unknown) =>
      log(`Cannot remove "${dirname(file)}": ${String(err)}`),
    );
  });
}

/**
 * `Content-Disposition` for a download: an ASCII fallback and the UTF-8 name (RFC 6266 / 8187). A
 * file in a folder is saved under its own name (`photos/2024/a.jpg` → `a.jpg`).
 */
export function contentDisposition(path: string): string {
  const name = path.slice(path.lastIndexOf('/') + 1);
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(name).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
