/**
 * Semantic validation of an index v1 (docs/index-format.md): every known field's type and rule, the
 * chunk layout (positions in order, offsets contiguous from 0, sizes adding up to the file size), the
 * local/distributed shape, and the limits. Unknown fields are left alone (kept, never checked beyond
 * being JSON). Checks run in a fixed order, so `format`, then `version` (ERR_INDEX_VERSION), then
 * `redundancy.scheme` (ERR_INDEX_SCHEME) are judged before anything a later version might change.
 */

import { shardSize } from '../erasure/layout.ts';
import { ArozError, type ErrorCode } from '../errors.ts';
import { isUuid } from '../uuid.ts';
import { count, describe, formatPath, type JsonPath, quote } from './describe.ts';
import {
  filePathProblem,
  isKeyFingerprint,
  isSha256Hex,
  isSignatureValue,
  isUtcTimestamp,
  MAX_SIGNATURE_BYTES,
} from './fields.ts';
import {
  EMPTY_SHA256,
  INDEX_FORMAT,
  INDEX_MAX_CHUNKS,
  INDEX_VERSION,
  type IndexFile,
  KEY_WRAP,
  KNOWN_SCHEMES,
  MAX_CHUNK_SIZE,
  MAX_CLUSTER_NODES,
  MAX_COPIES,
  MAX_HOLDERS,
  MAX_READERS,
  MAX_RS_SHARDS,
  MIN_CHUNK_SIZE,
  RS_SCHEME,
  SEALED_CIPHER,
  SEALED_INDEX_VERSION,
  SEALED_OVERHEAD,
  SIGNATURE_ALG,
} from './types.ts';

type Obj = Record<string, unknown>;

/** Checks `value` against every rule of index v1 and returns it typed; throws ArozError naming the field. */
export function validateIndex(value: unknown): IndexFile {
  const top = object(value, []);
  if (top.format !== INDEX_FORMAT) bad(['format'], top.format, quote(INDEX_FORMAT));
  const version = top.version;
  if (!Number.isSafeInteger(version)) bad(['version'], version, 'an integer');
  if (version !== INDEX_VERSION && version !== SEALED_INDEX_VERSION) {
    fail(
      'ERR_INDEX_VERSION',
      ['version'],
      `is ${version}; this arozdfs reads index versions ${INDEX_VERSION} and ${SEALED_INDEX_VERSION} only`,
    );
  }
  const sealed = version === SEALED_INDEX_VERSION;
  const redundancy = object(top.redundancy, ['redundancy']);
  if (typeof redundancy.scheme !== 'string') bad(['redundancy', 'scheme'], redundancy.scheme, 'a string');
  if (!KNOWN_SCHEMES.includes(redundancy.scheme)) {
    fail(
      'ERR_INDEX_SCHEME',
      ['redundancy', 'scheme'],
      `is ${quote(redundancy.scheme)}; this arozdfs knows only ${KNOWN_SCHEMES.map(quote).join(' and ')}`,
    );
  }
  const rs = redundancy.scheme === RS_SCHEME ? shardCounts(redundancy) : undefined;
  const copies = rs === undefined ? integer(redundancy.copies, ['redundancy', 'copies'], 1, MAX_COPIES) : 1;

  if (!isUuid(top.id)) bad(['id'], top.id, 'a canonical v4 UUID');
  const file = object(top.file, ['file']);
  const nameProblem = filePathProblem(file.name);
  if (nameProblem !== undefined) {
    if (typeof file.name !== 'string') bad(['file', 'name'], file.name, 'a file name');
    fail('ERR_INDEX_INVALID', ['file', 'name'], `is ${describe(file.name)}, which ${nameProblem}`);
  }
  const size = integer(file.size, ['file', 'size'], 0, Number.MAX_SAFE_INTEGER);
  if (!isSha256Hex(file.sha256)) bad(['file', 'sha256'], file.sha256, '64 lower-case hex digits');
  if (size === 0 && file.sha256 !== EMPTY_SHA256) {
    bad(['file', 'sha256'], file.sha256, `${quote(EMPTY_SHA256)} (the SHA-256 of an empty file)`);
  }
  if (top.revision !== undefined) integer(top.revision, ['revision'], 0, Number.MAX_SAFE_INTEGER);
  const chunkSize = integer(top.chunkSize, ['chunkSize'], MIN_CHUNK_SIZE, MAX_CHUNK_SIZE);
  if (!isUtcTimestamp(top.createdAt)) {
    bad(['createdAt'], top.createdAt, 'a UTC timestamp like "2026-01-31T23:59:59.000Z"');
  }

  const distributed = top.cluster !== undefined || top.shift !== undefined || top.createdBy !== undefined;
  if (sealed) {
    if (!distributed)
      fail('ERR_INDEX_INVALID', ['version'], 'is 2 (encrypted), but a local index is never encrypted');
    validateEncryption(top.encryption);
  }
  if (distributed) validateUpload(top);
  else {
    if (top.signature !== undefined) {
      fail(
        'ERR_INDEX_INVALID',
        ['signature'],
        'is present, but a local index (no "cluster") is never signed',
      );
    }
    if (copies !== 1) bad(['redundancy', 'copies'], copies, '1 (a local index has one copy)');
    if (rs !== undefined) {
      fail(
        'ERR_INDEX_INVALID',
        ['redundancy', 'scheme'],
        'is "rs", but a local index (no "cluster") has no shards',
      );
    }
  }
  validateChunks(top.chunks, { size, chunkSize, distributed, rs, sealed });
  return top as IndexFile;
}

/** `cluster`, `shift`, `createdBy` and `signature` of a distributed index. */
function validateUpload(top: Obj): void {
  for (const key of ['cluster', 'shift', 'createdBy']) {
    if (top[key] === undefined) {
      fail(
        'ERR_INDEX_INVALID',
        [key],
        'is missing (a distributed index has "cluster", "shift" and "createdBy")',
      );
    }
  }
  const cluster = array(top.cluster, ['cluster'], 1, MAX_CLUSTER_NODES);
  const seen = new Set<string>();
  cluster.forEach((node, k) => {
    if (!isUuid(node)) bad(['cluster', k], node, 'a canonical v4 UUID');
    if (seen.has(node)) fail('ERR_INDEX_INVALID', ['cluster', k], `repeats the node ${quote(node)}`);
    seen.add(node);
  });
  integer(top.shift, ['shift'], 0, Number.MAX_SAFE_INTEGER);
  if (!isUuid(top.createdBy)) bad(['createdBy'], top.createdBy, 'a canonical v4 UUID');
  if (top.signature === undefined) return;
  const signature = object(top.signature, ['signature']);
  if (signature.alg !== SIGNATURE_ALG) {
    bad(['signature', 'alg'], signature.alg, `${quote(SIGNATURE_ALG)} (the only algorithm of index v1)`);
  }
  if (!isKeyFingerprint(signature.key)) {
    bad(['signature', 'key'], signature.key, 'a key fingerprint "SHA256:" + 43 base64 characters');
  }
  if (!isSignatureValue(signature.value)) {
    bad(['signature', 'value'], signature.value, `padded base64 of 1 to ${MAX_SIGNATURE_BYTES} bytes`);
  }
}

interface Layout {
  size: number;
  chunkSize: number;
  distributed: boolean;
  /** K and M of an erasure-coded index. */
  rs: { data: number; parity: number } | undefined;
  /** Encrypted: each chunk is stored with a GCM tag after it (its shards cut from both). */
  sealed: boolean;
}

/** `encryption` of a version 2 index: the cipher, the wrap, and 1..MAX_READERS wrapped keys. */
function validateEncryption(value: unknown): void {
  if (value === undefined)
    fail('ERR_INDEX_INVALID', ['encryption'], 'is missing (a version 2 index is encrypted)');
  const encryption = object(value, ['encryption']);
  if (encryption.alg !== SEALED_CIPHER) bad(['encryption', 'alg'], encryption.alg, quote(SEALED_CIPHER));
  if (encryption.wrap !== KEY_WRAP) bad(['encryption', 'wrap'], encryption.wrap, quote(KEY_WRAP));
  const keys = array(encryption.keys, ['encryption', 'keys'], 1, MAX_READERS);
  const seen = new Set<string>();
  keys.forEach((item, k) => {
    const entry = object(item, ['encryption', 'keys', k]);
    if (!isUuid(entry.node)) bad(['encryption', 'keys', k, 'node'], entry.node, 'a canonical v4 UUID');
    if (!isKeyFingerprint(entry.key)) bad(['encryption', 'keys', k, 'key'], entry.key, 'a key fingerprint');
    if (!isSignatureValue(entry.wrapped)) {
      bad(
        ['encryption', 'keys', k, 'wrapped'],
        entry.wrapped,
        `padded base64 of 1 to ${MAX_SIGNATURE_BYTES} bytes`,
      );
    }
    const id = `${entry.node} ${entry.key}`;
    if (seen.has(id)) fail('ERR_INDEX_INVALID', ['encryption', 'keys', k], 'repeats a node and key');
    seen.add(id);
  });
}

/** `data` and `parity` of an "rs" redundancy: each ≥ 1, together at most MAX_RS_SHARDS. */
function shardCounts(redundancy: Obj): { data: number; parity: number } {
  const data = integer(redundancy.data, ['redundancy', 'data'], 1, MAX_RS_SHARDS - 1);
  const parity = integer(redundancy.parity, ['redundancy', 'parity'], 1, MAX_RS_SHARDS - data);
  return { data, parity };
}

function validateChunks(value: unknown, layout: Layout): void {
  if (!Array.isArray(value)) bad(['chunks'], value, 'an array');
  if (value.length > INDEX_MAX_CHUNKS) {
    fail(
      'ERR_INDEX_TOO_LARGE',
      ['chunks'],
      `lists ${count(value.length)} chunks, more than ${count(INDEX_MAX_CHUNKS)}`,
    );
  }
  const uuids = new Set<string>();
  let offset = 0;
  const last = value.length - 1;
  for (let k = 0; k <= last; k++) {
    const chunk = object(value[k], ['chunks', k]);
    if (chunk.i !== k) bad(['chunks', k, 'i'], chunk.i, `${k} (chunks are listed in order from 0)`);
    if (chunk.offset !== offset) {
      bad(
        ['chunks', k, 'offset'],
        chunk.offset,
        `${offset} (${k === 0 ? 'the first chunk starts at 0' : `the end of chunk ${k - 1}`})`,
      );
    }
    if (k < last) {
      if (chunk.size !== layout.chunkSize) {
        bad(
          ['chunks', k, 'size'],
          chunk.size,
          `${layout.chunkSize} ("chunkSize"; only the last chunk may be shorter)`,
        );
      }
    } else {
      integer(chunk.size, ['chunks', k, 'size'], 1, layout.chunkSize);
    }
    offset += chunk.size as number;
    if (!isSha256Hex(chunk.sha256)) bad(['chunks', k, 'sha256'], chunk.sha256, '64 lower-case hex digits');
    if (!isUuid(chunk.uuid)) bad(['chunks', k, 'uuid'], chunk.uuid, 'a canonical v4 UUID');
    if (uuids.has(chunk.uuid)) {
      fail(
        'ERR_INDEX_INVALID',
        ['chunks', k, 'uuid'],
        `is ${quote(chunk.uuid)}, the UUID of an earlier chunk`,
      );
    }
    uuids.add(chunk.uuid);
    if (layout.rs !== undefined) {
      if (chunk.holders !== undefined) {
        fail(
          'ERR_INDEX_INVALID',
          ['chunks', k, 'holders'],
          'is present, but an "rs" chunk has holders per shard',
        );
      }
      const stored = (chunk.size as number) + (layout.sealed ? SEALED_OVERHEAD : 0);
      validateShards(chunk.shards, ['chunks', k, 'shards'], stored, layout.rs, uuids);
    } else if (chunk.shards !== undefined) {
      fail('ERR_INDEX_INVALID', ['chunks', k, 'shards'], 'is present, but only an "rs" index has shards');
    } else if (layout.distributed) validateHolders(chunk.holders, ['chunks', k, 'holders']);
    else if (chunk.holders !== undefined) {
      fail(
        'ERR_INDEX_INVALID',
        ['chunks', k, 'holders'],
        'is present, but a local index (no "cluster") has no holders',
      );
    }
  }
  if (offset !== layout.size) {
    fail('ERR_INDEX_INVALID', ['chunks'], `add up to ${offset} bytes, but "file.size" is ${layout.size}`);
  }
}

/** The K + M shards of an "rs" chunk: in order, the size the layout gives, hashes, fresh UUIDs, holders. */
function validateShards(
  value: unknown,
  path: JsonPath,
  chunkSize: number,
  rs: { data: number; parity: number },
  uuids: Set<string>,
): void {
  const total = rs.data + rs.parity;
  if (value === undefined)
    fail('ERR_INDEX_INVALID', path, `is missing (an "rs" chunk lists its ${total} shards)`);
  const shards = array(value, path, total, total);
  const size = shardSize(chunkSize, rs.data);
  shards.forEach((item, k) => {
    const shard = object(item, [...path, k]);
    if (shard.k !== k) bad([...path, k, 'k'], shard.k, `${k} (shards are listed in order from 0)`);
    if (shard.size !== size) bad([...path, k, 'size'], shard.size, `${size} (the shard size of this chunk)`);
    if (!isSha256Hex(shard.sha256)) bad([...path, k, 'sha256'], shard.sha256, '64 lower-case hex digits');
    if (!isUuid(shard.uuid)) bad([...path, k, 'uuid'], shard.uuid, 'a canonical v4 UUID');
    if (uuids.has(shard.uuid)) {
      fail(
        'ERR_INDEX_INVALID',
        [...path, k, 'uuid'],
        `is ${quote(shard.uuid)}, the UUID of an earlier chunk or shard`,
      );
    }
    uuids.add(shard.uuid);
    validateHolders(shard.holders, [...path, k, 'holders']);
  });
}

function validateHolders(value: unknown, path: JsonPath): void {
  if (value === undefined)
    fail('ERR_INDEX_INVALID', path, 'is missing (a distributed index has holders on every chunk)');
  const holders = array(value, path, 1, MAX_HOLDERS);
  const nodes = new Set<unknown>();
  holders.forEach((item, k) => {
    const holder = object(item, [...path, k]);
    if (!isUuid(holder.node)) bad([...path, k, 'node'], holder.node, 'a canonical v4 UUID');
    if (nodes.has(holder.node))
      fail('ERR_INDEX_INVALID', [...path, k, 'node'], `repeats the node ${quote(holder.node)}`);
    nodes.add(holder.node);
  });
}

function object(value: unknown, path: JsonPath): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(path, value, 'an object');
  return value as Obj;
}

function array(value: unknown, path: JsonPath, min: number, max: number): unknown[] {
  if (!Array.isArray(value)) bad(path, value, 'an array');
  if (value.length < min || value.length > max) {
    fail('ERR_INDEX_INVALID', path, `has ${value.length} entries, not ${min} to ${count(max)}`);
  }
  return value;
}

function integer(value: unknown, path: JsonPath, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    bad(path, value, `an integer from ${count(min)} to ${count(max)}`);
  }
  return value;
}

function bad(path: JsonPath, value: unknown, expected: string): never {
  return fail('ERR_INDEX_INVALID', path, `is ${describe(value)}, not ${expected}`);
}

function fail(code: ErrorCode, path: JsonPath, what: string): never {
  throw new ArozError(code, path.length === 0 ? `Index ${what}` : `Index ${quote(formatPath(path))} ${what}`);
}
