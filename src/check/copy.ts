/**
 * One copy, asked the way `check` asks it: every step bounded by a no-progress timeout that names the
 * node, and a deep read that hashes the whole copy through one reused buffer (src/check/index.ts).
 */
import { createHash } from 'node:crypto';
import { ArozError } from '../errors.ts';
import type { IndexChunk } from '../index-file/index.ts';
import type { ChunkStore } from '../store/types.ts';
import { idle } from '../transfer/idle.ts';

export function differs(chunk: IndexChunk, node: string, how: string): ArozError {
  return new ArozError(
    'ERR_CHUNK_HASH',
    `The copy of chunk ${chunk.i} ("${chunk.uuid}") on node "${node}" is corrupted: ${how}`,
  );
}

/** Runs `work` with a no-progress timeout of `ms` (ERR_TIMEOUT naming the node) and the caller's signal. */
export function bounded<T>(
  work: (signal: AbortSignal) => Promise<T>,
  ms: number,
  signal: AbortSignal,
  doing: string,
  node: string,
): Promise<T> {
  const attempt = new AbortController();
  return idle(work(AbortSignal.any([signal, attempt.signal])), {
    ms,
    signal,
    doing,
    timeout: () => new ArozError('ERR_TIMEOUT', `Node "${node}" did not answer within ${ms} ms`),
    onTimeout: () => attempt.abort(new ArozError('ERR_TIMEOUT', `${doing} timed out`)),
  });
}

/**
 * A copy that is intact by its holder's own record, but whose record (and bytes) disagree with the
 * index: the index changed, not the copy (ERR_INDEX_MISMATCH).
 */
export function disagrees(chunk: IndexChunk, node: string, how: string): ArozError {
  return new ArozError(
    'ERR_INDEX_MISMATCH',
    `The copy of chunk ${chunk.i} ("${chunk.uuid}") on node "${node}" ${how}, but the index says SHA-256 "${chunk.sha256.slice(0, 12)}…", size ${chunk.size}`,
  );
}

/**
 * Reads a whole copy through one reused buffer: its SHA-256 (undefined, unread, when the copy has
 * the size its holder recorded but the index says another), and the SHA-256 its holder recorded.
 */
export async function hashCopy(
  store: ChunkStore,
  chunk: IndexChunk,
  node: string,
  buffer: Buffer,
  o: { ms: number; signal: AbortSignal; onBytes: (n: number) => void },
): Promise<{ sha256: string | undefined; recorded: string }> {
  const what = `Reading chunk ${chunk.i} from node "${node}"`;
  const reader = await bounded((s) => store.get(chunk.uuid, { signal: s }), o.ms, o.signal, what, node);
  try {
    if (reader.length !== chunk.size) {
      // As long as its holder recorded: the index, not the copy, says another size (not read).
      if (reader.length === reader.info.size) return { sha256: undefined, recorded: reader.info.sha256 };
      throw differs(chunk, node, `it has ${reader.length} bytes, not ${chunk.size}`);
    }
    const hash = createHash('sha256');
    for (;;) {
      const n = await bounded(() => reader.read(buffer), o.ms, o.signal, what, node);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      o.onBytes(n);
    }
    return { sha256: hash.digest('hex'), recorded: reader.info.sha256 };
  } finally {
    await reader.close();
  }
}
