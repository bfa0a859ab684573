/**
 * Is a store folder this node's store right now? Reads the `.arozdfs-store` marker and answers
 * online, or offline with a reason. Also creates a store (the only place a marker is written):
 * only in a new or empty folder, so a mount point is never claimed by accident.
 */
import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../durable/index.ts';
import { ArozError, fromSystemError } from '../errors.ts';
import { newUuid } from '../uuid.ts';
import { encodeMarker, MARKER_NAME, MARKER_VERSION, readMarker, type StoreMarker } from './disk-layout.ts';
import type { OfflineReason } from './types.ts';

export type Health =
  | { online: true; storeUuid: string }
  | { online: false; reason: OfflineReason; message: string };

function offline(reason: OfflineReason, message: string): Health {
  return { online: false, reason, message };
}

/** Never throws for a missing or bad marker: that is an offline store, not an error. */
export async function markerHealth(
  root: string,
  nodeUuid: string,
  expectedStoreUuid?: string,
): Promise<Health> {
  let marker: StoreMarker | string;
  try {
    marker = await readMarker(root);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      const isDir = await stat(root).then(
        (st) => st.isDirectory(),
        () => false,
      );
      return isDir
        ? offline('missing-marker', `"${join(root, MARKER_NAME)}" is missing (is the disk mounted?)`)
        : offline('missing-folder', `the folder "${root}" is gone (is the disk mounted?)`);
    }
    if (code === 'ELOOP') return offline('bad-marker', `"${join(root, MARKER_NAME)}" is a symbolic link`);
    return offline('io-error', `cannot read "${join(root, MARKER_NAME)}": ${code ?? String(err)}`);
  }
  if (typeof marker === 'string') return offline('bad-marker', `"${join(root, MARKER_NAME)}": ${marker}`);
  if (marker.nodeUuid !== nodeUuid) {
    return offline('foreign-marker', `its marker belongs to node "${marker.nodeUuid}", not this node`);
  }
  if (expectedStoreUuid !== undefined && marker.storeUuid !== expectedStoreUuid) {
    return offline(
      'foreign-marker',
      `its marker names store "${marker.storeUuid}", not "${expectedStoreUuid}"`,
    );
  }
  return { online: true, storeUuid: marker.storeUuid };
}

/**
 * Writes a marker into `root` (created if missing). Refuses with ERR_STORE_EXISTS when the folder
 * holds anything but this node's own marker; returns the store UUID (the existing one if the
 * folder already is this node's store).
 */
export async function writeMarker(root: string, nodeUuid: string, storeUuid?: string): Promise<string> {
  const health = await markerHealth(root, nodeUuid, storeUuid);
  if (health.online) return health.storeUuid;
  if (health.reason !== 'missing-folder' && health.reason !== 'missing-marker') {
    throw new ArozError('ERR_STORE_EXISTS', `Cannot create a store in "${root}": ${health.message}`);
  }
  try {
    await mkdir(root, { recursive: true, mode: 0o755 });
    const names = await readdir(root);
    if (names.length > 0) {
      throw new ArozError(
        'ERR_STORE_EXISTS',
        `Cannot create a store in "${root}": the folder is not empty and has no store marker`,
      );
    }
    const marker: StoreMarker = {
      version: MARKER_VERSION,
      storeUuid: storeUuid ?? newUuid(),
      nodeUuid,
      createdAt: new Date().toISOString(),
    };
    await writeFileAtomic(join(root, MARKER_NAME), encodeMarker(marker));
    return marker.storeUuid;
  } catch (err) {
    throw fromSystemError(err, `Cannot create a store in "${root}"`);
  }
}
