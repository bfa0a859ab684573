/**
 * What a disk store does when it comes online: create `chunks/` and `trash/` inside the marked
 * folder, remove stale temp files and sidecars of puts that never completed (a crash between the
 * sidecar and the chunk), and count the bytes used.
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { removeStaleTemps } from '../durable/index.ts';
import { isUuid } from '../uuid.ts';
import { throwIfAborted } from './checks.ts';
import { CHUNKS_DIR, mkdirOne, SIDECAR_SUFFIX, TRASH_DIR } from './disk-layout.ts';
import { quarantineCounts } from './disk-quarantine.ts';
import { trashEntries } from './disk-trash.ts';

export interface ScanResult {
  chunks: number;
  /** Bytes of chunk files, including any without a sidecar. */
  bytes: number;
  trashChunks: number;
  trashBytes: number;
  quarantineChunks: number;
  quarantineBytes: number;
  tempsRemoved: number;
  orphansRemoved: number;
}

const SHARD = /^[0-9a-f]{2}$/;

async function listDirs(dir: string, pattern: RegExp): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  return entries.filter((e) => e.isDirectory() && pattern.test(e.name)).map((e) => join(dir, e.name));
}

/**
 * Scans a store whose marker was just read as valid. With `clean`, also removes stale temp files
 * and orphan sidecars — only safe when no put of this process is in progress.
 */
export async function scanStore(
  root: string,
  options: { clean: boolean; signal?: AbortSignal | undefined },
): Promise<ScanResult> {
  const { clean, signal } = options;
  const result: ScanResult = {
    chunks: 0,
    bytes: 0,
    trashChunks: 0,
    trashBytes: 0,
    quarantineChunks: 0,
    quarantineBytes: 0,
    tempsRemoved: 0,
    orphansRemoved: 0,
  };
  await mkdirOne(join(root, CHUNKS_DIR));
  await mkdirOne(join(root, TRASH_DIR));
  for (const top of await listDirs(join(root, CHUNKS_DIR), SHARD)) {
    for (const shard of await listDirs(top, SHARD)) {
      throwIfAborted(signal, `The scan of store "${root}"`);
      if (clean) result.tempsRemoved += await removeStaleTemps(shard);
      const names = new Set(await readdir(shard));
      for (const name of names) {
        if (isUuid(name as unknown)) {
          const st = await lstat(join(shard, name));
          if (!st.isFile()) continue;
          result.bytes += st.size;
          if (names.has(name + SIDECAR_SUFFIX)) result.chunks++;
        } else if (name.endsWith(SIDECAR_SUFFIX)) {
          const uuid = name.slice(0, -SIDECAR_SUFFIX.length);
          if (clean && isUuid(uuid) && !names.has(uuid)) {
            // The sidecar is written before the chunk is linked: alone, it is an unfinished put.
            await rm(join(shard, name), { force: true });
            result.orphansRemoved++;
          }
        }
      }
    }
  }
  const trash = await trashEntries(join(root, TRASH_DIR));
  for (const entry of trash) {
    result.trashChunks++;
    result.trashBytes += entry.size;
  }
  const quarantine = await quarantineCounts(root);
  result.quarantineChunks = quarantine.chunks;
  result.quarantineBytes = quarantine.bytes;
  return result;
}
