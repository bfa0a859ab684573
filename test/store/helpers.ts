/** Small helpers for the store tests: test data, a whole put, a whole read, a file listing. */
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { TestContext } from 'node:test';
import type { ErrorCode } from '../../src/errors.ts';
import type { ChunkMeta, ChunkReader, ChunkStore, PutResult } from '../../src/store/index.ts';
import { newUuid } from '../../src/uuid.ts';
import { testBytes } from '../helpers/random.ts';

export const KiB = 1024;
export const MiB = 1024 * KiB;

export const UPLOADER = newUuid();
export const OTHER_NODE = newUuid();

export function data(size: number): Buffer {
  return testBytes(size);
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Puts `bytes` in pieces of `piece` bytes, reusing one buffer (as a network reader would). */
export async function put(
  store: ChunkStore,
  uuid: string,
  bytes: Buffer,
  options: { meta?: ChunkMeta; piece?: number; sha?: string } = {},
): Promise<PutResult> {
  const writer = await store.beginPut(uuid, {
    size: bytes.length,
    meta: options.meta ?? { uploader: UPLOADER },
  });
  const reused = Buffer.alloc(options.piece ?? 64 * KiB);
  for (let offset = 0; offset < bytes.length; offset += reused.length) {
    const n = bytes.copy(reused, 0, offset, offset + reused.length);
    await writer.write(reused.subarray(0, n));
  }
  return writer.finish(options.sha ?? sha256(bytes));
}

/** Reads a reader to the end by iteration, copying each borrowed piece. */
export async function readAll(reader: ChunkReader): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const piece of reader) parts.push(Buffer.from(piece));
  return Buffer.concat(parts);
}

/** Reads a reader to the end with `read(into)` and a small caller-owned buffer. */
export async function readInto(reader: ChunkReader, size = 10 * KiB): Promise<Buffer> {
  const parts: Buffer[] = [];
  const buffer = Buffer.alloc(size);
  for (let n = await reader.read(buffer); n > 0; n = await reader.read(buffer)) {
    parts.push(Buffer.from(buffer.subarray(0, n)));
  }
  return Buffer.concat(parts);
}

/** Every file and folder (with a trailing `/`) under `dirs`, relative and sorted. */
export async function listTree(...dirs: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const dir of dirs) {
    try {
      for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
        const path = relative(dir, join(e.parentPath, e.name));
        out.push(e.isDirectory() ? `${path}/` : path);
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return out.sort();
}

/** Only the files of a listing (shard folders made by a put may stay). */
export function filesOnly(list: string[] | undefined): string[] | undefined {
  return list?.filter((path) => !path.endsWith('/'));
}

/** Asserts that `promise` rejects with an ArozError of `code`. */
export async function rejectsWith(t: TestContext, promise: Promise<unknown>, code: ErrorCode, what?: string) {
  await t.assert.rejects(promise, { name: 'ArozError', code }, what);
}
