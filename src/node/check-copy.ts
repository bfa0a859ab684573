/**
 * One copy, asked the way `check` asks it: every step bounded by a no-progress timeout that names the
 * node, and a deep read that hashes the whole copy through one reused buffer (src/node/check.ts).
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

/** Reads a whole copy through one reused buffer and returns its SHA-256. */
export async function hashCopy(
  store: ChunkStore,
  chunk: IndexChunk,
  node: string,
  buffer: Buffer,
  o: { ms: number; signal: AbortSignal; onBytes: (n: number) => void },
): Promise<string> {
  const what = `Reading chunk ${chunk.i} from node "${node}"`;
  const reader = await bounded((s) => store.get(chunk.uuid, { signal: s }), o.ms, o.signal, what, node);
  try {
    if (reader.length !== chunk.size) {
      throw differs(chunk, node, `it has ${reader.length} bytes, not ${chunk.size}`);
    }
    const hash = createHash('sha256');
    for (;;) {
      const n = await bounded(() => reader.read(buffer), o.ms, o.signal, what, node);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
      o.onBytes(n);
    }
    return hash.digest('hex');
  } finally {
    await reader.close();
  }
}
