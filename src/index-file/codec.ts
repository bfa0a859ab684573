/**
 * Bytes <-> IndexFile. decodeIndex is the only way an index enters arozdfs: size cap, strict UTF-8,
 * strict JSON, then every rule of validateIndex. encodeIndex writes only what decodeIndex reads back
 * equal. signingPayload gives the exact bytes a signature covers.
 */
import { ArozError } from '../errors.ts';
import { canonicalJson } from './canonical.ts';
import { count } from './describe.ts';
import { assertJsonData } from './json-data.ts';
import { parseStrictJson } from './strict-json.ts';
import { INDEX_MAX_BYTES, type IndexFile, SIGNING_PREFIX } from './types.ts';
import { validateIndex } from './validate.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Decodes and fully validates an index file: UTF-8 bytes or an already decoded string. Throws only
 * ArozError: ERR_INDEX_TOO_LARGE, ERR_INDEX_INVALID, ERR_INDEX_VERSION or ERR_INDEX_SCHEME.
 */
export function decodeIndex(input: string | Uint8Array): IndexFile {
  return validateIndex(parseStrictJson(toText(input)));
}

function toText(input: string | Uint8Array): string {
  let text: string;
  if (typeof input === 'string') {
    // Every UTF-16 code unit is at least one UTF-8 byte: the cheap test first.
    if (input.length > INDEX_MAX_BYTES || Buffer.byteLength(input, 'utf8') > INDEX_MAX_BYTES) tooLarge();
    text = input;
  } else {
    if (input.byteLength > INDEX_MAX_BYTES) tooLarge();
    try {
      text = utf8.decode(input);
    } catch (err) {
      throw new ArozError('ERR_INDEX_INVALID', 'Index is not valid UTF-8', { cause: err });
    }
  }
  if (text.charCodeAt(0) === 0xfeff) {
    throw new ArozError(
      'ERR_INDEX_INVALID',
      'Index starts with a byte order mark (U+FEFF), which is refused',
    );
  }
  return text;
}

function tooLarge(): never {
  throw new ArozError('ERR_INDEX_TOO_LARGE', `Index is larger than ${count(INDEX_MAX_BYTES)} bytes (64 MiB)`);
}

/**
 * The index as a file: JSON with 2-space indentation and a trailing newline. The index is checked
 * first (ERR_INDEX_INVALID naming the field, as decodeIndex would), so what is written always reads
 * back equal. When the indented form would pass INDEX_MAX_BYTES, the compact form (no whitespace) is
 * written instead; when even that is too large, ERR_INDEX_TOO_LARGE.
 */
export function encodeIndex(index: IndexFile): string {
  assertJsonData(index);
  validateIndex(index);
  const pretty = `${JSON.stringify(index, null, 2)}\n`;
  if (fits(pretty)) return pretty;
  const compact = `${JSON.stringify(index)}\n`;
  if (fits(compact)) return compact;
  return tooLarge();
}

function fits(text: string): boolean {
  return text.length <= INDEX_MAX_BYTES && Buffer.byteLength(text, 'utf8') <= INDEX_MAX_BYTES;
}

/**
 * The bytes an index signature covers: UTF-8 of SIGNING_PREFIX followed by the RFC 8785 canonical
 * JSON of the index without its `signature` field (unknown fields included). Does not validate:
 * sign only an index that went through encodeIndex or decodeIndex.
 */
export function signingPayload(index: IndexFile): Buffer {
  const { signature: _signature, ...signed } = index;
  return Buffer.from(SIGNING_PREFIX + canonicalJson(signed), 'utf8');
}

/** The index's revision: its `revision` field, or 0 when absent (every index before revisions). */
export function indexRevision(index: IndexFile): number {
  return index.revision ?? 0;
}

/**
 * A local index is what `slice` writes: no `cluster`, `shift`, `createdBy` or `signature`, and no
 * holders on its chunks. A valid index is either local or distributed, never both.
 */
export function isLocalIndex(index: IndexFile): boolean {
  return (
    index.cluster === undefined &&
    index.shift === undefined &&
    index.createdBy === undefined &&
    index.signature === undefined &&
    index.chunks.every((chunk) => chunk.holders === undefined && chunk.shards === undefined)
  );
}

/** A distributed index is what `upload` writes: `cluster`, `shift`, `createdBy`, holders on every chunk. */
export function isDistributedIndex(index: IndexFile): boolean {
  return (
    index.cluster !== undefined &&
    index.shift !== undefined &&
    index.createdBy !== undefined &&
    index.chunks.every((chunk) => chunk.holders !== undefined || chunk.shards !== undefined)
  );
}
