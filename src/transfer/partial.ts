/**
 * The partial file of a download: a temp file beside the output (`.<name>.<random>.arozdfs-tmp`),
 * sized to the whole file at once so every chunk can be written at its offset. A fresh download makes
 * one and journals it before the first byte moves; a resumed one reopens the one its journal names
 * (a missing or wrong-sized one means starting over) and trusts none of its chunks until hashed.
 */
import { createHash } from 'node:crypto';
import type { promises as fsp } from 'node:fs';
import { readFully } from '../chunk/copy.ts';
import { AtomicFile } from '../durable/index.ts';
import { ArozError, fromSystemError, isArozError } from '../errors.ts';
import type { IndexChunk, IndexFile } from '../index-file/types.ts';
import { throwIfAborted } from './idle.ts';
import { type DownloadJournal, journalError } from './journal.ts';
import { PIECE } from './types.ts';

export interface PartialRequest {
  out: string;
  force: boolean;
  indexSha256: string;
  journal: DownloadJournal | undefined;
}

/** The temp file to write, and the chunks an earlier run journaled as written (still to verify). */
export async function openPartial(
  index: IndexFile,
  want: PartialRequest,
): Promise<{ file: AtomicFile; journaled: number[] }> {
  const state = await want.journal?.load();
  if (state !== undefined) {
    const { plan } = state;
    if (plan.indexSha256 !== want.indexSha256 || plan.out !== want.out || plan.indexId !== index.id) {
      throw journalError(
        `of the download of "${index.file.name}"`,
        'was written for another download (the index or the output differs)',
      );
    }
    const file = await AtomicFile.reopen(want.out, plan.tempPath, { overwrite: want.force }).catch(
      (err: unknown) => {
        if (isArozError(err, 'ERR_FILE_NOT_FOUND')) return undefined;
        throw err;
      },
    );
    if (file !== undefined) {
      const st = await file.handle.stat();
      if (st.isFile() && st.size === index.file.size) return { file, journaled: state.done };
      await file.abort();
    }
  }
  const file = await AtomicFile.create(want.out, { overwrite: want.force });
  try {
    await file.handle.truncate(index.file.size);
    await want.journal?.writePlan({
      indexId: index.id,
      indexSha256: want.indexSha256,
      out: want.out,
      tempPath: file.tempPath,
    });
  } catch (err) {
    await file.abort();
    throw fromSystemError(err, `Cannot prepare "${file.tempPath}"`);
  }
  return { file, journaled: [] };
}

/**
 * Hashes each journaled chunk as the partial file holds it; returns the positions that match the
 * index (the others are fetched again). Reads through one 1 MiB buffer.
 */
export async function verifyWritten(
  fh: fsp.FileHandle,
  chunks: readonly IndexChunk[],
  journaled: readonly number[],
  signal: AbortSignal,
  doing: string,
): Promise<Set<number>> {
  const verified = new Set<number>();
  const wanted = [...new Set(journaled)].filter((i) => i < chunks.length);
  if (wanted.length === 0) return verified;
  const buffer = Buffer.allocUnsafeSlow(PIECE);
  for (const i of wanted) {
    throwIfAborted(signal, doing);
    const chunk = chunks[i]!;
    const hash = createHash('sha256');
    for (let pos = 0; pos < chunk.size; pos += PIECE) {
      const view = buffer.subarray(0, Math.min(PIECE, chunk.size - pos));
      await readFully(fh, view, chunk.offset + pos, 'the partial file', () => {
        return new ArozError('ERR_IO', 'The partial file is shorter than it should be');
      });
      hash.update(view);
    }
    if (hash.digest('hex') === chunk.sha256) verified.add(i);
  }
  return verified;
}
