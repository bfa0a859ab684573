/**
 * Chunks: bytes <-> chunk files, offline. `sliceFile` cuts a file into chunk files named by fresh v4
 * UUIDs and writes a local index.json last; `mergeFile` rebuilds the file from an index and its chunk
 * files, verifying every chunk's size and SHA-256 and the whole file's SHA-256.
 *
 * Data moves in pieces of at most 1 MiB through a small ring of reused shared buffers (ring.ts); the
 * chunk hash runs on the calling thread and the whole-file hash on a worker thread, overlapped with
 * reads and writes (copy.ts); aligned pieces of page-aligned memory (aligned.ts) are written with
 * O_DIRECT where the file system allows, which keeps the CPU for hashing (writer.ts). Buffers take 8 MiB for any file or chunk size; what
 * else grows with the file is the index itself (one small entry per chunk).
 *
 * This module must never: hold a whole chunk in memory; reuse a buffer before both its write and its
 * hash are over; build a path from anything but a canonical UUID of a validated index; leave a partial
 * output behind (chunks, temp files, a folder it created, or a merged file that did not verify); replace
 * an existing file unless told to; print anything.
 */
export { type MergeOptions, type MergeResult, mergeFile } from './merge.ts';
export type { ChunkProgress } from './progress.ts';
export { INDEX_NAME, type SliceOptions, type SliceResult, sliceFile } from './slice.ts';
