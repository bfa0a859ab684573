/**
 * Re-reading one stored copy and hashing it, where it is stored (the `verify` task and the scrub):
 * `ok` when its bytes match the store's own record (and the SHA-256 and size the caller expects, if
 * it names them), `corrupt` when they do not (or the file no longer has its recorded size), `missing`
 * when the store does not hold it. Never moves a byte off the machine; never changes the store.
 */
import { createHash } from 'node:crypto';
import { isArozError } from '../errors.ts';
import { PIECE_SIZE } from './checks.ts';
import type { ChunkStore } from './types.ts';

export type CopyState = 'ok' | 'corrupt' | 'missing';

export interface CopyVerdict {
  state: CopyState;
  /** What the store recorded when it kept the copy (absent when missing). */
  recorded?: { sha256: string; size: number };
  /**
   * The SHA-256 of the bytes read; null when they were not (all) read: the recorded size differs
   * from the one expected, or the file is not as long as its record says.
   */
  actual: string | null;
}

export interface VerifyOptions {
  signal?: AbortSignal;
  /** Reused 1 MiB buffer (one is made if not given). */
  buffer?: Buffer;
  /** Called after each piece is hashed; its promise is awaited (pacing, pausing). */
  onBytes?: (n: number) => void | Promise<void>;
}

export async function verifyCopy(
  store: ChunkStore,
  uuid: string,
  expect: { sha256?: string; size?: number },
  options: VerifyOptions = {},
): Promise<CopyVerdict> {
  const signal = options.signal;
  const info = await store.head(uuid, signal ? { signal } : {});
  if (info === undefined) return { state: 'missing', actual: null };
  const recorded = { sha256: info.sha256, size: info.size };
  if (expect.size !== undefined && expect.size !== info.size)
    return { state: 'corrupt', recorded, actual: null };
  const buffer = options.buffer ?? Buffer.allocUnsafeSlow(PIECE_SIZE);
  const hash = createHash('sha256');
  try {
    await using reader = await store.get(uuid, signal ? { signal } : {});
    for (;;) {
      const n = await reader.read(buffer);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      await options.onBytes?.(n);
    }
  } catch (err) {
    if (isArozError(err, 'ERR_CHUNK_MISSING')) return { state: 'missing', actual: null };
    if (isArozError(err, 'ERR_CHUNK_SIZE')) return { state: 'corrupt', recorded, actual: null };
    throw err;
  }
  const actual = hash.digest('hex');
  const ok = actual === info.sha256 && (expect.sha256 === undefined || actual === expect.sha256);
  return { state: ok ? 'ok' : 'corrupt', recorded, actual };
}
