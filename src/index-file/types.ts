/**
 * The index file, format v1 (docs/index-format.md). These types are the decoded, validated form.
 * Unknown fields found in a file are kept as ordinary own properties of the object they were found in
 * (they are covered by the signature), so every object type is open (`[key: string]: unknown`).
 */

export const INDEX_FORMAT = 'arozdfs-index';
export const INDEX_VERSION = 1;
/** The version of an encrypted index: a v1 reader refuses it rather than write ciphertext out. */
export const SEALED_INDEX_VERSION = 2;
/** The cipher of an encrypted index's chunks, and how its file key is wrapped (docs/encryption.md). */
export const SEALED_CIPHER = 'AES-256-GCM';
export const KEY_WRAP = 'RSA-OAEP-SHA256';
/** Bytes a sealed chunk has beyond its plain bytes (the GCM tag). */
export const SEALED_OVERHEAD = 16;
/** Most wrapped keys in an index. */
export const MAX_READERS = 1024;
/** Domain separation prefix of the signed bytes. */
export const SIGNING_PREFIX = 'arozdfs-index-v1\n';
/** Whole copies of every chunk. */
export const REPLICAS_SCHEME = 'replicas';
/** Reed–Solomon erasure coding: K data + M parity shards per chunk (docs/index-format.md). */
export const RS_SCHEME = 'rs';
/** The schemes this reader knows; it refuses any other (ERR_INDEX_SCHEME). */
export const KNOWN_SCHEMES: readonly string[] = [REPLICAS_SCHEME, RS_SCHEME];
/** Most shards (data + parity) of one erasure-coded chunk. */
export const MAX_RS_SHARDS = 16;
/** The only signature algorithm of v1. */
export const SIGNATURE_ALG = 'RSA-PSS-SHA256';
/** SHA-256 of empty input: the `file.sha256` of an empty file (which has zero chunks). */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const DEFAULT_CHUNK_SIZE = 64 * MiB;
export const MIN_CHUNK_SIZE = 4 * KiB;
/** FAT32 external disks cannot hold a file of 4 GiB. */
export const MAX_CHUNK_SIZE = 4 * GiB - 1;
export const INDEX_MAX_BYTES = 64 * MiB;
export const INDEX_MAX_CHUNKS = 1_048_576;
/** Largest `redundancy.copies`. */
export const MAX_COPIES = 16;
/** Most holders one chunk may list (holders are hints and may outnumber `copies` after repairs). */
export const MAX_HOLDERS = 64;
/** Most nodes in `cluster`. */
export const MAX_CLUSTER_NODES = 1024;
/** Most UTF-8 bytes in `file.name`. */
export const MAX_NAME_BYTES = 255;

export interface IndexHolder {
  /** Node UUID holding a copy. */
  node: string;
  [key: string]: unknown;
}

/** One shard of an erasure-coded chunk: a stored object of its own (`redundancy.scheme` "rs"). */
export interface IndexShard {
  /** Shard number: 0..K−1 data, K..K+M−1 parity; shards[k].k === k. */
  k: number;
  /** Bytes of the shard (every shard of a chunk has the same size). */
  size: number;
  /** Lower-case hex SHA-256 of the shard's bytes as stored. */
  sha256: string;
  /** The shard's name on its holders (v4); distinct from every other chunk and shard UUID. */
  uuid: string;
  holders: IndexHolder[];
  [key: string]: unknown;
}

export interface IndexChunk {
  /** Position of the chunk: chunks[k].i === k. */
  i: number;
  /** Byte offset of the chunk in the file: the sum of the sizes before it. */
  offset: number;
  /** chunkSize for every chunk but the last, which holds 1..chunkSize bytes. */
  size: number;
  /** Lower-case hex SHA-256 of the chunk's bytes as stored. */
  sha256: string;
  /** Chunk UUID (v4, canonical lower case). */
  uuid: string;
  /**
   * Nodes holding a copy; present on every chunk of a distributed replicas index, absent in a local
   * one and in an erasure-coded one (whose shards have their own holders).
   */
  holders?: IndexHolder[];
  /** The K + M shards of an erasure-coded chunk, in order; absent otherwise. */
  shards?: IndexShard[];
  [key: string]: unknown;
}

export interface IndexSignature {
  alg: typeof SIGNATURE_ALG;
  /** `SHA256:<unpadded base64>` fingerprint of the signer's SPKI. */
  key: string;
  /** Padded base64 signature over SIGNING_PREFIX + canonical JSON of the index without `signature`. */
  value: string;
  [key: string]: unknown;
}

export interface IndexFileInfo {
  /** One path component: no `/`, `\`, control characters; not `.` or `..`; 1..255 UTF-8 bytes. */
  name: string;
  size: number;
  /** Lower-case hex SHA-256 of the whole file. */
  sha256: string;
  [key: string]: unknown;
}

export interface ReplicasRedundancy {
  scheme: typeof REPLICAS_SCHEME;
  /** Copies an upload made of every chunk (1..MAX_COPIES); always 1 in a local index. */
  copies: number;
  [key: string]: unknown;
}

export interface RsRedundancy {
  scheme: typeof RS_SCHEME;
  /** K: data shards per chunk; any K shards rebuild it. */
  data: number;
  /** M: parity shards per chunk; K + M ≤ MAX_RS_SHARDS. */
  parity: number;
  [key: string]: unknown;
}

export type IndexRedundancy = ReplicasRedundancy | RsRedundancy;

/** The file key wrapped for one reader key. */
export interface IndexWrappedKey {
  node: string;
  /** `SHA256:` fingerprint of the reader's public key. */
  key: string;
  /** RSA-OAEP-SHA256 ciphertext of the 32-byte file key, padded base64. */
  wrapped: string;
  [key: string]: unknown;
}

/** How an encrypted (version 2) index's chunks are sealed. */
export interface IndexEncryption {
  alg: typeof SEALED_CIPHER;
  wrap: typeof KEY_WRAP;
  keys: IndexWrappedKey[];
  [key: string]: unknown;
}

export interface IndexFile {
  format: typeof INDEX_FORMAT;
  version: typeof INDEX_VERSION | typeof SEALED_INDEX_VERSION;
  /**
   * Required when `version` is 2: every chunk is stored sealed. In a version 1 index it is an
   * unknown field like any other (kept, never interpreted): read it through `sealingOf`.
   */
  encryption?: IndexEncryption;
  /** Index UUID (v4). */
  id: string;
  file: IndexFileInfo;
  chunkSize: number;
  redundancy: IndexRedundancy;
  chunks: IndexChunk[];
  /** Cluster list (node UUIDs) of an upload; absent in a local index. */
  cluster?: string[];
  /** Shift x of an upload; absent in a local index. */
  shift?: number;
  /** ISO 8601 UTC timestamp `YYYY-MM-DDTHH:MM:SS[.fraction]Z`. */
  createdAt: string;
  /** Node UUID of the uploader; absent in a local index. */
  createdBy?: string;
  /**
   * Revision of this file's index: a newer revision (same `id`, same uploader) supersedes an older
   * one, e.g. after a repair moved copies. Absent means 0, so every index written before revisions
   * existed is revision 0.
   */
  revision?: number;
  /** Present only on a signed distributed index. */
  signature?: IndexSignature;
  [key: string]: unknown;
}

/** Stored pieces per chunk: whole copies, or the K + M shards of an erasure-coded index. */
export function piecesPerChunk(redundancy: IndexRedundancy): number {
  return redundancy.scheme === RS_SCHEME ? redundancy.data + redundancy.parity : redundancy.copies;
}

/** One object an index stores on its holders: a whole chunk (replicas) or one shard of one (rs). */
export interface StoredObject {
  /** The chunk's position, and the shard number for a shard. */
  i: number;
  shard: number | undefined;
  uuid: string;
  size: number;
  sha256: string;
  holders: IndexHolder[];
}

/**
 * The objects chunk `chunk` is stored as: itself, or its shards. A sealed chunk (of an encrypted
 * index: `sealed` true) is stored with the GCM tag after its bytes.
 */
export function storedObjects(chunk: IndexChunk, sealed = false): StoredObject[] {
  if (chunk.shards !== undefined) {
    return chunk.shards.map((s) => ({
      i: chunk.i,
      shard: s.k,
      uuid: s.uuid,
      size: s.size,
      sha256: s.sha256,
      holders: s.holders,
    }));
  }
  return [
    {
      i: chunk.i,
      shard: undefined,
      uuid: chunk.uuid,
      size: chunk.size + (sealed ? SEALED_OVERHEAD : 0),
      sha256: chunk.sha256,
      holders: chunk.holders ?? [],
    },
  ];
}

/** Whether an index is encrypted (version 2): its chunks are stored sealed. */
export function isSealed(index: IndexFile): boolean {
  return index.version === SEALED_INDEX_VERSION;
}

/** The encryption of a version 2 index; undefined for version 1 (whatever unknown fields it has). */
export function sealingOf(index: IndexFile): IndexEncryption | undefined {
  return isSealed(index) ? index.encryption : undefined;
}

/** Every chunk's stored objects (see storedObjects). */
export function storedObjectsOf(index: IndexFile): StoredObject[][] {
  const sealed = isSealed(index);
  return index.chunks.map((chunk) => storedObjects(chunk, sealed));
}
