/** Types and defaults shared by the upload and download engines. */
import type { BufferRing } from '../chunk/ring.ts';
import type { ErrorCode } from '../errors.ts';
import type { ChunkStore } from '../store/types.ts';

/**
 * Reaches node `nodeUuid`'s chunks: the local StoreSet for this node, a remote store for a peer. The
 * caller resolves the node's current address; a node it does not know or cannot reach rejects
 * (ERR_PEER_NOT_FOUND, ERR_PEER_UNREACHABLE, ERR_TIMEOUT…). Each engine calls it at most once per node
 * per run and keeps the answer (a failed connect marks the node dead for that run).
 */
export type Connect = (nodeUuid: string, signal: AbortSignal) => Promise<ChunkStore>;

/** Byte progress of an upload or download (same shape as slice/merge progress). */
export interface TransferProgress {
  phase: 'upload' | 'download';
  /** Bytes done so far (upload: read, hashed and handed to every target; download: fetched) and in all. */
  done: number;
  total: number;
  /** Chunks complete (upload: every copy verified; download: fetched and verified) and in all. */
  chunksDone: number;
  chunks: number;
}

/** What one node answered for one chunk: the code and the one-line message of its failure. */
export interface NodeAnswer {
  /** Position and UUID of the chunk. */
  i: number;
  uuid: string;
  node: string;
  code: ErrorCode;
  message: string;
}

/**
 * Things worth telling a user while a transfer runs (never a reason to stop):
 * - `copy-moved`: an upload target could not take pass `pass` of chunk `i`; the copy goes elsewhere.
 * - `busy`: a target answered ERR_BUSY; the same node is asked again after `delayMs`.
 * - `holder-failed`: a download source failed for chunk `i`; the next one is tried.
 */
export type TransferNotice =
  | ({ type: 'copy-moved'; pass: number } & NodeAnswer)
  | { type: 'busy'; i: number; uuid: string; node: string; attempt: number; delayMs: number }
  | ({ type: 'holder-failed' } & NodeAnswer);

/** Common options of both engines. */
export interface TransferOptions {
  connect: Connect;
  /** Chunks in flight at once (upload default 2, download default 4). Memory grows with it. */
  parallel?: number;
  /** A node that makes no progress for this long (connect, read, write, answer) is given up. */
  idleMs?: number;
  signal?: AbortSignal;
  onProgress?: (event: TransferProgress) => void;
  onNotice?: (notice: TransferNotice) => void;
  /**
   * Lends the buffer rings (an upload's ring; a download's read-back ring and its fetch workers'
   * rings) instead of new ones per file: a batch of small files makes its rings once
   * (src/node/batch-jobs.ts).
   */
  rings?: RingLender;
}

/**
 * Lends buffer rings of `slots` slots of `slotSize` bytes (default SLOT_SIZE, src/chunk/ring.ts); a
 * ring comes back `clean` when nothing failed and nothing can still write into it.
 */
export interface RingLender {
  borrow(slots: number, slotSize?: number): BufferRing;
  giveBack(ring: BufferRing, clean: boolean): Promise<void>;
}

/** How ERR_BUSY (back-pressure) is retried on the same node before the copy moves elsewhere. */
export interface BusyPolicy {
  /** Busy answers from one node for one copy before it counts as unable to take it (default 8). */
  attempts: number;
  /** First wait, doubled after each busy answer up to `maxDelayMs` (defaults 100 ms, 5 s). */
  firstDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_IDLE_MS = 30_000;
export const DEFAULT_UPLOAD_PARALLEL = 2;
export const DEFAULT_DOWNLOAD_PARALLEL = 4;
export const DEFAULT_BUSY: BusyPolicy = { attempts: 8, firstDelayMs: 100, maxDelayMs: 5_000 };
/** Largest piece moved at once (the chunk ring's slot size). */
export const PIECE = 1024 * 1024;

/** Checks a positive whole-number option; a bad one is a caller's bug. */
export function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} must be a whole number ≥ 1, got ${v}`);
  return v;
}
