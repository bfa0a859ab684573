/**
 * Verifying a statement against the signer's pinned key (or, for this node's own statements, its own
 * keys, retired ones included), whoever relayed it. Checks that need nothing but the statement and
 * the keys run here; checks against what is held (stale revisions, tombstones, the uploader of a file)
 * run in rules.ts. The order is fixed: size and shape, unknown signer, statement signature, then who
 * may say what, then the index's own signature.
 */
import { verify } from 'node:crypto';
import { ArozError, isArozError } from '../errors.ts';
import { type PublicKeyInfo, verifyIndex } from '../keys/index.ts';
import { decodeStatement, PSS, parseStatement, statementForms } from './statement.ts';
import { CATALOG_LIMITS, type CatalogKeys, type Statement, type VerifiedStatement } from './types.ts';

/** The keys of this node (every key it has) and of its pinned peers (a TrustStore is a `pins`). */
export function catalogKeys(
  self: { nodeUuid: string; keys: readonly PublicKeyInfo[] },
  pins: { get(nodeUuid: string): PublicKeyInfo | undefined },
): CatalogKeys {
  return {
    keysOf(nodeUuid: string): readonly PublicKeyInfo[] {
      if (nodeUuid === self.nodeUuid) return self.keys;
      const pinned = pins.get(nodeUuid);
      return pinned === undefined ? [] : [pinned];
    },
  };
}

/**
 * Verifies one statement (its bytes, or an already decoded value). Throws ERR_CATALOG_TOO_LARGE,
 * ERR_CATALOG_INVALID, ERR_CATALOG_UNTRUSTED, ERR_CATALOG_SIGNATURE or ERR_CATALOG_SIGNER.
 */
export function verifyStatement(
  input: Uint8Array | string | Statement,
  keys: CatalogKeys,
): VerifiedStatement {
  const statement =
    typeof input === 'string' || input instanceof Uint8Array ? decodeStatement(input) : parseStatement(input);
  const { payload, bytes } = statementForms(statement);
  if (bytes.length > CATALOG_LIMITS.maxStatementBytes) {
    throw new ArozError(
      'ERR_CATALOG_TOO_LARGE',
      `A catalog statement of ${bytes.length} bytes is over the limit of ${CATALOG_LIMITS.maxStatementBytes}`,
    );
  }
  const name = `${statement.kind} statement ${statement.signer}#${statement.seq}`;
  const signerKeys = keys.keysOf(statement.signer);
  if (signerKeys.length === 0) {
    throw new ArozError(
      'ERR_CATALOG_UNTRUSTED',
      `The ${name} is signed by node "${statement.signer}", which is neither pinned nor this node`,
    );
  }
  const key = signerKeys.find((k) => k.fingerprint === statement.signature.key);
  const value = Buffer.from(statement.signature.value, 'base64');
  if (key === undefined || !verify('sha256', payload, { key: key.publicKey, ...PSS }, value)) {
    throw new ArozError(
      'ERR_CATALOG_SIGNATURE',
      `The ${name} is not signed by a key of node "${statement.signer}" (signature key ${statement.signature.key})`,
    );
  }
  if (statement.kind === 'index') checkIndex(statement, signerKeys, name);
  return { statement, bytes };
}

function checkIndex(
  statement: Statement & { kind: 'index' },
  signerKeys: readonly PublicKeyInfo[],
  name: string,
) {
  const index = statement.body.index;
  if (index.id !== statement.file) {
    throw new ArozError(
      'ERR_CATALOG_INVALID',
      `The ${name} is about file "${statement.file}" but holds index "${index.id}"`,
    );
  }
  if (index.createdBy !== statement.signer) {
    throw new ArozError(
      'ERR_CATALOG_SIGNER',
      `The ${name} states an index uploaded by ${index.createdBy === undefined ? 'no node (a local index)' : `node "${index.createdBy}"`}; only the uploader may`,
    );
  }
  try {
    verifyIndex(
      index,
      signerKeys.map((k) => ({ ...k, owner: statement.signer })),
    );
  } catch (err) {
    if (!isArozError(err, 'ERR_INDEX_UNTRUSTED')) throw err;
    throw new ArozError('ERR_CATALOG_SIGNATURE', `The ${name}: ${err.message}`, { cause: err });
  }
}
