/**
 * What a test needs to see O_DIRECT at work: whether a folder's file system takes direct writes from
 * page-aligned memory, and how many bytes of a file sit in the page cache (fincore, util-linux). A
 * file written with O_DIRECT has none there until something reads it.
 */
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { alignedBuffers, onLocalDisk } from '../../src/chunk/aligned.ts';
import { isProgrammingError } from '../../src/errors.ts';

const run = promisify(execFile);

/**
 * True when arozdfs writes to `dir` with O_DIRECT: it is on a local disk file system (onLocalDisk) and
 * a 4 KiB write from page-aligned memory through O_DIRECT works there.
 */
export async function directIoWorks(dir: string): Promise<boolean> {
  if (constants.O_DIRECT === undefined || !(await onLocalDisk(dir))) return false;
  const probe = join(dir, '.direct-probe');
  try {
    const fh = await open(probe, constants.O_CREAT | constants.O_WRONLY | constants.O_DIRECT, 0o600);
    try {
      const [page] = alignedBuffers(1, 4096);
      await fh.write(page!, 0, 4096, 0);
      return true;
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (isProgrammingError(err)) throw err;
    return false;
  } finally {
    await rm(probe, { force: true });
  }
}

/** Bytes of `path` in the page cache; undefined where fincore is not installed. */
export async function residentBytes(path: string): Promise<number | undefined> {
  try {
    const { stdout } = await run('fincore', ['--bytes', '--noheadings', '--output', 'RES', path]);
    return Number(stdout.trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
