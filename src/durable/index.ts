/**
 * Durable, atomic file writes: a temp file in the same directory, fsync, rename, fsync the
 * directory. A reader sees either the old file, no file, or the whole new file — never a part.
 * This module must never leave a temp file behind on failure, and never replace a file unless told.
 */
import { randomBytes } from 'node:crypto';
import { constants, type promises as fsp } from 'node:fs';
import { access, link, mkdir, open, readdir, rename, rm, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ArozError, fromSystemError } from '../errors.ts';

const TEMP_SUFFIX = '.arozdfs-tmp';

/** Temp files are named `.<name>.<random>.arozdfs-tmp` beside their target. */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith(TEMP_SUFFIX);
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Removes temp files a crashed writer left in `dir` (not recursive). Returns how many. */
export async function removeStaleTemps(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir)) {
    if (isTempName(name)) {
      await rm(join(dir, name), { force: true });
      removed++;
    }
  }
  return removed;
}

export interface AtomicFileOptions {
  /** File mode of the new file (default 0o644). */
  mode?: number;
  /** Replace an existing target (default false: commit fails with ERR_OUTPUT_EXISTS). */
  overwrite?: boolean;
}

/**
 * A file being written that becomes visible at `target` only on `commit()`. Write through `handle`;
 * `abort()` removes the temp file. Both are idempotent; `[Symbol.asyncDispose]` aborts unless committed.
 */
export class AtomicFile {
  readonly target: string;
  readonly tempPath: string;
  readonly handle: fsp.FileHandle;
  #overwrite: boolean;
  #state: 'open' | 'committed' | 'aborted' | 'kept' = 'open';

  private constructor(target: string, tempPath: string, handle: fsp.FileHandle, overwrite: boolean) {
    this.target = target;
    this.tempPath = tempPath;
    this.handle = handle;
    this.#overwrite = overwrite;
  }

  static async create(target: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    const tempPath = join(
      dirname(target),
      `.${basename(target)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
    );
    try {
      const handle = await open(tempPath, 'wx', options.mode ?? 0o644);
      return new AtomicFile(target, tempPath, handle, options.overwrite ?? false);
    } catch (err) {
      throw fromSystemError(err, `The folder "${dirname(target)}"`);
    }
  }

  /**
   * Reopens the temp file an earlier AtomicFile left with `keep()`, to go on writing it (a resumed
   * download). `tempPath` must be a temp name beside `target`; a symlink is refused.
   */
  static async reopen(
    target: string,
    tempPath: string,
    options: AtomicFileOptions = {},
  ): Promise<AtomicFile> {
    if (dirname(tempPath) !== dirname(target) || !isTempName(basename(tempPath))) {
      throw new TypeError(`"${tempPath}" is not a temp file beside "${target}"`);
    }
    try {
      const handle = await open(tempPath, constants.O_RDWR | constants.O_NOFOLLOW);
      return new AtomicFile(target, tempPath, handle, options.overwrite ?? false);
    } catch (err) {
      throw fromSystemError(err, `Cannot reopen "${tempPath}"`);
    }
  }

  /** fsync the data, move it into place, fsync the directory. */
  async commit(): Promise<void> {
    if (this.#state !== 'open') {
      if (this.#state === 'committed') return;
      throw new ArozError('ERR_IO', `Cannot commit "${this.target}": the write was aborted`);
    }
    try {
      await this.handle.sync();
      await this.handle.close();
      if (this.#overwrite) {
        await rename(this.tempPath, this.target);
      } else {
        await linkIntoPlace(this.tempPath, this.target);
      }
      await fsyncDir(dirname(this.target));
      this.#state = 'committed';
    } catch (err) {
      await this.abort();
      throw fromSystemError(err, `Cannot write "${this.target}"`);
    }
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'aborted';
    await this.handle.close().catch(() => {});
    await rm(this.tempPath, { force: true });
  }

  /** Closes the file but leaves the temp file for a later `reopen`; abort and dispose then do nothing. */
  async keep(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'kept';
    await this.handle.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.abort();
  }
}

/**
 * Moves `temp` to `target` unless `target` exists. link() fails with EEXIST instead of replacing;
 * filesystems without hard links (FAT32 external disks) fall back to a checked rename.
 */
async function linkIntoPlace(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw err;
    const exists = await access(target).then(
      () => true,
      () => false,
    );
    if (exists) throw Object.assign(new Error(`EEXIST: ${target}`), { code: 'EEXIST' });
    await rename(temp, target);
    return;
  }
  await unlink(temp);
}

/** Writes `data` to `target` atomically and durably. */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: AtomicFileOptions = {},
): Promise<void> {
  await using file = await AtomicFile.create(target, options);
  try {
    await file.handle.writeFile(data);
  } catch (err) {
    throw fromSystemError(err, `Cannot write "${target}"`);
  }
  await file.commit();
}

/** mkdir -p with a mode; returns nothing. Errors are translated. */
export async function ensureDir(dir: string, mode = 0o755): Promise<void> {
  try {
    await mkdir(dir, { recursive: true, mode });
  } catch (err) {
    throw fromSystemError(err, `Cannot create the folder "${dir}"`);
  }
}
