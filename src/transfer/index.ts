/**
 * Transfer: the upload and download engines (docs/transfer.md).
 *
 * - `uploadFile(path, options)` reads a file once, streams each chunk to its R targets at once (placed
 *   by src/placement, with fallbacks), and returns a signed distributed index whose holders are where
 *   the copies really went. ERR_PLACEMENT, ERR_NOT_ENOUGH_NODES, ERR_FILE_CHANGED.
 * - `downloadFile(index, options)` verifies the index's signature, fetches chunks in parallel from
 *   their holders (then from every online node), verifies each chunk and the whole file, and renames
 *   the file into place. ERR_INDEX_UNTRUSTED, ERR_CHUNK_MISSING, ERR_FILE_HASH.
 * - Journals (`FileUploadJournal`, `FileDownloadJournal`) let an interrupted run resume, moving only
 *   what is missing.
 *
 * The engines reach nodes only through the caller's `connect` (a ChunkStore per node): they never
 * dial, resolve addresses or touch trust themselves. They must never: produce an index before every
 * chunk has R copies whose finish() answered; hold a whole chunk in memory or reuse a buffer before
 * every write of it is over; put two copies of a chunk on one node; write a downloaded file into place
 * before its whole-file SHA-256 matched; trust an index whose signature was not verified (unless told
 * to); wait on a silent node without a no-progress timeout; print anything.
 */
export { type DownloadOptions, type DownloadResult, downloadFile } from './download.ts';
export type {
  CopyRecord,
  DownloadJournal,
  DownloadJournalState,
  DownloadPlan,
  PlannedChunk,
  UploadJournal,
  UploadJournalState,
  UploadPlan,
} from './journal.ts';
export { FileDownloadJournal, FileUploadJournal } from './journal-file.ts';
export { RingPool } from './ring-pool.ts';
export {
  type BusyPolicy,
  type Connect,
  DEFAULT_BUSY,
  DEFAULT_DOWNLOAD_PARALLEL,
  DEFAULT_IDLE_MS,
  DEFAULT_UPLOAD_PARALLEL,
  type NodeAnswer,
  type RingLender,
  type TransferNotice,
  type TransferOptions,
  type TransferProgress,
} from './types.ts';
export { type UploadOptions, uploadFile } from './upload.ts';
