/**
 * Reading keys and trust only from paths no one else could have written. A file or folder that is
 * group- or world-writable, a symlink, or owned by another user is refused with ERR_INSECURE_PATH
 * naming the path: whoever can write there could add trust or swap a key. Private keys must also be
 * unreadable by group and others. Files are opened with O_NOFOLLOW and checked on the open handle, so
 * a swap between check and read is caught.
 */
import { constants, type Stats } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import { ArozError, type ErrorCode, fromSystemError } from '../errors.ts';

const GROUP_OR_WORLD_WRITABLE = 0o022;
const GROUP_OR_WORLD_ANY = 0o077;

function currentUid(): number | undefined {
  return typeof process.getuid === 'function' ? process.getuid() : undefined;
}

function checkOwnerAndMode(path: string, stats: Stats, secret: boolean): void {
  const uid = currentUid();
  if (uid !== undefined && stats.uid !== uid) {
    throw new ArozError(
      'ERR_INSECURE_PATH',
      `Refusing "${path}": it is owned by user ${stats.uid}, not by this user (${uid})`,
    );
  }
  const loose = stats.mode & (secret ? GROUP_OR_WORLD_ANY : GROUP_OR_WORLD_WRITABLE);
  if (loose !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    const fix = secret ? 'chmod 600' : stats.isDirectory() ? 'chmod 700' : 'chmod 600';
    throw new ArozError(
      'ERR_INSECURE_PATH',
      `Refusing "${path}": its mode ${mode} lets ${secret ? 'other users read or write it' : 'other users write it'} (fix: ${fix} "${path}")`,
    );
  }
}

/** Checks one folder: a real directory (not a symlink), ours, not group/world-writable. */
export async function assertSecureDir(path: string): Promise<void> {
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (err) {
    throw fromSystemError(err, `"${path}"`);
  }
  if (stats.isSymbolicLink()) {
    throw new ArozError('ERR_INSECURE_PATH', `Refusing "${path}": it is a symbolic link`);
  }
  if (!stats.isDirectory()) {
    throw new ArozError('ERR_NOT_A_DIRECTORY', `"${path}" is not a folder`);
  }
  checkOwnerAndMode(path, stats, false);
}

/** Checks every folder from `root` down to `dir` (both included); `dir` must be inside `root`. */
export async function assertSecureChain(root: string, dir: string): Promise<void> {
  const from = resolve(root);
  const rel = relative(from, resolve(dir));
  if (rel.startsWith('..') || rel.startsWith(sep)) {
    throw new RangeError(`assertSecureChain: "${dir}" is not inside "${root}"`);
  }
  let current = from;
  await assertSecureDir(current);
  for (const part of rel === '' ? [] : rel.split(sep)) {
    current = resolve(current, part);
    await assertSecureDir(current);
  }
}

/**
 * Checks a file without reading it: a regular file (not a symlink), ours, not group/world-writable
 * (nor readable when `secret`). Returns its stats.
 */
export async function assertSecureFile(path: string, secret = false): Promise<Stats> {
  let stats: Stats;
  try {
    stats = await lstat(path);
  } catch (err) {
    throw fromSystemError(err, `"${path}"`);
  }
  if (stats.isSymbolicLink()) {
    throw new ArozError('ERR_INSECURE_PATH', `Refusing "${path}": it is a symbolic link`);
  }
  if (!stats.isFile()) throw new ArozError('ERR_NOT_A_FILE', `"${path}" is not a regular file`);
  checkOwnerAndMode(path, stats, secret);
  return stats;
}

export interface SecureReadOptions {
  /** Refuse larger files with `tooLarge` (default ERR_KEY_INVALID). */
  maxBytes: number;
  tooLarge?: ErrorCode;
  /** A secret (private key): must not be readable by group or others either. */
  secret?: boolean;
}

/**
 * Reads a small file that must be a regular file, not a symlink, ours, and not group/world-writable
 * (nor readable, for secrets). ENOENT surfaces as ERR_FILE_NOT_FOUND.
 */
export async function readSecureFile(path: string, options: SecureReadOptions): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new ArozError('ERR_INSECURE_PATH', `Refusing "${path}": it is a symbolic link`, { cause: err });
    }
    throw fromSystemError(err, `"${path}"`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ArozError('ERR_NOT_A_FILE', `"${path}" is not a regular file`);
    checkOwnerAndMode(path, stats, options.secret === true);
    if (stats.size > options.maxBytes) {
      throw new ArozError(
        options.tooLarge ?? 'ERR_KEY_INVALID',
        `"${path}" is ${stats.size} bytes; at most ${options.maxBytes} are expected here`,
      );
    }
    // Sized by the file (one byte more, to notice growth), not by the cap: a cap of 1 MiB for a
    // config of a few hundred bytes made every start and every CLI command zero-fill megabytes.
    let buffer = Buffer.alloc(stats.size + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        const bigger = Buffer.alloc(Math.min(options.maxBytes + 1, buffer.length * 2));
        buffer.copy(bigger, 0, 0, length);
        buffer.fill(0); // a secret's bytes are not left behind in the smaller buffer
        buffer = bigger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > options.maxBytes) {
        throw new ArozError(
          options.tooLarge ?? 'ERR_KEY_INVALID',
          `"${path}" grew past ${options.maxBytes} bytes while read`,
        );
      }
    }
    return buffer.subarray(0, length);
  } catch (err) {
    throw fromSystemError(err, `"${path}"`);
  } finally {
    await handle.close();
  }
}
