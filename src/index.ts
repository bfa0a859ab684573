/**
 * arozdfs as a library, for programs that embed it instead of driving the CLI. Everything here is
 * also what the CLI uses; nothing here prints or touches `process`.
 */

export { type ChunkProgress, mergeFile, sliceFile } from './chunk/index.ts';
export { controlCall, daemonRunning } from './control/client.ts';
export { ArozError, ERROR_CODES, type ErrorCode, isArozError } from './errors.ts';
export { initHome, NodeHome } from './home/index.ts';
export {
  canonicalJson,
  decodeIndex,
  encodeIndex,
  type IndexFile,
  readIndexFile,
  signingPayload,
} from './index-file/index.ts';
export { JobManager, type JobRecord, type JobState } from './jobs/index.ts';
export { signIndex, verifyIndex } from './keys/index.ts';
export { Daemon } from './node/daemon.ts';
export type { DaemonOptions } from './node/daemon-options.ts';
export { parseSize } from './size.ts';
export { DiskStore } from './store/disk-store.ts';
export { MemoryStore } from './store/memory-store.ts';
export { StoreSet } from './store/store-set.ts';
export type { ChunkReader, ChunkStore, ChunkWriter } from './store/types.ts';
export {
  askCopy,
  askVerify,
  type CopyAnswer,
  type CopyTask,
  type TaskPeer,
  type VerifyAnswer,
  type VerifyTask,
} from './transport/tasks.ts';
