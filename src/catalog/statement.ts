/**
 * Catalog statements as bytes: signing, the canonical encoding, and strict decoding with a size cap.
 *
 *   signed bytes = UTF-8( STATEMENT_DOMAIN + JCS(statement without "signature") )
 *   encoding     = UTF-8( JCS(statement) )   (RFC 8785: one statement has exactly one encoding)
 *
 * Signatures are RSA-PSS-SHA256 with a 32-byte salt, as for index files (src/keys/index-signature.ts)
 * and address records; the domain prefix keeps the three apart. Decoding checks the shape only;
 * whether a statement verifies is verify.ts's business.
 */
import { constants, sign } from 'node:crypto';
import { ArozError, isArozError } from '../errors.ts';
import {
  canonicalJson,
  isKeyFingerprint,
  isSignatureValue,
  isUtcTimestamp,
  parseStrictJson,
  validateIndex,
} from '../index-file/index.ts';
import type { KeyPair } from '../keys/index.ts';
import { isUuid } from '../uuid.ts';
import {
  CATALOG_LIMITS,
  STATEMENT_ALG,
  STATEMENT_DOMAIN,
  STATEMENT_FORMAT,
  STATEMENT_KINDS,
  STATEMENT_VERSION,
  type Statement,
  type StatementFields,
} from './types.ts';

export const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } as const;

const TOP_FIELDS = ['body', 'file', 'format', 'kind', 'seq', 'signature', 'signer', 'version'];
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The exact bytes a statement signature covers. */
export function statementPayload(statement: Omit<Statement, 'signature'> | Statement): Buffer {
  const { signature: _signature, ...signed } = statement as Statement;
  return Buffer.from(STATEMENT_DOMAIN + canonicalJson(signed), 'utf8');
}

/**
 * Signs a statement with `keyPair` (a key of `fields.signer`). Throws ERR_CATALOG_INVALID for a
 * statement that could never be accepted, and ERR_CATALOG_TOO_LARGE when it would pass the cap.
 */
export function signStatement(fields: StatementFields, keyPair: KeyPair): Statement {
  const unsigned = { format: STATEMENT_FORMAT, version: STATEMENT_VERSION, ...fields };
  const value = sign('sha256', statementPayload(unsigned as Statement), { key: keyPair.privateKey, ...PSS });
  const statement = {
    ...unsigned,
    signature: { alg: STATEMENT_ALG, key: keyPair.fingerprint, value: value.toString('base64') },
  } as Statement;
  decodeStatement(encodeStatement(statement));
  return statement;
}

/**
 * The signed bytes and the canonical encoding of one statement with one canonicalization: the
 * encoding is the signed JSON with `"signature"` put in its sorted place, just before the top-level
 * `"signer"` and `"version"` members, which end every statement in a form fixed by their rules (a
 * UUID and the number 1). Equal to `statementPayload` and `encodeStatement`, only cheaper.
 */
export function statementForms(statement: Statement): { payload: Buffer; bytes: Buffer } {
  const { signature, ...signed } = statement;
  const json = canonicalJson(signed);
  const tail = `,"signer":${JSON.stringify(statement.signer)},"version":${statement.version}}`;
  if (!json.endsWith(tail))
    throw new TypeError('statementForms: the statement does not end as every statement does');
  const bytes = `${json.slice(0, -tail.length)},"signature":${canonicalJson(signature)}${tail}`;
  return { payload: Buffer.from(STATEMENT_DOMAIN + json, 'utf8'), bytes: Buffer.from(bytes, 'utf8') };
}

/** The canonical encoding (UTF-8 of RFC 8785 JSON): what is stored and sent. */
export function encodeStatement(statement: Statement): Buffer {
  return Buffer.from(canonicalJson(statement), 'utf8');
}

/**
 * Strictly decodes one statement: size cap first, strict UTF-8 and JSON (no duplicate keys, canonical
 * numbers), then the shape of every field, the index inside an index statement included. Throws only
 * ERR_CATALOG_TOO_LARGE or ERR_CATALOG_INVALID.
 */
export function decodeStatement(input: Uint8Array | string): Statement {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > CATALOG_LIMITS.maxStatementBytes) {
    throw new ArozError(
      'ERR_CATALOG_TOO_LARGE',
      `A catalog statement of ${size} bytes is over the limit of ${CATALOG_LIMITS.maxStatementBytes}`,
    );
  }
  let value: unknown;
  try {
    const text = typeof input === 'string' ? input : utf8.decode(input);
    value = parseStrictJson(text, { subject: 'Catalog statement' });
  } catch (err) {
    if (isArozError(err)) throw invalid(err.message);
    if (err instanceof TypeError) throw invalid('Catalog statement is not valid UTF-8');
    throw err;
  }
  return parseStatement(value);
}

/** Checks the shape of a decoded statement (not its signature). Throws ERR_CATALOG_INVALID. */
export function parseStatement(value: unknown): Statement {
  const top = record(value, 'A catalog statement');
  const extra = Object.keys(top).find((key) => !TOP_FIELDS.includes(key));
  if (extra !== undefined) throw invalid(`A catalog statement has the unknown field ${quote(extra)}`);
  if (top.format !== STATEMENT_FORMAT)
    throw invalid(`A catalog statement's "format" is not "${STATEMENT_FORMAT}"`);
  if (top.version !== STATEMENT_VERSION) {
    throw invalid(`A catalog statement's "version" is ${quote(top.version)}; this arozdfs reads version 1`);
  }
  if (!isUuid(top.signer))
    throw invalid(`A catalog statement's "signer" is ${quote(top.signer)}, not a UUID`);
  const seq = top.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    throw invalid(`A catalog statement's "seq" is ${quote(seq)}, not an integer from 1 to 2^53 − 1`);
  }
  const what = `The catalog statement ${top.signer}#${seq}`;
  if (!isUuid(top.file)) throw invalid(`${what}: "file" is ${quote(top.file)}, not a UUID`);
  if (!(STATEMENT_KINDS as readonly unknown[]).includes(top.kind)) {
    throw invalid(`${what}: "kind" is ${quote(top.kind)}, not one of ${STATEMENT_KINDS.join(', ')}`);
  }
  checkSignature(top.signature, what);
  const body = record(top.body, `${what}: "body"`);
  const problem =
    top.kind === 'index'
      ? indexProblem(body)
      : top.kind === 'tombstone'
        ? tombstoneProblem(body)
        : holdingsProblem(body);
  if (problem !== undefined) throw invalid(`${what} (${String(top.kind)}): ${problem}`);
  return top as unknown as Statement;
}

function indexProblem(body: Record<string, unknown>): string | undefined {
  if (Object.keys(body).some((key) => key !== 'index')) return 'the body has fields other than "index"';
  try {
    validateIndex(body.index);
  } catch (err) {
    if (isArozError(err)) return err.message;
    throw err;
  }
  return undefined;
}

function tombstoneProblem(body: Record<string, unknown>): string | undefined {
  if (Object.keys(body).some((key) => key !== 'revision' && key !== 'deletedAt'))
    return 'the body has fields other than "revision" and "deletedAt"';
  const revision = body.revision;
  if (typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision < 0)
    return `"revision" is ${quote(revision)}, not an integer ≥ 0`;
  if (!isUtcTimestamp(body.deletedAt)) return `"deletedAt" is ${quote(body.deletedAt)}, not a UTC timestamp`;
  return undefined;
}

function holdingsProblem(body: Record<string, unknown>): string | undefined {
  if (Object.keys(body).some((key) => key !== 'chunks')) return 'the body has fields other than "chunks"';
  const chunks = body.chunks;
  if (!Array.isArray(chunks) || chunks.length > CATALOG_LIMITS.maxHoldingsChunks)
    return `"chunks" is not a list of at most ${CATALOG_LIMITS.maxHoldingsChunks} chunk UUIDs`;
  for (let k = 0; k < chunks.length; k++) {
    if (!isUuid(chunks[k])) return `"chunks[${k}]" is ${quote(chunks[k])}, not a UUID`;
    if (k > 0 && (chunks[k] as string) <= (chunks[k - 1] as string))
      return `"chunks" is not sorted without repeats (at ${k})`;
  }
  return undefined;
}

function checkSignature(value: unknown, what: string): void {
  const signature = record(value, `${what}: "signature"`);
  const { alg, key, value: sig, ...rest } = signature;
  if (Object.keys(rest).length > 0) throw invalid(`${what}: the signature has unknown fields`);
  if (alg !== STATEMENT_ALG)
    throw invalid(`${what}: the signature algorithm is ${quote(alg)}, not ${STATEMENT_ALG}`);
  if (!isKeyFingerprint(key)) throw invalid(`${what}: the signature's "key" is not a key fingerprint`);
  if (!isSignatureValue(sig)) throw invalid(`${what}: the signature value is not canonical base64`);
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw invalid(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function quote(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

function invalid(message: string): ArozError {
  return new ArozError('ERR_CATALOG_INVALID', message);
}
