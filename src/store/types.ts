/**
 * The ChunkStore contract shared by every store (disk, memory, a node's set of stores). The
 * behaviour behind these types is pinned down by one compliance suite (test/store/compliance.ts);
 * docs/store.md describes the disk layout and the put protocol.
 */

/** What the uploader tells a store about a chunk it puts. */
export interface ChunkMeta {
  /** Node UUID of the uploader: the only node allowed to delete the chunk. */
  uploader: string;
  /** UUID of the index file the chunk belongs to, when known. */
  indexId?: string;
  /** Position of the chunk in that index, when known. */
  i?: number;
}

/** A stored chunk, as its sidecar records it. */
export interface ChunkInfo extends ChunkMeta {
  uuid: string;
  /** Lower-case hex SHA-256 of the chunk's bytes. */
  sha256: string;
  size: number;
  /** ISO 8601 time the chunk became visible in this store. */
  storedAt: string;
}

/** Why a store is offline. */
export type OfflineReason =
  /** The store folder does not exist (an external disk that is not mounted, or removed). */
  | 'missing-folder'
  /** The folder exists but has no `.arozdfs-store` marker: maybe the empty mount point. */
  | 'missing-marker'
  /** The marker belongs to another node or another store. */
  | 'foreign-marker'
  /** The marker is not a readable version-1 marker. */
  | 'bad-marker'
  /** The marker could not be read (permission, I/O error). */
  | 'io-error'
  /** Taken offline on purpose (`close()`, or `MemoryStore.setOnline(false)`). */
  | 'closed';

export interface StoreStatus {
  id: string;
  /** 'remote': a peer's stores seen through the node API (src/transport/remote-store.ts). */
  kind: 'disk' | 'memory' | 'set' | 'remote';
  /** Folder of a disk store. */
  path?: string;
  online: boolean;
  reason?: OfflineReason;
  /** One line saying why the store is offline. */
  message?: string;
  /** Bytes the store may use (chunks and trash), when limited. */
  limit?: number;
  /** `limit` if set, else the size of the filesystem. 0 while offline. */
  capacity: number;
  /** Bytes a new chunk may use now: below the limit, on the disk, after reservations. 0 offline. */
  free: number;
  /**
   * The filesystem a disk store is on (`id`: its device number, the same for every store of the node
   * on it) and what that filesystem can still take after the puts in progress of all those stores.
   * Stores naming one filesystem share `free` (see `nodeFree`).
   */
  filesystem?: { id: string; free: number };
  /** Bytes of stored chunks and trash (what counts against `limit`). */
  used: number;
  /** Bytes reserved by puts in progress. */
  reserved: number;
  /** Number of visible chunks. */
  chunks: number;
  /** Deleted chunks kept until `purgeTrash`. */
  trash: { chunks: number; bytes: number };
  /** Copies the scrub found corrupt, kept out of service (disk stores; docs/store.md). */
  quarantine?: { chunks: number; bytes: number };
}

export interface SignalOptions {
  signal?: AbortSignal;
}

export interface PutOptions extends SignalOptions {
  /** Exact number of bytes that will be written (HTTP `content-length`). */
  size: number;
  meta: ChunkMeta;
}

export interface GetOptions extends SignalOptions {
  /** First byte to read (default 0). */
  start?: number;
  /** One past the last byte to read (default: the chunk's size). HTTP `bytes=a-b` is `{a, b + 1}`. */
  end?: number;
}

export interface DeleteOptions extends SignalOptions {
  /** Node UUID asking for the delete: must be the chunk's uploader. */
  by: string;
}

export interface PurgeOptions extends SignalOptions {
  /** Only purge chunks deleted at least this many milliseconds ago (default 0: all). */
  olderThanMs?: number;
}

export type PutResult = 'created' | 'exists';

/**
 * One put in progress. Space for `size` bytes is already reserved. The writer hashes every piece
 * as it arrives and refuses a byte beyond `size` at once. `finish` checks the size and the
 * SHA-256, makes the chunk durable and visible, and answers 'created' (HTTP 201) or, when the UUID
 * already holds the same bytes, 'exists' (HTTP 200). Any failure, `abort()` or the signal removes
 * everything written and releases the reservation. All three methods are idempotent once settled.
 */
export interface ChunkWriter {
  readonly uuid: string;
  readonly size: number;
  /** Bytes accepted so far. */
  readonly received: number;
  /** Writes `piece`; the caller may reuse `piece` once the promise resolves. Calls are queued. */
  write(piece: Uint8Array): Promise<void>;
  /** ERR_CHUNK_SIZE, ERR_CHUNK_HASH, ERR_CHUNK_CONFLICT, ERR_NO_SPACE, ERR_STORE_OFFLINE. */
  finish(expectedSha256: string): Promise<PutResult>;
  abort(reason?: unknown): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A byte range of a stored chunk, open for reading (a disk store holds the file open, so a
 * concurrent delete does not cut the read short). Two ways to read:
 *
 * - `for await (const piece of reader)`: pieces of ≤ 1 MiB that are views of ONE reused buffer. A
 *   piece is valid only until the next piece is asked for: consume it (hash it, `await` its write)
 *   first, or copy it. A consumer that hands pieces to a stream that queues them (an HTTP/2
 *   response) must wait for that write's callback before asking for the next one.
 * - `read(into)`: fills the caller's buffer (the caller owns it, e.g. a small pool released by
 *   write callbacks); returns the number of bytes, 0 at the end.
 *
 * The reader closes itself at the end, on `break`, and on failure; `close()` is idempotent.
 */
export interface ChunkReader extends AsyncIterable<Uint8Array> {
  readonly info: ChunkInfo;
  readonly start: number;
  readonly end: number;
  /** `end - start`. */
  readonly length: number;
  read(into: Uint8Array): Promise<number>;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface ChunkStore {
  readonly id: string;
  /** Re-checks the store (a disk store reads its marker) and reports space and counts. */
  status(options?: SignalOptions): Promise<StoreStatus>;
  /**
   * Starts a put. Before anything is touched: ERR_INVALID_UUID (non-canonical UUID),
   * ERR_INVALID_SIZE, ERR_STORE_OFFLINE, ERR_CHUNK_CONFLICT (the UUID exists with another size),
   * ERR_NO_SPACE (the reservation does not fit). An existing UUID of the same size gets a writer
   * that only hashes and compares: no space is reserved, nothing is written.
   */
  beginPut(uuid: string, options: PutOptions): Promise<ChunkWriter>;
  /** ERR_CHUNK_MISSING, ERR_INVALID_RANGE, ERR_STORE_OFFLINE. */
  get(uuid: string, options?: GetOptions): Promise<ChunkReader>;
  head(uuid: string, options?: SignalOptions): Promise<ChunkInfo | undefined>;
  has(uuid: string, options?: SignalOptions): Promise<boolean>;
  /** Moves the chunk to the trash. ERR_CHUNK_MISSING; ERR_NOT_UPLOADER unless `by` uploaded it. */
  delete(uuid: string, options: DeleteOptions): Promise<void>;
  /** Frees trashed chunks; returns how many were purged. */
  purgeTrash(options?: PurgeOptions): Promise<number>;
  /** Aborts puts in progress and takes the store offline ('closed'). Idempotent. */
  close(): Promise<void>;
}
