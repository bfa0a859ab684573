/**
 * The index file (format v1, specified in docs/index-format.md): the JSON document that lists a
 * file's chunks, their hashes and the nodes holding each copy, signed by the uploader. This module
 * encodes, decodes and strictly validates it, and gives the exact bytes a signature covers.
 *
 * It is pure: no I/O except `readIndexFile` (read.ts), which reads one bounded file. It must never let
 * anything but an ArozError escape the decoder, never hang or allocate without bound on hostile input,
 * never accept an index it could not write back unchanged, and never drop unknown fields (the
 * signature covers them).
 */
export { canonicalJson } from './canonical.ts';
export {
  decodeIndex,
  encodeIndex,
  indexRevision,
  isDistributedIndex,
  isLocalIndex,
  signingPayload,
} from './codec.ts';
export {
  fileNameProblem,
  filePathProblem,
  isKeyFingerprint,
  isSha256Hex,
  isSignatureValue,
  isUtcTimestamp,
  isValidFileName,
  MAX_PATH_BYTES,
  MAX_PATH_DEPTH,
} from './fields.ts';
export { assertJsonData } from './json-data.ts';
export { type ReadIndexOptions, readIndexFile } from './read.ts';
export { JSON_LIMITS, parseStrictJson, type StrictJsonOptions } from './strict-json.ts';
export * from './types.ts';
export { validateIndex } from './validate.ts';
