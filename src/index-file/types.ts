/**
 * The index file, format v1 (docs/index-format.md). These types are the decoded, validated form;
 * unknown fields found in a file are kept (they are covered by the signature) under `extra` keys of
 * the same objects, so the types are open (`[key: string]: unknown`).
 */

export const INDEX_FORMAT = 'arozdfs-index';
export const INDEX_VERSION = 1;
/** Domain separation prefix of the signed bytes. */
export const SIGNING_PREFIX = 'arozdfs-index-v1\n';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const DEFAULT_CHUNK_SIZE = 64 * MiB;
export const MIN_CHUNK_SIZE = 4 * KiB;
/** FAT32 external disks cannot hold a file of 4 GiB. */
export const MAX_CHUNK_SIZE = 4 * GiB - 1;
export const INDEX_MAX_BYTES = 64 * MiB;
export const INDEX_MAX_CHUNKS = 1_048_576;

export interface IndexHolder {
  /** Node UUID holding a copy. */
  node: string;
  [key: string]: unknown;
}

export interface IndexChunk {
  i: number;
  offset: number;
  size: number;
  /** Lower-case hex SHA-256 of the chunk's bytes as stored. */
  sha256: string;
  /** Chunk UUID (v4, canonical lower case). */
  uuid: string;
  /** Nodes holding a copy; absent in a local (sliced) index. */
  holders?: IndexHolder[];
  [key: string]: unknown;
}

export interface IndexSignature {
  alg: 'RSA-PSS-SHA256';
  /** `SHA256:<unpadded base64>` fingerprint of the signer's SPKI. */
  key: string;
  /** base64 signature over SIGNING_PREFIX + canonical JSON of the index without `signature`. */
  value: string;
  [key: string]: unknown;
}

export interface IndexFile {
  format: typeof INDEX_FORMAT;
  version: typeof INDEX_VERSION;
  /** Index UUID (v4). */
  id: string;
  file: { name: string; size: number; sha256: string; [key: string]: unknown };
  chunkSize: number;
  redundancy: { scheme: 'replicas'; copies: number; [key: string]: unknown };
  chunks: IndexChunk[];
  /** Cluster list (node UUIDs) of an upload; absent in a local index. */
  cluster?: string[];
  /** Shift x of an upload; absent in a local index. */
  shift?: number;
  /** ISO 8601 UTC timestamp. */
  createdAt: string;
  /** Node UUID of the uploader; absent in a local index. */
  createdBy?: string;
  signature?: IndexSignature;
  [key: string]: unknown;
}
