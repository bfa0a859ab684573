/**
 * Catalog statements (docs/catalog.md): the decoded, shape-checked form, the limits, and the keys a
 * statement is verified with. A statement is one node's signed word about its own doing; the three
 * kinds and their bodies are below.
 */
import type { IndexFile } from '../index-file/index.ts';
import type { PublicKeyInfo } from '../keys/index.ts';

export const STATEMENT_FORMAT = 'arozdfs-catalog';
export const STATEMENT_VERSION = 1;
/**
 * Domain separation prefix of the signed bytes. It differs from the index's ("arozdfs-index-v1\n")
 * and the address record's, so a signature over one can never pass as a signature over another.
 */
export const STATEMENT_DOMAIN = 'arozdfs-catalog-statement-v1\n';
export const STATEMENT_ALG = 'RSA-PSS-SHA256';

export const STATEMENT_KINDS = ['index', 'tombstone', 'holdings'] as const;
export type StatementKind = (typeof STATEMENT_KINDS)[number];

export const CATALOG_LIMITS = {
  /**
   * Bytes of one encoded statement. An index statement carries the whole signed index in compact
   * form: 16 MiB holds some 60,000 chunks with two holders each (3.7 TiB at the default 64 MiB chunk
   * size). An upload whose index is larger cannot enter the catalog (ERR_CATALOG_TOO_LARGE).
   */
  maxStatementBytes: 16 * 1024 * 1024,
  /** Statements in one batch (one answer to "after seq n"). */
  maxBatchCount: 1000,
  /** Bytes of one batch's statements; one statement alone always fits (it is at most as large). */
  maxBatchBytes: 16 * 1024 * 1024,
  /** Chunk UUIDs in one holdings statement (as many as an index may list). */
  maxHoldingsChunks: 1_048_576,
} as const;

/** `index`: the uploader states this revision of the file's index (the signed index itself). */
export interface IndexBody {
  /** The signed, distributed index; its `id` is the statement's `file`, its `createdBy` the signer. */
  index: IndexFile;
}

/** `tombstone`: the uploader deletes the file as of this revision (final: no revision comes after). */
export interface TombstoneBody {
  /** The newest revision the uploader knew when it deleted the file. */
  revision: number;
  /** When the uploader deleted it (ISO 8601 UTC). */
  deletedAt: string;
}

/** `holdings`: the signer holds these chunks of the file (the whole list: it replaces earlier ones). */
export interface HoldingsBody {
  /** Chunk UUIDs, distinct, sorted; empty when the signer holds none any more. */
  chunks: string[];
}

export interface StatementSignature {
  alg: typeof STATEMENT_ALG;
  /** Fingerprint of the signing key (which of the signer's keys; only a key of the signer verifies). */
  key: string;
  value: string;
}

interface StatementBase {
  format: typeof STATEMENT_FORMAT;
  version: typeof STATEMENT_VERSION;
  /** Node UUID of the signer. */
  signer: string;
  /** Per-signer sequence number: 1 to 2^53 − 1, strictly growing with each statement the signer makes. */
  seq: number;
  /** The file id (the index's `id`) the statement is about. */
  file: string;
  signature: StatementSignature;
}

export type IndexStatement = StatementBase & { kind: 'index'; body: IndexBody };
export type TombstoneStatement = StatementBase & { kind: 'tombstone'; body: TombstoneBody };
export type HoldingsStatement = StatementBase & { kind: 'holdings'; body: HoldingsBody };
export type Statement = IndexStatement | TombstoneStatement | HoldingsStatement;

/** What a signer is about to sign: everything but `format`, `version` and `signature`. */
export type StatementFields =
  | { kind: 'index'; signer: string; seq: number; file: string; body: IndexBody }
  | { kind: 'tombstone'; signer: string; seq: number; file: string; body: TombstoneBody }
  | { kind: 'holdings'; signer: string; seq: number; file: string; body: HoldingsBody };

/**
 * A statement that passed every check that does not depend on what is held: shape, size, the
 * signer's key, both signatures, and who may say what. `bytes` is its canonical encoding.
 */
export interface VerifiedStatement {
  readonly statement: Statement;
  readonly bytes: Buffer;
}

/**
 * The keys a node verifies statements with: for its own UUID every key it has (active and retired),
 * for a pinned peer its pinned key, for anyone else none (ERR_CATALOG_UNTRUSTED).
 */
export interface CatalogKeys {
  keysOf(nodeUuid: string): readonly PublicKeyInfo[];
}
