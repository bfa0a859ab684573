/**
 * The CatalogStore interface: a node's durable copy of every accepted statement and the queries the
 * CLI, the web UI and the exchange answer from. Calls are synchronous (node:sqlite is) and indexed;
 * `apply` takes a bounded batch, so no call holds the event loop for long.
 */
import type { ErrorCode } from '../errors.ts';
import type { IndexFile } from '../index-file/index.ts';
import type { VerifiedStatement } from './types.ts';

/** One file of the cluster as `ls` shows it: the newest revision of its index, not deleted. */
export interface CatalogFile {
  /** The file id (the index's `id`). */
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  /** Node UUID of the uploader (the index's `createdBy`, the only node that may change or delete it). */
  readonly uploader: string;
  /** The index's `createdAt`. */
  readonly uploadedAt: string;
  readonly revision: number;
  /** Pieces stored of each chunk: `redundancy.copies`, or K + M shards. */
  readonly copies: number;
  readonly chunks: number;
  /** Erasure coding "K+M" (`redundancy` "rs"); absent for copies. */
  readonly ec?: string;
  /** The index is version 2: the chunks are sealed (docs/encryption.md). */
  readonly encrypted?: boolean;
}

export interface CatalogTombstone {
  readonly id: string;
  readonly uploader: string;
  readonly revision: number;
  readonly deletedAt: string;
}

/** Why one statement of a batch was not stored. The caller logs it once; the exchange goes on. */
export interface Refusal {
  /** Position of the statement in the batch. */
  readonly position: number;
  readonly signer: string | undefined;
  readonly seq: number | undefined;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface ApplyResult {
  /** Statements stored (new, or replacing an older statement of the same signer and file). */
  readonly accepted: number;
  /** Statements already held, byte for byte: nothing to do. */
  readonly duplicates: number;
  readonly refused: readonly Refusal[];
  /**
   * Tombstones this batch accepted for files not deleted before. Each holder moves to its trash the
   * chunks whose sidecar names this file id AND this uploader (a tombstone that arrived before its
   * index is not yet known to be the uploader's; the sidecar, written at upload, settles it).
   */
  readonly deleted: readonly CatalogTombstone[];
}

export interface BatchLimits {
  /** Most statements (default and cap: CATALOG_LIMITS.maxBatchCount). */
  maxCount?: number;
  /** Most bytes of statements (default and cap: CATALOG_LIMITS.maxBatchBytes); one statement always fits. */
  maxBytes?: number;
}

export interface StatementBatch {
  /** Canonical statement encodings, in growing seq order. */
  readonly statements: readonly Buffer[];
  /** The seq of the last statement in the batch (the `after` of the next request), or `after` if empty. */
  readonly last: number;
  /** True when the signer has more statements after `last`. */
  readonly more: boolean;
}

export interface CatalogStore {
  /** Signer UUID → highest seq seen from it (stored or refused for what is held). */
  summary(): Map<string, number>;
  /** Highest seq seen from `signer`, 0 if none. */
  maxSeq(signer: string): number;
  /**
   * Judges verified statements against what is held and stores the good ones, all in one
   * transaction: after a crash either the whole batch is there or none of it.
   */
  apply(statements: readonly VerifiedStatement[]): ApplyResult;
  /** Stored statements of `signer` with seq > `after`, oldest first, bounded by count and bytes. */
  statementsAfter(signer: string, after: number, limits?: BatchLimits): StatementBatch;
  /** Every file not deleted, by name then id. Streams: one row in memory at a time. */
  files(): IterableIterator<CatalogFile>;
  /** Files with exactly this name (several files may share one), by upload time then id. */
  findByName(name: string): CatalogFile[];
  getFile(id: string): CatalogFile | undefined;
  /** The newest signed index of a file not deleted (what `download ID` and `index export` use). */
  indexOf(id: string): IndexFile | undefined;
  tombstoneOf(id: string): CatalogTombstone | undefined;
  /** Nodes said to hold `chunk`: the newest index's holders plus holdings statements, sorted. */
  holdersOf(chunk: string): string[];
  /** Counts for status pages and tests. */
  counts(): { files: number; tombstones: number; statements: number; signers: number };
  close(): void;
}
