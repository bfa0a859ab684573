/**
 * Downloading encrypted chunks (docs/encryption.md): a sealed chunk (ciphertext ‖ 16-byte tag) is
 * opened as it streams — the plain bytes go to their place in the partial file, the tag is kept —
 * and counts only when both its SHA-256 (of what is stored) and its GCM tag check out. A copy that
 * fails either is dropped and the next source tried; a copy whose bytes match the index but do not
 * authenticate is ERR_DECRYPT_FAILED (sealed with another key: the index or the copy was forged).
 */
import { createHash } from 'node:crypto';
import { alignedBuffers, PAGE_SIZE } from '../chunk/aligned.ts';
import { ChunkOpener, TAG_BYTES } from '../crypto/index.ts';
import { ArozError, isArozError } from '../errors.ts';
import type { IndexChunk } from '../index-file/index.ts';
import { type FetchContext, localFailures, noProgress, writeLocal } from './fetch.ts';
import { answerOf, formatAnswer, idle, isFatal, readFull, Watchdog } from './idle.ts';
import { type NodeAnswer, PIECE } from './types.ts';

/** The file key and index id a chunk was sealed under. */
export interface OpenKey {
  key: Uint8Array;
  indexId: string;
}

/**
 * Where a chunk's stored bytes go, in order: plain bytes straight to the file; sealed ones opened
 * first, the tag kept for `end`.
 */
export interface ChunkSink {
  write(bytes: Buffer, storedPos: number): Promise<void>;
  /** After the last byte: ERR_DECRYPT_FAILED when a sealed chunk does not authenticate. */
  end(): void;
}

export function plainSink(ctx: FetchContext, chunk: IndexChunk): ChunkSink {
  return {
    write: (bytes, pos) => writeLocal(ctx, bytes, chunk.offset + pos),
    end: () => {},
  };
}

export function sealedSink(ctx: FetchContext, chunk: IndexChunk, open: OpenKey): ChunkSink {
  const opener = new ChunkOpener(open.key, open.indexId, chunk.i, `Chunk ${chunk.i} ("${chunk.uuid}")`);
  const tag = Buffer.alloc(TAG_BYTES);
  // The plain bytes are copied into page-aligned memory, so a whole piece goes to the file with
  // O_DIRECT (src/chunk/writer.ts): a buffered write's copy into fresh page-cache pages cost more
  // than this copy. Each write is over before the next one comes (the callers await it).
  let plain: Buffer | undefined;
  return {
    write: async (bytes, pos) => {
      const cipherEnd = Math.max(0, Math.min(bytes.length, chunk.size - pos));
      if (cipherEnd > 0) {
        const opened = opener.update(bytes.subarray(0, cipherEnd));
        // A piece at most, and no more than the chunk needs (a small file's chunk is small).
        plain ??= alignedBuffers(
          1,
          Math.min(PIECE, Math.ceil(chunk.size / PAGE_SIZE) * PAGE_SIZE || PAGE_SIZE),
        )[0]!;
        const out = opened.length <= plain.length ? plain.subarray(0, opened.copy(plain)) : opened;
        await writeLocal(ctx, out, chunk.offset + pos);
      }
      if (cipherEnd < bytes.length) bytes.copy(tag, pos + cipherEnd - chunk.size, cipherEnd);
    },
    end: () => opener.final(tag),
  };
}

/** Fetches a sealed whole copy of `chunk` into the file from its holders, then other online nodes. */
export async function fetchSealedCopy(ctx: FetchContext, chunk: IndexChunk, open: OpenKey): Promise<string> {
  const holders = [
    ...new Set([...(chunk.holders ?? []).map((h) => h.node), ...(ctx.holdersOf?.(chunk.uuid) ?? [])]),
  ];
  const others = [...new Set(ctx.onlineNodes())].filter((n) => !holders.includes(n));
  const order = [...holders.sort((a, b) => ctx.nodes.strikes(a) - ctx.nodes.strikes(b)), ...others];
  const answers: NodeAnswer[] = [];
  const errors: unknown[] = [];
  const stored = chunk.size + TAG_BYTES;
  for (const node of order) {
    let written = 0;
    try {
      const store = await ctx.nodes.store(node);
      const getting = store.get(chunk.uuid, { signal: ctx.signal });
      const reader = await wait(ctx, chunk, node, getting).catch((err: unknown) => {
        void getting.then((late) => late.close()).catch(() => {});
        throw err;
      });
      try {
        if (reader.length !== stored) {
          throw new ArozError(
            'ERR_CHUNK_SIZE',
            `Node "${node}" holds chunk ${chunk.i} ("${chunk.uuid}") with ${reader.length} bytes; sealed it has ${stored}`,
          );
        }
        const sink = sealedSink(ctx, chunk, open);
        const hash = createHash('sha256');
        // Two buffers: one is filled from the node while the other's plain bytes are written.
        const buffers = [Buffer.allocUnsafeSlow(PIECE), Buffer.allocUnsafeSlow(PIECE)];
        let pending: Promise<void> | undefined;
        let pos = 0;
        const watch = new Watchdog(noProgress(ctx, chunk, node));
        try {
          for (let k = 0; pos < stored; k++) {
            const buffer = buffers[k % 2]!;
            const want = Math.min(PIECE, stored - pos);
            // Whole pieces: a read gives what has arrived, often one 16 KiB frame.
            const n = await readFull(reader, buffer.subarray(0, want), watch);
            if (n < want) {
              throw new ArozError(
                'ERR_CHUNK_SIZE',
                `Node "${node}" sent only ${pos + n} of the ${stored} bytes of chunk ${chunk.i}`,
              );
            }
            const piece = buffer.subarray(0, n);
            hash.update(piece);
            await pending;
            pending = sink.write(piece, pos);
            pending.catch(() => {}); // surfaced by the next await
            const plain = Math.max(0, Math.min(n, chunk.size - pos));
            written += plain;
            ctx.onBytes(plain);
            pos += n;
          }
          await pending;
        } finally {
          watch.dispose();
          await pending?.catch(() => {}); // no write of this attempt may land after the next one's
        }
        if (hash.digest('hex') !== chunk.sha256) {
          throw new ArozError(
            'ERR_CHUNK_HASH',
            `Node "${node}" sent chunk ${chunk.i} ("${chunk.uuid}") with another SHA-256: its copy is corrupted`,
          );
        }
        sink.end();
        return node;
      } finally {
        void reader.close().catch(() => {});
      }
    } catch (err) {
      ctx.onBytes(-written);
      if (localFailures.has(err as object) || isFatal(err, ctx.signal)) throw err;
      const answer = answerOf(err, { i: chunk.i, uuid: chunk.uuid, node });
      ctx.nodes.failed(node, err);
      answers.push(answer);
      errors.push(err);
      if (holders.includes(node)) {
        ctx.problems.push(answer);
        ctx.notice({ type: 'holder-failed', ...answer });
      }
    }
  }
  const forged = errors.find((err) => isArozError(err, 'ERR_DECRYPT_FAILED'));
  if (forged !== undefined) {
    throw new ArozError('ERR_DECRYPT_FAILED', `Cannot download "${ctx.name}": ${(forged as Error).message}`, {
      cause: new AggregateError(errors),
    });
  }
  throw new ArozError(
    'ERR_CHUNK_MISSING',
    `Cannot download "${ctx.name}": no node could give chunk ${chunk.i} ("${chunk.uuid}"): ${answers.map(formatAnswer).join('; ') || 'the index lists no holder'}`,
    { cause: new AggregateError(errors) },
  );
}

function wait<T>(ctx: FetchContext, chunk: IndexChunk, node: string, work: Promise<T>): Promise<T> {
  return idle(work, noProgress(ctx, chunk, node));
}
