/**
 * Signed address records (docs/cluster.md): a node's own statement of where it listens,
 * `{node, seq, addresses, instance, issuedAt, expiresAt}`, signed with the node's RSA key
 * (RSA-PSS-SHA256, 32-byte salt) over `"arozdfs-address-record-v1\n"` + RFC 8785 canonical JSON of the
 * record without its signature. A record counts only if it verifies against the key pinned for the
 * node it describes and has not expired; whoever relays it cannot change it. The strictly increasing
 * `seq` (see seq-store.ts) lets a reader keep the newest and ignore replays.
 */
import { constants, sign, verify } from 'node:crypto';
import { ArozError, isArozError } from '../errors.ts';
import { canonicalJson, isUtcTimestamp, parseStrictJson } from '../index-file/index.ts';
import type { KeyPair, PublicKeyInfo } from '../keys/index.ts';
import { isUuid } from '../uuid.ts';
import { endpointKey, type HostPort, isDialableHost, isPort } from './endpoint.ts';

export const RECORD_DOMAIN = 'arozdfs-address-record-v1\n';
export const RECORD_ALG = 'RSA-PSS-SHA256';

export const RECORD_LIMITS = {
  /** Bytes of a record's JSON (a record with 16 IPv6 addresses and an 8192-bit signature fits). */
  maxBytes: 4096,
  maxAddresses: 16,
  /** Longest `expiresAt − issuedAt` accepted. */
  maxLifetimeMs: 7 * 24 * 3600_000,
  /** How far in the future `issuedAt` may lie (clocks of home machines drift). */
  maxClockSkewMs: 10 * 60_000,
  /** Lifetime `signRecord` gives by default; nodes re-sign long before. */
  defaultTtlMs: 24 * 3600_000,
} as const;

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;
const FIELDS = ['addresses', 'expiresAt', 'instance', 'issuedAt', 'node', 'seq', 'signature'];

export interface AddressRecordBody {
  readonly node: string;
  readonly seq: number;
  readonly addresses: readonly HostPort[];
  /** Random id of the node's current run: two runs at once under one UUID are a cloned identity. */
  readonly instance: string;
  readonly issuedAt: string;
  readonly expiresAt: string;
}

export interface RecordSignature {
  readonly alg: typeof RECORD_ALG;
  /** Fingerprint of the signing key (informative: the pinned key is what verifies). */
  readonly key: string;
  readonly value: string;
}

export interface AddressRecord extends AddressRecordBody {
  readonly signature: RecordSignature;
}

declare const verifiedBrand: unique symbol;
/** A record that `verifyRecord` accepted: only these go into an address book. */
export type VerifiedRecord = AddressRecord & { readonly [verifiedBrand]: true };

export interface RecordFields {
  node: string;
  seq: number;
  addresses: readonly HostPort[];
  instance: string;
  /** Signing time, ms since the epoch. */
  now: number;
  ttlMs?: number;
}

/** The exact bytes a record signature covers. */
export function recordPayload(body: AddressRecordBody): Buffer {
  const { node, seq, addresses, instance, issuedAt, expiresAt } = body;
  const plain = { node, seq, addresses: addresses.map((a) => ({ host: a.host, port: a.port })), instance };
  return Buffer.from(RECORD_DOMAIN + canonicalJson({ ...plain, issuedAt, expiresAt }), 'utf8');
}

/** Signs this node's record. Throws a TypeError for fields no valid record could hold. */
export function signRecord(fields: RecordFields, keyPair: KeyPair): AddressRecord {
  const issued = Math.floor(fields.now);
  const body: AddressRecordBody = {
    node: fields.node,
    seq: fields.seq,
    addresses: fields.addresses.map((a) => ({ host: a.host, port: a.port })),
    instance: fields.instance,
    issuedAt: new Date(issued).toISOString(),
    expiresAt: new Date(issued + (fields.ttlMs ?? RECORD_LIMITS.defaultTtlMs)).toISOString(),
  };
  const problem = bodyProblem(body);
  if (problem !== undefined) throw new TypeError(`signRecord: ${problem}`);
  const value = sign('sha256', recordPayload(body), { key: keyPair.privateKey, ...PSS }).toString('base64');
  return { ...body, signature: { alg: RECORD_ALG, key: keyPair.fingerprint, value } };
}

/** The record as JSON text for the wire. */
export function encodeRecord(record: AddressRecord): string {
  return JSON.stringify(record);
}

/** Parses a record from the wire: size cap, strict JSON (no duplicate keys), then `parseRecord`. */
export function decodeRecord(text: string | Uint8Array): AddressRecord {
  const size = typeof text === 'string' ? Buffer.byteLength(text) : text.byteLength;
  if (size > RECORD_LIMITS.maxBytes) {
    throw invalid(`An address record of ${size} bytes is over the limit of ${RECORD_LIMITS.maxBytes}`);
  }
  const source = typeof text === 'string' ? text : Buffer.from(text).toString('utf8');
  let value: unknown;
  try {
    value = parseStrictJson(source, { subject: 'Address record' });
  } catch (err) {
    if (!isArozError(err)) throw err;
    throw invalid(err.message);
  }
  return parseRecord(value);
}

/** Checks the shape of a record (not its signature). Throws ERR_RECORD_INVALID. */
export function parseRecord(value: unknown): AddressRecord {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid('An address record must be a JSON object');
  }
  const fields = value as Record<string, unknown>;
  const extra = Object.keys(fields).find((key) => !FIELDS.includes(key));
  if (extra !== undefined) throw invalid(`An address record has the unknown field "${extra.slice(0, 40)}"`);
  const problem = bodyProblem(fields) ?? signatureProblem(fields['signature']);
  if (problem !== undefined)
    throw invalid(`Address record of "${String(fields['node']).slice(0, 40)}": ${problem}`);
  return value as AddressRecord;
}

/** The pinned key of a node UUID (a TrustStore is one). */
export interface PinnedKeys {
  get(nodeUuid: string): PublicKeyInfo | undefined;
}

/**
 * Accepts a record only if it is well-formed, was signed with `pinned` (the key pinned for the node it
 * describes), and is valid at `now` (ms). Throws ERR_RECORD_INVALID (malformed, oversized, issued in
 * the future), ERR_RECORD_UNTRUSTED (no pinned key, another signer) or ERR_RECORD_EXPIRED.
 */
export function verifyRecord(input: unknown, pinned: PublicKeyInfo | undefined, now: number): VerifiedRecord {
  const record =
    typeof input === 'string' || input instanceof Uint8Array ? decodeRecord(input) : parseRecord(input);
  if (pinned === undefined) {
    throw new ArozError(
      'ERR_RECORD_UNTRUSTED',
      `No key is pinned for node "${record.node}": its address record is ignored`,
    );
  }
  const value = Buffer.from(record.signature.value, 'base64');
  if (!verify('sha256', recordPayload(record), { key: pinned.publicKey, ...PSS }, value)) {
    throw new ArozError(
      'ERR_RECORD_UNTRUSTED',
      `The address record of node "${record.node}" (seq ${record.seq}) is not signed by its pinned key ${pinned.fingerprint}`,
    );
  }
  if (Date.parse(record.issuedAt) > now + RECORD_LIMITS.maxClockSkewMs) {
    throw invalid(
      `The address record of node "${record.node}" is issued in the future ("${record.issuedAt}")`,
    );
  }
  if (Date.parse(record.expiresAt) <= now) {
    throw new ArozError(
      'ERR_RECORD_EXPIRED',
      `The address record of node "${record.node}" (seq ${record.seq}) expired at "${record.expiresAt}"`,
    );
  }
  return record as VerifiedRecord;
}

/** `verifyRecord` with the key a trust store pins for the record's own node. */
export function verifyTrustedRecord(input: unknown, pins: PinnedKeys, now: number): VerifiedRecord {
  const record =
    typeof input === 'string' || input instanceof Uint8Array ? decodeRecord(input) : parseRecord(input);
  return verifyRecord(record, pins.get(record.node), now);
}

function invalid(message: string): ArozError {
  return new ArozError('ERR_RECORD_INVALID', message);
}

function bodyProblem(fields: Record<string, unknown> | AddressRecordBody): string | undefined {
  const f = fields as Record<string, unknown>;
  if (!isUuid(f['node'])) return 'the node is not a canonical v4 UUID';
  const seq = f['seq'];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1)
    return 'the seq is not a positive integer';
  if (!isUuid(f['instance'])) return 'the instance is not a canonical v4 UUID';
  const issuedAt = f['issuedAt'];
  const expiresAt = f['expiresAt'];
  if (!isUtcTimestamp(issuedAt) || !isUtcTimestamp(expiresAt))
    return 'a time is not an ISO 8601 UTC timestamp';
  const lifetime = Date.parse(expiresAt) - Date.parse(issuedAt);
  if (!(lifetime > 0 && lifetime <= RECORD_LIMITS.maxLifetimeMs))
    return 'its lifetime is not between 0 and 7 days';
  const addresses = f['addresses'];
  if (!Array.isArray(addresses) || addresses.length > RECORD_LIMITS.maxAddresses) {
    return `the addresses are not a list of at most ${RECORD_LIMITS.maxAddresses}`;
  }
  const seen = new Set<string>();
  for (const a of addresses as unknown[]) {
    if (typeof a !== 'object' || a === null || Array.isArray(a)) return 'an address is not an object';
    const { host, port, ...rest } = a as Record<string, unknown>;
    if (Object.keys(rest).length > 0) return 'an address has fields other than host and port';
    if (!isDialableHost(host) || !isPort(port)) return 'an address is not a canonical IP literal and a port';
    const key = endpointKey({ host, port });
    if (seen.has(key)) return `the address ${key} is listed twice`;
    seen.add(key);
  }
  return undefined;
}

function signatureProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the signature is missing';
  const { alg, key, value: sig, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return 'the signature has unknown fields';
  if (alg !== RECORD_ALG) return `the signature algorithm is not ${RECORD_ALG}`;
  if (typeof key !== 'string' || key.length > 128) return 'the signature does not name its key';
  if (typeof sig !== 'string' || sig.length > 1400 || Buffer.from(sig, 'base64').toString('base64') !== sig) {
    return 'the signature value is not canonical base64';
  }
  return undefined;
}
