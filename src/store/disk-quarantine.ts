/**
 * The quarantine of a disk store (docs/store.md "Scrub and quarantine"): a copy whose bytes no longer
 * match its own record is renamed, with its sidecar, into `quarantine/` — out of `chunks/`, so it is
 * never served and no longer counts as held; its bytes still count as used until a person removes
 * them. Also the walk the scrub makes: chunk UUIDs in ascending order after a given one, so a pass
 * can stop anywhere and resume from the last UUID it checked.
 */
import { lstat, readdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fsyncDir } from '../durable/index.ts';
import { isUuid } from '../uuid.ts';
import { CHUNKS_DIR, chunkPath, isNotFound, mkdirOne, SIDECAR_SUFFIX, sidecarPath } from './disk-layout.ts';

export const QUARANTINE_DIR = 'quarantine';
const SHARD = /^[0-9a-f]{2}$/;

async function sortedNames(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/** Up to `limit` stored chunk UUIDs greater than `after` ('' for the first), in ascending order. */
export async function chunksAfter(root: string, after: string, limit: number): Promise<string[]> {
  const found: string[] = [];
  const chunks = join(root, CHUNKS_DIR);
  for (const top of await sortedNames(chunks)) {
    if (!SHARD.test(top) || top < after.slice(0, 2)) continue;
    for (const sub of await sortedNames(join(chunks, top))) {
      if (!SHARD.test(sub) || top + sub < after.slice(0, 4)) continue;
      const names = await sortedNames(join(chunks, top, sub));
      const present = new Set(names);
      for (const name of names) {
        if (name <= after || !isUuid(name) || !present.has(name + SIDECAR_SUFFIX)) continue;
        found.push(name);
        if (found.length >= limit) return found;
      }
    }
  }
  return found;
}

/** Moves chunk `uuid` and its sidecar into the quarantine (the caller holds its lock). */
export async function moveToQuarantine(root: string, uuid: string): Promise<void> {
  const dir = join(root, QUARANTINE_DIR);
  await mkdirOne(dir);
  await rename(chunkPath(root, uuid), join(dir, uuid));
  await rename(sidecarPath(root, uuid), join(dir, uuid + SIDECAR_SUFFIX));
  await fsyncDir(dir);
  await fsyncDir(dirname(chunkPath(root, uuid)));
}

/** Chunks and bytes in the quarantine folder. */
export async function quarantineCounts(root: string): Promise<{ chunks: number; bytes: number }> {
  const counts = { chunks: 0, bytes: 0 };
  const dir = join(root, QUARANTINE_DIR);
  for (const name of await sortedNames(dir)) {
    if (!isUuid(name)) continue;
    const st = await lstat(join(dir, name));
    if (!st.isFile()) continue;
    counts.chunks++;
    counts.bytes += st.size;
  }
  return counts;
}
