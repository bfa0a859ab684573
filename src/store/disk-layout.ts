/**
 * The on-disk layout of a disk store (docs/store.md): the `.arozdfs-store` marker, the sharded chunk
 * paths `chunks/ab/cd/<uuid>` with their `<uuid>.json` sidecars, and `trash/`. Paths are built only
 * from a UUID that passed `isUuid`; folders are created one level at a time, never recursively, so
 * a store folder that vanished (an unmounted disk) is never re-created on the root filesystem.
 */
import { constants } from 'node:fs';
import { access, link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ArozError } from '../errors.ts';
import { isUuid } from '../uuid.ts';
import { isSha256Hex } from './checks.ts';
import type { ChunkInfo } from './types.ts';

export const MARKER_NAME = '.arozdfs-store';
export const MARKER_VERSION = 1;
export const CHUNKS_DIR = 'chunks';
export const TRASH_DIR = 'trash';
export const SIDECAR_SUFFIX = '.json';
const MARKER_MAX_BYTES = 4096;

export interface StoreMarker {
  version: typeof MARKER_VERSION;
  storeUuid: string;
  nodeUuid: string;
  createdAt?: string;
}

function assertChunkPathUuid(uuid: string): void {
  // Defence in depth: callers check first; a path is never built from anything else.
  if (!isUuid(uuid)) throw new TypeError(`Refusing to build a chunk path from ${JSON.stringify(uuid)}`);
}

/** `chunks/ab/cd` for a UUID starting with `abcd`. */
export function shardDir(root: string, uuid: string): string {
  assertChunkPathUuid(uuid);
  return join(root, CHUNKS_DIR, uuid.slice(0, 2), uuid.slice(2, 4));
}

export function chunkPath(root: string, uuid: string): string {
  return join(shardDir(root, uuid), uuid);
}

export function sidecarPath(root: string, uuid: string): string {
  return join(shardDir(root, uuid), uuid + SIDECAR_SUFFIX);
}

export function trashPath(root: string, uuid: string): string {
  assertChunkPathUuid(uuid);
  return join(root, TRASH_DIR, uuid);
}

/** Creates `dir` if missing (its parent must exist); returns true if it was created. */
export async function mkdirOne(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { mode: 0o755 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Reads a marker file: the parsed marker, or a string saying what is wrong with it. */
export async function readMarker(root: string): Promise<StoreMarker | string> {
  const fh = await open(join(root, MARKER_NAME), constants.O_RDONLY | constants.O_NOFOLLOW);
  let text: string;
  try {
    const buffer = Buffer.alloc(MARKER_MAX_BYTES + 1);
    const { bytesRead } = await fh.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MARKER_MAX_BYTES) return `the marker is larger than ${MARKER_MAX_BYTES} bytes`;
    text = buffer.toString('utf8', 0, bytesRead);
  } finally {
    await fh.close();
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the marker is not JSON';
  }
  const m = value as Partial<StoreMarker> | null;
  if (typeof m !== 'object' || m === null) return 'the marker is not a JSON object';
  if (m.version !== MARKER_VERSION) return `the marker version ${JSON.stringify(m.version)} is not 1`;
  if (!isUuid(m.storeUuid) || !isUuid(m.nodeUuid)) return 'the marker lacks a valid storeUuid or nodeUuid';
  return { version: MARKER_VERSION, storeUuid: m.storeUuid, nodeUuid: m.nodeUuid };
}

export function encodeMarker(marker: StoreMarker): string {
  return `${JSON.stringify(marker, null, 2)}\n`;
}

export function encodeSidecar(info: ChunkInfo): string {
  const { uuid, sha256, size, uploader, indexId, i, storedAt } = info;
  return `${JSON.stringify({ uuid, sha256, size, uploader, indexId, i, storedAt })}\n`;
}

/** Reads a sidecar; undefined if it does not exist; ERR_IO if it is damaged. */
export async function readSidecar(root: string, uuid: string): Promise<ChunkInfo | undefined> {
  const path = sidecarPath(root, uuid);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const damaged = (what: string) => new ArozError('ERR_IO', `The sidecar "${path}" is damaged: ${what}`);
  let v: Partial<ChunkInfo>;
  try {
    v = JSON.parse(text) as Partial<ChunkInfo>;
  } catch {
    throw damaged('not JSON');
  }
  if (typeof v !== 'object' || v === null || v.uuid !== uuid) throw damaged('wrong or missing uuid');
  if (!isSha256Hex(v.sha256)) throw damaged('bad sha256');
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) throw damaged('bad size');
  if (!isUuid(v.uploader)) throw damaged('bad uploader');
  const info: ChunkInfo = {
    uuid,
    sha256: v.sha256,
    size: v.size as number,
    uploader: v.uploader,
    storedAt: typeof v.storedAt === 'string' ? v.storedAt : '',
  };
  if (isUuid(v.indexId)) info.indexId = v.indexId;
  if (Number.isSafeInteger(v.i)) info.i = v.i as number;
  return info;
}

/**
 * Gives `temp` the name `target` unless `target` exists (EEXIST). link() never replaces;
 * filesystems without hard links (FAT32, exFAT) fall back to a checked rename — safe because one
 * process writes a store and commits of one UUID are serialised.
 */
export async function linkNoReplace(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
    if (await exists(target))
      throw Object.assign(new Error(`EEXIST: "${target}" exists`), { code: 'EEXIST' });
    await rename(temp, target);
    return;
  }
  await unlink(temp);
}

/** ENOENT/ENOTDIR, also when already wrapped in an ArozError (as durable's helpers do). */
export function isNotFound(err: unknown): boolean {
  const raw = err instanceof ArozError ? err.cause : err;
  const code = (raw as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}
