/**
 * Semantic validation of an index v1 (docs/index-format.md): every known field's type and rule, the
 * chunk layout (positions in order, offsets contiguous from 0, sizes adding up to the file size), the
 * local/distributed shape, and the limits. Unknown fields are left alone (kept, never checked beyond
 * being JSON). Checks run in a fixed order, so `format`, then `version` (ERR_INDEX_VERSION), then
 * `redundancy.scheme` (ERR_INDEX_SCHEME) are judged before anything a later version might change.
 */
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
  MAX_CHUNK_SIZE,
  MAX_CLUSTER_NODES,
  MAX_COPIES,
  MAX_HOLDERS,
  MIN_CHUNK_SIZE,
  REPLICAS_SCHEME,
  SIGNATURE_ALG,
} from './types.ts';

type Obj = Record<string, unknown>;

/** Checks `value` against every rule of index v1 and returns it typed; throws ArozError naming the field. */
export function validateIndex(value: unknown): IndexFile {
  const top = object(value, []);
  if (top.format !== INDEX_FORMAT) bad(['format'], top.format, quote(INDEX_FORMAT));
  const version = top.version;
  if (!Number.isSafeInteger(version)) bad(['version'], version, 'an integer');
  if (version !== INDEX_VERSION) {
    fail(
      'ERR_INDEX_VERSION',
      ['version'],
      `is ${version}; this arozdfs reads index version ${INDEX_VERSION} only`,
    );
  }
  const redundancy = object(top.redundancy, ['redundancy']);
  if (typeof redundancy.scheme !== 'string') bad(['redundancy', 'scheme'], redundancy.scheme, 'a string');
  if (redundancy.scheme !== REPLICAS_SCHEME) {
    fail(
      'ERR_INDEX_SCHEME',
      ['redundancy', 'scheme'],
      `is ${quote(redundancy.scheme)}; this arozdfs knows only ${quote(REPLICAS_SCHEME)}`,
    );
  }
  const copies = integer(redundancy.copies, ['redundancy', 'copies'], 1, MAX_COPIES);

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
  }
  validateChunks(top.chunks, { size, chunkSize, distributed });
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
    if (layout.distributed) validateHolders(chunk.holders, ['chunks', k, 'holders']);
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
