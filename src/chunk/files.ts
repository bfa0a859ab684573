/**
 * The file checks slice and merge share: opening a regular file to read (never blocking on a FIFO or
 * device), preparing an output folder while remembering which folders this run created (so a failed
 * run can remove exactly those), and noticing a source that changed while it was read.
 */
import { constants, type promises as fsp } from 'node:fs';
import { lstat, mkdir, open, rmdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ArozError, fromSystemError, isProgrammingError } from '../errors.ts';

/**
 * The buffer ring of slice and merge: 8 slots of 2 MiB (16 MiB). Pieces of 2 MiB cost half the reads,
 * O_DIRECT writes and hand-offs to the hash worker of 1 MiB pieces (about 10 % less CPU for a slice or
 * merge), and with one piece read ahead and one being hashed, six stay free for writes, so a slow
 * disk still has several in its queue (4 slots of 4 MiB saved as much CPU but left only two).
 */
export const RING_SLOTS = 8;
export const RING_SLOT_SIZE = 2 * 1024 * 1024;

export interface OpenedFile {
  fh: fsp.FileHandle;
  size: number;
  /** Modification time in nanoseconds, to notice a change while reading. */
  mtimeNs: bigint;
}

/**
 * Opens a regular file for reading. `what` starts the error messages (`Cannot slice "a.bin": the file`).
 * O_NONBLOCK keeps a FIFO from hanging the open; anything but a regular file is ERR_NOT_A_FILE.
 */
export async function openRegularFile(path: string, what: string): Promise<OpenedFile> {
  let fh: fsp.FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw fromSystemError(err, what);
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (st.isDirectory()) throw new ArozError('ERR_NOT_A_FILE', `${what} is a directory, not a file`);
    if (!st.isFile()) throw new ArozError('ERR_NOT_A_FILE', `${what} is not a regular file`);
    return { fh, size: Number(st.size), mtimeNs: st.mtimeNs };
  } catch (err) {
    await fh.close();
    throw fromSystemError(err, what);
  }
}

/** Throws ERR_FILE_CHANGED if the open file's size or modification time differs from `before`. */
export async function assertUnchanged(file: OpenedFile, what: string): Promise<void> {
  let st: { size: bigint; mtimeNs: bigint };
  try {
    st = await file.fh.stat({ bigint: true });
  } catch (err) {
    throw fromSystemError(err, what);
  }
  if (Number(st.size) !== file.size || st.mtimeNs !== file.mtimeNs) {
    throw new ArozError(
      'ERR_FILE_CHANGED',
      `${what} changed while it was being read (size ${file.size} -> ${st.size}); nothing was kept`,
    );
  }
}

/** True if something (a file, folder or dangling symlink) exists at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw fromSystemError(err, `Cannot look at "${path}"`);
  }
}

/**
 * Makes sure `dir` is a folder (mkdir -p). Returns the folders this call created, deepest first, so
 * `removeCreatedDirs` can undo exactly them.
 */
export async function prepareDir(dir: string): Promise<string[]> {
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw new ArozError('ERR_NOT_A_DIRECTORY', `"${dir}" exists and is not a folder`);
    return [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(err, `Cannot use "${dir}"`);
  }
  let first: string | undefined;
  try {
    first = await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (err) {
    throw fromSystemError(err, `Cannot create the folder "${dir}"`);
  }
  const created: string[] = [];
  if (first === undefined) return created;
  for (let d = dir; ; d = dirname(d)) {
    created.push(d);
    if (d === first || dirname(d) === d) break;
  }
  return created;
}

/** Removes folders made by `prepareDir` if they are empty again (never anything else). */
export async function removeCreatedDirs(created: string[]): Promise<void> {
  for (const dir of created) {
    try {
      await rmdir(dir);
    } catch (err) {
      if (isProgrammingError(err)) throw err;
      return; // not empty (someone else put something there) or already gone: leave it
    }
  }
}
