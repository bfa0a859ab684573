/**
 * The trash of a disk store: a deleted chunk and its sidecar are renamed into `trash/` (the rename
 * of the chunk file is the commit point of the delete) and stay there until a purge removes those
 * deleted long enough ago. Trashed bytes still count as used. When a chunk was deleted is the
 * modification time of its trashed file, set just before the rename (a chunk file is never written
 * again once visible, so nothing else reads that time).
 */
import { lstat, readdir, rename, rm, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../durable/index.ts';
import { isUuid } from '../uuid.ts';
import { throwIfAborted } from './checks.ts';
import { chunkPath, isNotFound, SIDECAR_SUFFIX, sidecarPath, TRASH_DIR, trashPath } from './disk-layout.ts';

/**
 * Moves chunk `uuid` into the trash (the caller holds its lock and checked the uploader). Returns
 * the size of an older trashed copy of the same UUID that this one replaced, else 0.
 */
export async function moveToTrash(root: string, uuid: string): Promise<number> {
  const trashed = trashPath(root, uuid);
  let replaced = 0;
  try {
    replaced = (await lstat(trashed)).size;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const now = new Date();
  await utimes(chunkPath(root, uuid), now, now);
  await rename(chunkPath(root, uuid), trashed);
  await rename(sidecarPath(root, uuid), trashed + SIDECAR_SUFFIX);
  await fsyncDir(join(root, TRASH_DIR));
  await fsyncDir(dirname(chunkPath(root, uuid)));
  return replaced;
}

export interface TrashEntry {
  uuid: string;
  size: number;
  /** When the chunk was moved to the trash (its modification time, set by `moveToTrash`). */
  deletedAtMs: number;
}

export async function trashEntries(trashDir: string): Promise<TrashEntry[]> {
  const entries: TrashEntry[] = [];
  for (const name of await readdir(trashDir)) {
    if (!isUuid(name)) continue;
    const st = await lstat(join(trashDir, name));
    if (st.isFile()) entries.push({ uuid: name, size: st.size, deletedAtMs: st.mtimeMs });
  }
  return entries;
}

/**
 * Removes trashed chunks deleted at or before `cutoffMs`; returns the purged entries. The signal
 * stops it between two chunks: what was purged until then is returned, so the counts stay right.
 */
export async function purgeTrashDir(
  trashDir: string,
  cutoffMs: number,
  signal?: AbortSignal,
): Promise<TrashEntry[]> {
  throwIfAborted(signal, `The trash purge of "${trashDir}"`);
  const purged: TrashEntry[] = [];
  for (const entry of await trashEntries(trashDir)) {
    if (signal?.aborted) break;
    if (entry.deletedAtMs > cutoffMs) continue;
    await rm(join(trashDir, entry.uuid + SIDECAR_SUFFIX), { force: true });
    await rm(join(trashDir, entry.uuid), { force: true });
    purged.push(entry);
  }
  return purged;
}
