/**
 * Where the bytes of a disk put go: a temp file in the chunk's shard folder, written with the
 * caller's pieces (no copies). Whole 4 KiB pieces of page-aligned memory (a receiving node's pooled
 * buffers, an upload's ring) go through a second O_DIRECT handle where the file system allows it,
 * past the page cache; everything else through the ordinary handle (chunk/writer.ts). `commit`
 * fdatasyncs the file (one inode: both handles' writes) and hands it to the store, which makes it
 * visible without ever replacing a chunk; `discard` removes it. Either way the reservation ends and
 * both handles are closed.
 */
import { randomBytes } from 'node:crypto';
import type { promises as fsp } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DIRECT_ALIGN } from '../chunk/direct-handles.ts';
import { PieceWriter } from '../chunk/writer.ts';
import { fsyncDir, writeFileAtomic } from '../durable/index.ts';
import { ArozError } from '../errors.ts';
import type { PutTarget } from './checked-writer.ts';
import {
  CHUNKS_DIR,
  chunkPath,
  encodeSidecar,
  exists,
  linkNoReplace,
  mkdirOne,
  shardDir,
  sidecarPath,
} from './disk-layout.ts';
import type { Reservation } from './space.ts';
import type { ChunkInfo, PutResult } from './types.ts';

/** The store's half of a commit: link the synced temp file into place (serialised per UUID). */
export type CommitFile = (tempPath: string, info: ChunkInfo) => Promise<PutResult>;

/** Creates `chunks/ab/cd` one level at a time (never the store folder itself), fsyncing parents. */
export async function ensureShard(root: string, uuid: string): Promise<string> {
  const shard = shardDir(root, uuid);
  const top = dirname(shard);
  if (await mkdirOne(top)) await fsyncDir(join(root, CHUNKS_DIR));
  if (await mkdirOne(shard)) await fsyncDir(top);
  return shard;
}

/**
 * Makes the synced `temp` file chunk `info.uuid` (the caller holds the UUID's lock and saw no
 * chunk). The sidecar goes first: alone, it marks an unfinished put (removed at open); the
 * no-replace link of the chunk file is the commit point; then the folder is fsynced.
 */
export async function commitChunkFile(root: string, temp: string, info: ChunkInfo): Promise<void> {
  const target = chunkPath(root, info.uuid);
  const sidecar = sidecarPath(root, info.uuid);
  if (await exists(target)) {
    throw new ArozError(
      'ERR_CHUNK_CONFLICT',
      `Chunk file "${target}" exists without a sidecar; it is never replaced`,
    );
  }
  await writeFileAtomic(sidecar, encodeSidecar(info), { overwrite: true });
  try {
    await linkNoReplace(temp, target);
  } catch (err) {
    await rm(sidecar, { force: true });
    throw err;
  }
  await fsyncDir(dirname(target));
}

export class DiskPutTarget implements PutTarget {
  readonly tempPath: string;
  #fh: fsp.FileHandle;
  #writer: PieceWriter;
  #reservation: Reservation;
  #commitFile: CommitFile;
  #closed = false;
  #discarding: Promise<void> | undefined;

  private constructor(
    tempPath: string,
    fh: fsp.FileHandle,
    writer: PieceWriter,
    reservation: Reservation,
    commit: CommitFile,
  ) {
    this.tempPath = tempPath;
    this.#fh = fh;
    this.#writer = writer;
    this.#reservation = reservation;
    this.#commitFile = commit;
  }

  /**
   * Opens a new temp file (named like durable's temp files, so removeStaleTemps finds it) for a chunk
   * of `size` bytes; one of 4 KiB or more also gets an O_DIRECT handle where the file system allows.
   */
  static async create(
    shard: string,
    uuid: string,
    size: number,
    reservation: Reservation,
    commit: CommitFile,
  ): Promise<DiskPutTarget> {
    const tempPath = join(shard, `.${uuid}.${randomBytes(6).toString('hex')}.arozdfs-tmp`);
    const fh = await open(tempPath, 'wx', 0o644);
    try {
      const writer = await PieceWriter.open(tempPath, fh, `chunk "${uuid}"`, size >= DIRECT_ALIGN);
      return new DiskPutTarget(tempPath, fh, writer, reservation, commit);
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(tempPath, { force: true });
      throw err;
    }
  }

  /** True while whole aligned pieces of page-aligned memory go through O_DIRECT. */
  get direct(): boolean {
    return this.#writer.direct;
  }

  /** Bytes of this put written through O_DIRECT so far. */
  get directBytes(): number {
    return this.#writer.directBytes;
  }

  async write(piece: Uint8Array, position: number): Promise<void> {
    await this.#writer.write(piece, position);
    this.#reservation.written += piece.byteLength;
  }

  async commit(info: ChunkInfo): Promise<PutResult> {
    try {
      await this.#fh.datasync();
      await this.#close();
      return await this.#commitFile(this.tempPath, info);
    } finally {
      await this.discard();
    }
  }

  /** Idempotent: after a commit the temp name is already gone and `rm` is a no-op. */
  discard(): Promise<void> {
    this.#discarding ??= (async () => {
      try {
        await this.#close();
        await rm(this.tempPath, { force: true });
      } finally {
        this.#reservation.release();
      }
    })();
    return this.#discarding;
  }

  async #close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writer.close().catch(() => {});
    await this.#fh.close().catch(() => {});
  }
}
