/**
 * Chunk stores: where a node keeps the chunks peers put to it (docs/store.md: the disk layout, the put
 * protocol, online and offline, delete and trash; docs/protocol.md: the node API over them).
 *
 * - `ChunkStore` (types.ts) is the one interface: `status`, `beginPut` → `ChunkWriter`, `get` →
 *   `ChunkReader` (byte ranges), `head`, `has`, `delete` (uploader only, into the trash),
 *   `purgeTrash`, `close`. `DiskStore`, `MemoryStore` and `StoreSet` implement it and pass one
 *   compliance suite (test/store/compliance.ts).
 * - `DiskStore.create(dir, nodeUuid, { limit })` marks a new or empty folder as a store;
 *   `DiskStore.open(dir, nodeUuid, { limit, storeUuid })` opens one. A folder with a missing or
 *   foreign `.arozdfs-store` marker is an offline store (ERR_STORE_OFFLINE), re-checked before
 *   every put and delete and on status, so a disk that is unmounted or removed while the node runs
 *   goes offline and comes back when it returns.
 * - `StoreSet([...stores])` is a node's stores as one: a new chunk goes to the online store with
 *   the most free space that can hold it; reads look everywhere; offline stores are skipped.
 *
 * How the transport maps the node API onto it (errors map to HTTP via ArozError.status):
 *
 * ```ts
 * // PUT /v1/chunks/<uuid>: 400/503/409/507 are thrown here, before any body byte is read.
 * await using w = await store.beginPut(uuid, { size: contentLength, meta: { uploader: peer }, signal });
 * for await (const piece of request) await w.write(piece);   // ERR_CHUNK_SIZE (422) at the first extra byte
 * const result = await w.finish(trailerSha256);                // 'created' → 201, 'exists' → 200, else 409/422
 * // GET: `await using r = await store.get(uuid, { start, end, signal })`, then `r.read(buf)` with
 * // buffers the caller releases from write callbacks (or iterate: borrowed pieces, see ChunkReader).
 * ```
 *
 * A store must never: build a path from anything but a canonical lower-case v4 UUID; write to a
 * folder without this node's marker (an unmounted disk must not fill the root filesystem); replace
 * an existing chunk; make a chunk visible before its bytes are checked and fsynced; let another
 * node than the uploader delete a chunk; hold a whole chunk in memory (MemoryStore aside).
 */
export { PIECE_SIZE } from './checks.ts';
export { MARKER_NAME, type StoreMarker } from './disk-layout.ts';
export { DiskStore, type DiskStoreOptions } from './disk-store.ts';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.ts';
export { StoreSet } from './store-set.ts';
export type {
  ChunkInfo,
  ChunkMeta,
  ChunkReader,
  ChunkStore,
  ChunkWriter,
  DeleteOptions,
  GetOptions,
  OfflineReason,
  PurgeOptions,
  PutOptions,
  PutResult,
  SignalOptions,
  StoreStatus,
} from './types.ts';
