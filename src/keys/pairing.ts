/**
 * Pairing strings: one line a person copies from one node and pastes into another (spec in
 * docs/pairing.md):
 *
 *   arozdfs-pair-v1:<node-uuid>:<base64 SPKI DER>:<base64 UTF-8 label>:<check>
 *
 * base64 is the standard alphabet without padding; <check> is the first 8 hex digits of SHA-256 over
 * everything before the last colon, so damage in copying gets a clear error instead of a strange
 * fingerprint. Pasted text is normalised first (BOM, zero-width, bidi and other format characters,
 * whitespace and line breaks are removed), so the string survives chat apps, e-mail and line wrapping.
 * A bare PEM public key is accepted too, with the node UUID given separately.
 *
 * Parsing only reads; it never decides trust (the trust store and a person do).
 */
import { createHash } from 'node:crypto';
import { ArozError, isArozError } from '../errors.ts';
import { assertUuid } from '../uuid.ts';
import { sanitizeLabel } from './label.ts';
import { INVISIBLE, looksLikePem, spkiDerFromPem } from './pem.ts';
import { type PublicKeyInfo, publicKeyFromSpki } from './rsa.ts';

export const PAIRING_TAG = 'arozdfs-pair-v1';
/** The most a person may paste (bytes, before normalising). */
export const MAX_PAIRING_INPUT = 16 * 1024;

const BASE64 = /^[A-Za-z0-9+/]*$/;

/** What a pairing string carries. */
export interface PairingData {
  nodeUuid: string;
  spkiDer: Uint8Array;
  label: string;
}

/** A pasted peer, checked: canonical UUID, accepted RSA key, safe label. */
export interface PastedPeer {
  nodeUuid: string;
  key: PublicKeyInfo;
  label: string;
  /** What was pasted. */
  form: 'pairing' | 'pem';
}

function b64(data: Uint8Array): string {
  return Buffer.from(data).toString('base64').replace(/=+$/, '');
}

function checkOf(body: string): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 8);
}

/** Encodes a pairing string without checking the key (tests use it to build hostile input). */
export function encodePairing(data: PairingData): string {
  const body = `${PAIRING_TAG}:${data.nodeUuid}:${b64(data.spkiDer)}:${b64(Buffer.from(data.label, 'utf8'))}`;
  return `${body}:${checkOf(body)}`;
}

/** The pairing string of a node: its UUID, its active public key and its name as the label. */
export function formatPairing(nodeUuid: string, key: PublicKeyInfo, label: string): string {
  return encodePairing({
    nodeUuid: assertUuid(nodeUuid, 'Node UUID'),
    spkiDer: key.spkiDer,
    label: sanitizeLabel(label),
  });
}

function invalid(message: string, cause?: unknown): ArozError {
  return new ArozError('ERR_PAIRING_INVALID', message, cause === undefined ? undefined : { cause });
}

function decodeBase64(text: string, what: string): Buffer {
  const data = Buffer.from(text, 'base64');
  if (!BASE64.test(text) || text.length % 4 === 1 || b64(data) !== text) {
    throw invalid(`The pairing string is damaged: its ${what} is not valid base64`);
  }
  return data;
}

/** Reads pasted bytes as UTF-8 text, refusing more than MAX_PAIRING_INPUT bytes or invalid UTF-8. */
export function pastedText(input: string | Uint8Array): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > MAX_PAIRING_INPUT) {
    throw invalid(
      `The pasted text is ${size} bytes; a pairing string or PEM key is at most ${MAX_PAIRING_INPUT}`,
    );
  }
  if (typeof input === 'string') return input;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch (err) {
    throw invalid('The pasted text is not valid UTF-8 text', err);
  }
}

function parsePairingString(compact: string): Omit<PastedPeer, 'form'> {
  const copies = compact.split('arozdfs-pair-').length - 1;
  if (copies > 1) throw invalid(`The pasted text holds ${copies} pairing strings; paste exactly one`);
  const fields = compact.split(':');
  if (fields[0] !== PAIRING_TAG) {
    throw invalid(
      `The pairing string starts with ${JSON.stringify(fields[0]?.slice(0, 24))}: it was made by another version of arozdfs`,
    );
  }
  if (fields.length !== 5) {
    throw invalid(`The pairing string has ${fields.length} parts instead of 5: it is truncated or damaged`);
  }
  const [, uuidField, keyField, labelField, check] = fields as [string, string, string, string, string];
  const nodeUuid = assertUuid(uuidField, 'The node UUID in the pairing string');
  if (check !== checkOf(compact.slice(0, compact.lastIndexOf(':')))) {
    throw invalid('The pairing string was damaged in copying (its check digits do not match); copy it again');
  }
  const spkiDer = decodeBase64(keyField, 'public key');
  let labelText: string;
  try {
    labelText = new TextDecoder('utf-8', { fatal: true }).decode(decodeBase64(labelField, 'label'));
  } catch (err) {
    if (isArozError(err)) throw err;
    throw invalid('The label in the pairing string is not valid UTF-8', err);
  }
  return {
    nodeUuid,
    key: keyOf(spkiDer, 'The public key in the pairing string'),
    label: sanitizeLabel(labelText),
  };
}

function keyOf(spkiDer: Uint8Array, what: string): PublicKeyInfo {
  try {
    return publicKeyFromSpki(spkiDer, what);
  } catch (err) {
    if (isArozError(err, 'ERR_KEY_INVALID')) throw invalid(err.message, err);
    throw err;
  }
}

/**
 * Parses what a person pasted: a pairing string, or a PEM public key together with `uuid`. With a
 * pairing string, a given `uuid` must match the one inside. Throws ERR_PAIRING_INVALID,
 * ERR_INVALID_UUID, ERR_KEY_UNSUPPORTED, or ERR_USAGE for a PEM key without a UUID.
 */
export function parsePastedPeer(input: string | Uint8Array, options: { uuid?: string } = {}): PastedPeer {
  const text = pastedText(input);
  const given = options.uuid === undefined ? undefined : assertUuid(options.uuid, 'The --uuid');
  if (looksLikePem(text)) {
    const der = spkiDerFromPem(text, 'The pasted key', 'ERR_PAIRING_INVALID');
    if (given === undefined) {
      throw new ArozError('ERR_USAGE', 'A pasted PEM public key needs the node UUID: add --uuid <node-uuid>');
    }
    return { nodeUuid: given, key: keyOf(der, 'The pasted key'), label: '', form: 'pem' };
  }
  const compact = text.replace(INVISIBLE, '');
  if (compact === '') throw invalid('Nothing was pasted: expected a pairing string (arozdfs keys show)');
  if (!compact.startsWith('arozdfs-pair-')) {
    throw invalid('The pasted text is neither a pairing string ("arozdfs-pair-v1:…") nor a PEM public key');
  }
  const peer = parsePairingString(compact);
  if (given !== undefined && given !== peer.nodeUuid) {
    throw invalid(`--uuid "${given}" differs from the node UUID "${peer.nodeUuid}" in the pairing string`);
  }
  return { ...peer, form: 'pairing' };
}
