/**
 * Snapshots of a folder tree, to prove that a refused command wrote nothing: every entry with its
 * type, mode, owner and (for files) SHA-256 of its content, or (for symlinks) its target.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';

export type Snapshot = Record<string, string>;

export async function snapshot(root: string): Promise<Snapshot> {
  const out: Snapshot = {};
  async function walk(path: string): Promise<void> {
    const stats = await lstat(path);
    const rel = relative(root, path) || '.';
    const meta = `mode=${(stats.mode & 0o7777).toString(8)} uid=${stats.uid}`;
    if (stats.isSymbolicLink()) {
      out[rel] = `link -> ${await readlink(path)} ${meta}`;
    } else if (stats.isDirectory()) {
      out[rel] = `dir ${meta}`;
      for (const name of (await readdir(path)).sort()) await walk(join(path, name));
    } else if (stats.isFile()) {
      out[rel] = `file ${meta} sha256=${createHash('sha256')
        .update(await readFile(path))
        .digest('hex')}`;
    } else {
      out[rel] = `other ${meta}`;
    }
  }
  await walk(root);
  return out;
}
