/**
 * The file key wrapped for its readers (docs/encryption.md): RSA-OAEP with SHA-256 (and MGF1-SHA-256)
 * under each reader's pinned public key. The index lists one entry per reader key:
 * `{ node, key: "SHA256:<fingerprint>", wrapped: "<base64>" }`; a node opens the file key with the
 * private key whose fingerprint is listed for it.
 */
import { constants, type KeyObject, privateDecrypt, publicEncrypt } from 'node:crypto';
import { ArozError } from '../errors.ts';
import { KEY_BYTES } from './sealed.ts';

export const WRAP_ALG = 'RSA-OAEP-SHA256';

export interface WrappedKey {
  /** The reader node. */
  node: string;
  /** Fingerprint of the public key it is wrapped for. */
  key: string;
  /** RSA-OAEP-SHA256 ciphertext of the file key, padded base64. */
  wrapped: string;
  [field: string]: unknown;
}

export interface ReaderKey {
  node: string;
  fingerprint: string;
  publicKey: KeyObject;
}

export function wrapFileKey(fileKey: Uint8Array, readers: readonly ReaderKey[]): WrappedKey[] {
  return readers.map((r) => ({
    node: r.node,
    key: r.fingerprint,
    wrapped: publicEncrypt(
      { key: r.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
      fileKey,
    ).toString('base64'),
  }));
}

/**
 * The file key, opened with the first of `own` (this node's key pairs) that a wrapped entry for
 * `self` names. ERR_NOT_A_READER when no entry is for this node's keys.
 */
export function unwrapFileKey(
  wrapped: readonly WrappedKey[],
  self: string,
  own: ReadonlyArray<{ fingerprint: string; privateKey: KeyObject }>,
  what: string,
): Buffer {
  for (const entry of wrapped) {
    if (entry.node !== self) continue;
    const pair = own.find((k) => k.fingerprint === entry.key);
    if (pair === undefined) continue;
    let key: Buffer;
    try {
      key = privateDecrypt(
        { key: pair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' },
        Buffer.from(entry.wrapped, 'base64'),
      );
    } catch (err) {
      throw new ArozError('ERR_DECRYPT_FAILED', `${what}: the file key wrapped for this node does not open`, {
        cause: err,
      });
    }
    if (key.length !== KEY_BYTES) {
      throw new ArozError(
        'ERR_DECRYPT_FAILED',
        `${what}: the file key wrapped for this node has ${key.length} bytes`,
      );
    }
    return key;
  }
  throw new ArozError(
    'ERR_NOT_A_READER',
    `${what}: it is encrypted and its uploader did not make this node ("${self}") a reader (no file key is wrapped for its key)`,
  );
}
