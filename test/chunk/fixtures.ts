/** Small real files for the slice and merge tests: random content, folder listings, error checks. */
import { createHash } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { isArozError } from '../../src/errors.ts';
import { testBytes } from '../helpers/random.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Writes `size` random bytes to `path` and returns them (keep sizes to a few MiB). */
export async function randomFile(path: string, size: number): Promise<Buffer> {
  const data = testBytes(size);
  await writeFile(path, data);
  return data;
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Every file and folder under `dir`, relative and sorted (folders end in "/"); [] if `dir` is gone. */
export async function listTree(dir: string): Promise<string[]> {
  let entries: Array<{ name: string; parentPath: string; isDirectory(): boolean }>;
  try {
    entries = await readdir(dir, { recursive: true, withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .map((e) => {
      const rel = join(e.parentPath, e.name).slice(dir.length + 1);
      return e.isDirectory() ? `${rel}/` : rel;
    })
    .sort();
}

/** Asserts that `promise` rejects with an ArozError of `code`. */
export async function rejectsWith(t: TestContext, promise: Promise<unknown>, code: string): Promise<void> {
  await t.assert.rejects(promise, (err: unknown) => {
    if (isArozError(err) && err.code === code) return true;
    throw new Error(`expected ${code}, got ${String((err as { code?: unknown }).code)}: ${String(err)}`, {
      cause: err,
    });
  });
}
